"""A small webhook storm on PostgreSQL: concurrent receivers, duplicates, reordering, racing drainers, and a drainer
that dies holding a locked batch (what SIGKILL of a worker does to its transaction).

The full-size run (10,000 deliveries under gunicorn, a worker SIGKILLed twice, Redis restarted) is
bench/chaos/storm.py.
"""

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test import Client

from channels_sync.models import AggregatedOrder, WebhookDelivery
from channels_sync.services import webhooks
from tests.channels_sync.conftest import SECRET
from tests.channels_sync.fake_provider import raw_order, sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/upstream/webhooks/fakeshop/orders"
START = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def delivery_audit():
    """Every write to a delivery row, kept by a trigger: a second processing cannot hide in it."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE test_delivery_audit (delivery_pk bigint, new_status text);
            CREATE FUNCTION test_delivery_audit() RETURNS trigger AS $$
            BEGIN INSERT INTO test_delivery_audit VALUES (NEW.id, NEW.status); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_delivery_audit AFTER UPDATE ON channels_sync_webhookdelivery FOR EACH ROW
              EXECUTE FUNCTION test_delivery_audit();""")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_delivery_audit ON channels_sync_webhookdelivery; "
                       "DROP FUNCTION test_delivery_audit(); DROP TABLE test_delivery_audit;")


def plan(rng, orders=100, versions_total=230, duplicate_share=0.3):
    """(order, version, delivery id) in send order: repeats of 30% and a tenth of updates before their predecessor."""
    versions = [1] * orders
    for _ in range(versions_total - orders):
        versions[rng.randrange(orders)] += 1
    sends = []
    for order in range(orders):
        keys = sorted(rng.random() for _ in range(versions[order]))
        sends += [[key, order, version, f"o{order}-v{version}"] for version, key in enumerate(keys, 1)]
    updates = [s for s in sends if s[2] > 1]
    by = {(s[1], s[2]): s for s in sends}
    for update in rng.sample(updates, len(updates) // 10):
        previous = by[(update[1], update[2] - 1)]
        if previous[0] < update[0]:
            previous[0], update[0] = update[0], previous[0]
    repeats = [[s[0] + rng.uniform(0, 0.2), *s[1:]] for s in rng.sample(sends, int(len(sends) * duplicate_share))]
    return sorted(sends + repeats), versions


def body(order, version):
    updated = (START + timedelta(minutes=version)).isoformat().replace("+00:00", "Z")
    return json.dumps(raw_order(order + 1, updated=updated, total=f"{version}.00")).encode()


def cut(pid):
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                         password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_storm_with_racing_drainers_and_one_dying_mid_batch_processes_each_delivery_once(
        channel, delivery_audit, monkeypatch):
    monkeypatch.setattr(webhooks, "webhook_drain_soon", lambda: None)  # no broker: this test drains by hand
    sends, versions = plan(random.Random(5))
    queue, answers, lock = list(sends), [], threading.Lock()

    def receiver():
        client = Client()
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    _, order, version, delivery_id = queue.pop(0)
                data = body(order, version)
                response = client.post(URL, data, content_type="application/json",
                                       HTTP_X_FAKE_SHOP="main.fake.example", HTTP_X_FAKE_DELIVERY=delivery_id,
                                       HTTP_X_FAKE_HMAC=sign(data, SECRET))
                with lock:
                    answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=receiver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * len(sends)
    assert WebhookDelivery.objects.count() == sum(versions)  # each delivery id stored once

    # Drainer A locks a batch and dies holding it; B and C drain meanwhile, skipping A's rows.
    locked, died = threading.Event(), threading.Event()

    def dying_drainer():
        try:
            with transaction.atomic():
                batch = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
                             .filter(status="received").order_by("id")[:60])
                assert batch
                locked.set()
                cut(connection.connection.info.backend_pid)  # SIGKILL: the session ends, the batch is unlocked
                WebhookDelivery.objects.filter(pk=batch[0].pk).update(status="processed")  # never arrives
        except Exception:
            died.set()
        finally:
            connection.close()

    def drainer():
        try:
            locked.wait(10)
            webhooks.webhook_drain(batch_size=25)
        finally:
            connection.close()

    drainers = [threading.Thread(target=dying_drainer), threading.Thread(target=drainer),
                threading.Thread(target=drainer)]
    for thread in drainers:
        thread.start()
    for thread in drainers:
        thread.join(60)
    assert died.is_set()
    webhooks.webhook_drain()  # what beat's sweep queues when rows wait over a minute

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_pk, count(*) FROM test_delivery_audit WHERE new_status = 'processed' "
                       "GROUP BY 1 HAVING count(*) <> 1")
        assert cursor.fetchall() == []  # none written as processed twice
    stored = dict(AggregatedOrder.objects.filter(channel=channel).values_list("channel_order_id", "grand_total"))
    assert len(stored) == len(versions)
    assert {order: str(total) for order, total in stored.items()} == {
        str(order + 1): f"{newest}.00" for order, newest in enumerate(versions)}  # each at its newest version
