"""Storefront keys in the admin: owners create them (the key shown once, in the message), lists show prefixes."""

from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import StorefrontApiKey
from accounts.storefront_keys import storefront_key_authenticate
from tests.accounts.factories import MembershipFactory, UserFactory


def staff(org, role):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts"))
    MembershipFactory(user=user, org=org, role=role)
    return user


def test_an_owner_creates_a_key_in_the_admin_and_sees_it_once(client, org, other_org):
    owner = staff(org, "owner")
    client.force_login(owner)
    response = client.post(reverse("admin:accounts_storefrontapikey_add"), {"org": org.pk, "name": "web shop"},
                           follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if "sfk_" in str(m)]
    assert len(shown) == 1
    key = shown[0].split(": ")[-1]
    row = StorefrontApiKey.objects.get(org=org)
    assert storefront_key_authenticate(key) == row and row.created_by == owner
    listing = client.get(reverse("admin:accounts_storefrontapikey_changelist")).content.decode()
    change = client.get(reverse("admin:accounts_storefrontapikey_change", args=[row.pk])).content.decode()
    assert row.prefix in listing
    assert key not in listing and key not in change and row.secret_hash not in change


def test_a_manager_cannot_pick_the_org_for_a_key(client, org):
    client.force_login(staff(org, "manager"))
    response = client.post(reverse("admin:accounts_storefrontapikey_add"), {"org": org.pk, "name": "x"})
    assert response.status_code == 200  # the form again: the org is not a valid choice
    assert not StorefrontApiKey.objects.exists()
