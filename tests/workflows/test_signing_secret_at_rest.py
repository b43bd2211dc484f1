"""Workflow signing secrets at rest (issue 15, item 15): encrypted like channel secrets, rotated with them, masked
in admin and shown by the API only once, in the answer that created them."""

from importlib import import_module

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client

from core import crypto
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.workflows.conftest import make_workflow
from workflows.models import Workflow

BASE = "/storefront/workflows/order-management"


def _stored(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT signing_secret FROM workflows_workflow WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_secret_is_stored_encrypted_and_rotates_with_the_other_secrets(org, settings):
    workflow = make_workflow(org)
    secret = Workflow.objects.get(pk=workflow.pk).signing_secret
    assert secret.startswith("whsec_")
    stored = _stored(workflow.pk)
    assert secret not in stored and crypto.decrypt(stored) == secret

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    crypto.reset_keys()
    try:
        call_command("rotate_field_keys", stdout=open("/dev/null", "w"))
        rotated = _stored(workflow.pk)
        assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == secret
    finally:
        crypto.reset_keys()


def test_rows_written_before_encryption_are_encrypted_by_the_migration(org):
    workflow = make_workflow(org)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE workflows_workflow SET signing_secret = %s WHERE id = %s",
                       ["whsec_plain_text_from_before", workflow.pk])
    migration = import_module("workflows.migrations.0002_encrypt_signing_secret")
    migration.encrypt_existing(None, type("Editor", (), {"connection": connection})())
    migration.encrypt_existing(None, type("Editor", (), {"connection": connection})())  # twice: no double layer
    assert "whsec_plain" not in _stored(workflow.pk)
    assert Workflow.objects.get(pk=workflow.pk).signing_secret == "whsec_plain_text_from_before"


def test_admin_never_shows_the_secret_and_an_empty_field_keeps_it(org):
    workflow = make_workflow(org, name="hook", actions=[{"type": "tag", "tag": "x"}])
    secret = Workflow.objects.get(pk=workflow.pk).signing_secret
    user = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(user=user, org=org)
    client = Client()
    client.force_login(user)
    url = f"/admin/workflows/workflow/{workflow.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and secret.encode() not in page.content
    form = {"org": org.pk, "name": "hook", "description": "", "enabled": "on", "trigger_event": "order.delivered",
            "condition_channel": "", "condition_tag": "", "condition_total_at_least": "", "delay_seconds": "0",
            "actions": '[{"type": "tag", "tag": "y"}]', "signing_secret": "",
            "runs-TOTAL_FORMS": "0", "runs-INITIAL_FORMS": "0", "runs-MIN_NUM_FORMS": "0", "runs-MAX_NUM_FORMS": "0"}
    saved = client.post(url, form)
    assert saved.status_code == 302, saved.content[:2000]
    workflow.refresh_from_db()
    assert workflow.actions == [{"type": "tag", "tag": "y"}] and workflow.signing_secret == secret
    client.post(url, {**form, "signing_secret": "whsec_a_new_secret_typed_in"})
    workflow.refresh_from_db()
    assert workflow.signing_secret == "whsec_a_new_secret_typed_in"


def test_the_api_shows_the_secret_only_when_it_creates_it(manager):
    body = {"name": "hook", "trigger": "order.delivered", "actions": [{"type": "tag", "tag": "x"}]}
    created = manager.client.post(BASE, body, format="json").json()
    secret = created["signingSecret"]
    replaced = manager.client.put(f"{BASE}/hook", {**body, "signingSecret": "whsec_replaced_secret_value"},
                                  format="json")
    assert replaced.status_code == 200
    for answer in (replaced.content, manager.client.get(f"{BASE}/hook").content, manager.client.get(BASE).content):
        assert secret.encode() not in answer and b"whsec_replaced" not in answer and b"signingSecret" not in answer
