"""A channel down for minutes, not seconds: the default retry allowance must outlast it.

The full-size run (200 writebacks, five minutes of 500s, a minute of 429s, a real worker) is
bench/chaos/writeback_outage.py; this is its arithmetic with the shortest jitter every time.
"""

import pytest

from channels_sync.models import AggregatedOrder
from channels_sync.services import ingest
from channels_sync.services.writeback import order_status_update, writeback_attempt
from tests.channels_sync.fake_provider import raw_order
from tests.channels_sync.timing import come_due

FULFILL = "https://fake.example/orders/1/fulfillments.json"


@pytest.mark.parametrize("outage_minutes", [5, 10, 20])
def test_a_writeback_outlasts_a_channel_outage_with_the_default_settings(
        outage_minutes, channel, responses_mock, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("core.backoff.random.uniform", lambda low, high: low)  # shortest waits
    ingest(channel=channel, raw_orders=[raw_order(1)])
    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=AggregatedOrder.objects.get(), status="shipped",
                                        tracking_number="1Z1", carrier="ups")
    clock = {"elapsed": 0.0}
    landed = []

    def channel_answer(request):
        if clock["elapsed"] < outage_minutes * 60:
            return 500, {}, "down"
        landed.append(request.body)
        return 201, {}, '{"id": 9}'

    responses_mock.add_callback("POST", FULFILL, callback=channel_answer)
    while (delay := writeback_attempt(writeback_pk=writeback.pk)) is not None:
        clock["elapsed"] += delay
        come_due(writeback)

    writeback.refresh_from_db()
    assert writeback.status == "succeeded", (writeback.attempts, clock)
    assert len(landed) == 1 and writeback.attempt_rows.filter(succeeded=True).count() == 1
