import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings

from channels_sync.models import AggregatedOrder, Channel, SyncRun
from channels_sync.services.polling import PollLease, channel_poll, channels_due_for_poll
from channels_sync.tasks import poll_channel, poll_due_channels
from tests.channels_sync.fake_provider import raw_order

ORDERS_URL = "https://fake.example/orders.json"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def page(orders, next_page=None):
    return {"json": {"orders": orders, "next_page": next_page}}


@override_settings(CHANNEL_POLL_OVERLAP_SECONDS=120)
def test_poll_pages_through_a_429_and_advances_the_cursor(channel, responses_mock, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    channel.cursor = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    channel.save()
    responses_mock.get(ORDERS_URL, **page([raw_order(1), raw_order(2)], 2))
    responses_mock.get(ORDERS_URL, status=429, headers={"Retry-After": "1"})
    responses_mock.get(ORDERS_URL, **page([raw_order(3), raw_order(4)], 3))
    responses_mock.get(ORDERS_URL, **page([raw_order(5)]))
    run = channel_poll(channel_pk=channel.pk, now=NOW)
    assert (run.status, run.fetched, run.created) == ("succeeded", 5, 5)
    urls = [call.request.url for call in responses_mock.calls]
    assert [u.split("page=")[1].split("&")[0] for u in urls] == ["1", "2", "2", "3"]
    assert "updated_min=2026-03-01T10%3A58%3A00" in urls[0]  # cursor minus the two-minute overlap
    channel.refresh_from_db()
    assert channel.cursor == NOW and channel.last_polled_at == NOW
    assert channel.poll_lease_until is None
    assert AggregatedOrder.objects.count() == 5


def test_failed_poll_keeps_the_cursor_and_records_the_error(channel, responses_mock):
    before = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    channel.cursor = before
    channel.save()
    responses_mock.get(ORDERS_URL, **page([raw_order(1)], 2))
    responses_mock.get(ORDERS_URL, status=500)
    run = channel_poll(channel_pk=channel.pk, now=NOW)
    assert run.status == "failed" and "500" in run.error
    channel.refresh_from_db()
    assert channel.cursor == before and channel.poll_lease_until is None
    # The next poll reads the same window again; the upsert makes that harmless.
    responses_mock.replace("GET", ORDERS_URL, **page([raw_order(1), raw_order(2)]))
    run = channel_poll(channel_pk=channel.pk, now=NOW + timedelta(minutes=15))
    assert (run.status, run.created) == ("succeeded", 2)
    channel.refresh_from_db()
    assert channel.cursor == NOW + timedelta(minutes=15)


def test_first_poll_reads_everything_and_disabled_channels_are_not_polled(channel, make_channel, org,
                                                                           responses_mock):
    call = responses_mock.get(ORDERS_URL, **page([]))
    channel_poll(channel_pk=channel.pk, now=NOW)
    assert "updated_min" not in call.calls[0].request.url
    off = make_channel(org, "off", shop="off.fake.example", enabled=False)
    assert channel_poll(channel_pk=off.pk) is None


def test_beat_fans_out_only_channels_whose_interval_elapsed(org, make_channel, monkeypatch):
    now = datetime.now(UTC)
    fresh = make_channel(org, "fresh", shop="1.x", last_polled_at=now - timedelta(minutes=3))
    stale = make_channel(org, "stale", shop="2.x", last_polled_at=now - timedelta(minutes=16))
    never = make_channel(org, "never", shop="3.x")
    fast = make_channel(org, "fast", shop="4.x", poll_interval_minutes=2, last_polled_at=now - timedelta(minutes=3))
    make_channel(org, "off", shop="5.x", enabled=False)
    assert fresh.poll_interval_minutes == 15
    sent = []
    monkeypatch.setattr(poll_channel, "delay", lambda pk: sent.append(pk))
    assert poll_due_channels() == 3
    assert sorted(sent) == sorted([stale.pk, never.pk, fast.pk])
    assert set(channels_due_for_poll()) == {stale.pk, never.pk, fast.pk}


def test_lease_excludes_a_second_poll_until_released_or_expired(channel):
    first, second = PollLease(channel.pk), PollLease(channel.pk)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    Channel.objects.filter(pk=channel.pk).update(poll_lease_until=NOW - timedelta(days=1))  # its worker died
    assert PollLease(channel.pk).acquire()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_polls_of_one_channel_run_once(org, make_channel, responses_mock):
    channel = make_channel(org)
    entered, release = threading.Event(), threading.Event()

    def slow_page(request):
        entered.set()
        release.wait(10)
        return (200, {}, '{"orders": [], "next_page": null}')

    responses_mock.add_callback("GET", ORDERS_URL, callback=slow_page)
    results = {}

    def poll(name):
        try:
            results[name] = channel_poll(channel_pk=channel.pk)
        finally:
            connection.close()

    first = threading.Thread(target=poll, args=("first",))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=poll, args=("second",))
    second.start()
    second.join(10)
    release.set()
    first.join(10)
    assert results["second"] is None and results["first"].status == "succeeded"
    assert SyncRun.objects.filter(channel=channel).count() == 1
    assert len(responses_mock.calls) == 1
