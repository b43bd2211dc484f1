"""What the seeded owner reads on the admin index: section and model names in plain English (issue 17's
"Webhook deliverys"; the raw app label "Channels_Sync"; "Storefront api keys")."""

import re

import pytest

from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_index_names_sections_and_models_in_english(client):
    owner = UserFactory(username="owner")
    MembershipFactory(user=owner, org=OrgFactory(slug="demo"), role="owner")
    client.force_login(owner)
    html = client.get("/admin/").content.decode()
    captions = re.findall(r'<a href="/admin/\w+/" class="section"[^>]*>([^<]+)</a>', html)
    assert "Channel sync" in captions, captions
    assert "Webhook deliveries" in html and "Storefront API keys" in html
    assert "deliverys" not in html and "Channels_Sync" not in html and "Storefront api keys" not in html
