"""The webhook receiver's insert (core/storage.py): its columns are the model's, a duplicate writes nothing."""

import pytest
from django.utils import timezone

from channels_sync.models import WebhookDelivery
from channels_sync.services.webhooks import _deliveries
from core.storage import InsertIgnoringConflicts


def test_the_insert_writes_every_column_of_the_model():
    columns = [field.column for field in WebhookDelivery._meta.concrete_fields if not field.primary_key]
    assert [field.column for field in _deliveries.fields] == columns
    assert _deliveries.sql.startswith(f"INSERT INTO channels_sync_webhookdelivery ({', '.join(columns)}) ")
    # no conflict target: a repeated delivery id and a repeated body (issue 15, item 10) are both duplicates
    assert _deliveries.sql.endswith("ON CONFLICT DO NOTHING RETURNING id")


def test_a_field_not_given_gets_its_default_and_a_duplicate_returns_none(channel):
    inserter = InsertIgnoringConflicts(WebhookDelivery, conflict=("channel", "delivery_id"))
    values = {"org": channel.org_id, "channel": channel.pk, "delivery_id": "d-1", "body": b"{}",
              "headers": {"x": "1"}, "received_at": timezone.now()}
    pk = inserter.insert(values)
    row = WebhookDelivery.objects.get(pk=pk)
    assert (row.status, row.attempts, row.topic, row.headers, row.query, bytes(row.body)) == (
        "received", 0, "", {"x": "1"}, {}, b"{}")
    assert len(row.public_id) > 10 and row.next_retry_at is None
    assert inserter.insert(values) is None


def test_a_name_that_is_not_a_field_is_refused():
    with pytest.raises(TypeError, match="no field colour"):
        _deliveries.insert({"colour": "red"})
