"""A poll whose database connection is cut mid-way (what a PostgreSQL restart does to every client).

The full-size version restarts a private cluster: bench/chaos/poll_db_restart.py.
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection

from channels_sync.models import AggregatedOrder, OrderSummary, SyncRun
from channels_sync.services.polling import INTERRUPTED, channel_poll
from tests.channels_sync.fake_provider import raw_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS_URL = "https://fake.example/orders.json"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CURSOR = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def orders(first, count):
    return [raw_order(i, updated="2026-03-01T11:30:00Z") for i in range(first, first + count)]


def cut_this_connection():
    """Terminate our own server session from outside, as a restart does; the client learns on its next query."""
    settings = connection.settings_dict
    pid = connection.connection.info.backend_pid
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                         password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_poll_cut_off_from_the_database_fails_cleanly_and_the_next_poll_catches_up(channel, responses_mock):
    channel.cursor = CURSOR
    channel.save()
    responses_mock.get(ORDERS_URL, json={"orders": orders(1, 300), "next_page": 2})

    def second_page(request):
        cut_this_connection()
        import json

        return 200, {}, json.dumps({"orders": orders(301, 300), "next_page": None})

    responses_mock.add_callback("GET", ORDERS_URL, callback=second_page)
    run = channel_poll(channel_pk=channel.pk, now=NOW)

    run.refresh_from_db()
    assert run.status == "failed" and "connection" in run.error  # recorded after reconnecting, not left running
    channel.refresh_from_db()
    assert channel.cursor == CURSOR                               # the window is read again next time
    assert channel.poll_lease_until is None                       # and the next poll may start at once

    responses_mock.replace("GET", ORDERS_URL, json={"orders": orders(1, 600), "next_page": None})
    catch_up = channel_poll(channel_pk=channel.pk, now=NOW + timedelta(minutes=15))
    assert (catch_up.status, catch_up.fetched, catch_up.created) == ("succeeded", 600, 600)
    assert "updated_min=2026-03-01T10%3A58%3A00" in responses_mock.calls[-1].request.url  # from the old cursor
    assert AggregatedOrder.objects.filter(channel=channel).count() == 600
    assert sum(OrderSummary.objects.filter(channel=channel).values_list("order_count", flat=True)) == 600
    channel.refresh_from_db()
    assert channel.cursor == NOW + timedelta(minutes=15)


def test_a_poll_left_running_by_a_lost_worker_is_marked_interrupted_by_the_next(channel, responses_mock):
    lost = SyncRun.objects.create(org=channel.org, channel=channel, kind=SyncRun.Kind.POLL, status="running",
                                  window_to=NOW - timedelta(minutes=30), started_at=NOW - timedelta(minutes=30))
    channel.poll_lease_until = NOW - timedelta(minutes=1)  # its lease ran out
    channel.save()
    responses_mock.get(ORDERS_URL, json={"orders": orders(1, 2), "next_page": None})

    run = channel_poll(channel_pk=channel.pk, now=NOW)

    lost.refresh_from_db()
    assert (lost.status, lost.error) == ("failed", INTERRUPTED) and lost.finished_at
    assert run.status == "succeeded"
