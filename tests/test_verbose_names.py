"""Every model of the project names its plural itself (Django's default adds an "s": "Webhook deliverys",
"Order summarys"), and the admin shows the right ones."""

import re

from django.apps import apps

from tests.accounts.factories import UserFactory

PROJECT_APPS = {"core", "accounts", "orders", "channels_sync", "tracking", "subscriptions", "workflows"}


def project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def test_every_model_sets_its_plural():
    missing = [m._meta.label for m in project_models() if "verbose_name_plural" not in m._meta.original_attrs]
    assert missing == []


def test_no_plural_is_a_naive_s():
    wrong = [str(m._meta.verbose_name_plural) for m in project_models()
             if re.search(r"[^aeiou]ys$", str(m._meta.verbose_name_plural))]
    assert wrong == []


def test_admin_index_shows_the_plurals(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/").content.decode()
    assert "Webhook deliveries" in page and "deliverys" not in page
    assert "Storefront API keys" in page
