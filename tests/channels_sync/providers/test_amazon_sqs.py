"""The hub reads Amazon's ORDER_CHANGE notifications from the app's SQS queue itself: against moto's server mode
(a real SQS wire on a local port, not a mock of boto3), with the Amazon simulator answering getOrder."""

from __future__ import annotations

import json
import socket
import time
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from channels_sync.models import AggregatedOrder, Channel, WebhookDelivery, WebhookRejection
from channels_sync.providers.amazon.webhooks import check_notification
from channels_sync.providers.errors import WebhookRejected
from channels_sync.services import notification_queues
from channels_sync.services.webhooks import webhook_process
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import fixture, isolated_tokens_and_buckets  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def sqs(moto_endpoint):
    client = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint, aws_access_key_id="AKIATESTKEY",
                          aws_secret_access_key="test-secret")
    url = client.create_queue(QueueName=f"sp-api-{uuid.uuid4().hex[:8]}",
                              Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    return client, url


@pytest.fixture
def amazon_sim():
    server = SimulatorServer(port=0, order_count=10, seed=7, webhook_target=None, names=["amazon"]).start()
    yield server.simulators["amazon"]
    server.stop()


@pytest.fixture
def channel(org, amazon_sim, sqs, moto_endpoint):
    demo = amazon_sim.demo_channel()
    config = {**demo.config, "sqsQueueUrl": sqs[1], "awsRegion": REGION, "awsAccessKeyId": "AKIATESTKEY",
              "awsSecretAccessKey": "test-secret", "sqsEndpointUrl": moto_endpoint,
              "applicationId": "amzn1.sellerapps.app.simulator"}
    return Channel.objects.create(org=org, channel_id="amz-sqs", provider="amazon", enabled=True, config=config,
                                  webhook_secret=demo.webhook_secret)


def _unshipped(sim) -> dict:
    return next(o for o in sim.orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")


def _queue_depth(sqs) -> int:
    client, url = sqs
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.mark.django_db(transaction=False)
def test_queue_messages_are_stored_as_deliveries_then_deleted_and_processed(channel, amazon_sim, sqs,
                                                                              django_capture_on_commit_callbacks):
    client, url = sqs
    order = _unshipped(amazon_sim)
    notification = amazon_sim.notification(order)
    other_seller = json.loads(json.dumps(notification))
    other_seller["Payload"]["OrderChangeNotification"]["SellerId"] = "A2OTHERSELLER"
    other_seller["NotificationMetadata"]["NotificationId"] = str(uuid.uuid4())
    wrong_version = {**notification, "PayloadVersion": "2.0",
                     "NotificationMetadata": {**notification["NotificationMetadata"],
                                              "NotificationId": str(uuid.uuid4())}}
    for body in (notification, notification, other_seller, wrong_version):   # the first one twice: a redelivery
        client.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    with django_capture_on_commit_callbacks(execute=False):
        stored = notification_queues.amazon_queues_consume(max_seconds=5, wait_seconds=1)

    assert stored == 1
    delivery = WebhookDelivery.objects.get(channel=channel)
    assert delivery.delivery_id == notification["NotificationMetadata"]["NotificationId"]
    assert delivery.topic == "ORDER_CHANGE"
    assert json.loads(bytes(delivery.body)) == notification   # the message body exactly as Amazon queued it
    assert WebhookRejection.objects.get(channel=channel).count == 1   # the wrong payload version
    assert _queue_depth(sqs) == 0   # everything read was deleted: stored, duplicate, not ours, not readable

    webhook_process(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "processed", delivery.last_error
    stored_order = AggregatedOrder.objects.get(channel=channel, channel_order_id=order["orderId"])
    assert stored_order.status == "processing"


@pytest.mark.django_db(transaction=False)
def test_a_message_whose_delivery_cannot_be_stored_stays_on_the_queue(channel, amazon_sim, sqs, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    client, url = sqs
    notification = amazon_sim.notification(_unshipped(amazon_sim))
    client.send_message(QueueUrl=url, MessageBody=json.dumps(notification))

    def database_down(**kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(notification_queues, "webhook_store", database_down)
    with pytest.raises(RuntimeError):
        notification_queues.amazon_queues_consume(max_seconds=5, wait_seconds=1)
    assert _queue_depth(sqs) == 1 and not WebhookDelivery.objects.exists()

    monkeypatch.undo()
    time.sleep(1.2)   # the queue's visibility timeout: SQS shows the message again
    with django_capture_on_commit_callbacks(execute=False):
        assert notification_queues.amazon_queues_consume(max_seconds=5, wait_seconds=1) == 1
    assert WebhookDelivery.objects.get(channel=channel).delivery_id == notification["NotificationMetadata"][
        "NotificationId"]
    assert _queue_depth(sqs) == 0


@pytest.mark.django_db(transaction=False)
def test_the_http_relay_still_works_beside_the_queue(channel, amazon_sim, client, django_capture_on_commit_callbacks):
    hook = amazon_sim.build_webhook(_unshipped(amazon_sim), "ORDER_CHANGE")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"{hook.path}?channel={channel.channel_id}", data=hook.body,
                               content_type="application/json", HTTP_X_RELAY_SECRET=hook.headers["X-Relay-Secret"])
    assert response.status_code == 200, response.content


def test_published_order_change_example_passes_the_metadata_check_for_its_seller():
    example = fixture("amazon", "notification_order_change.json")
    seller = example["Payload"]["OrderChangeNotification"]["SellerId"]
    check_notification(example, seller_id=seller,
                       application_id=example["NotificationMetadata"]["ApplicationId"])


@pytest.mark.parametrize("change, reason", [
    (lambda n: n.update(NotificationType="ANY_OFFER_CHANGED"), "not an order notification"),
    (lambda n: n.update(NotificationVersion="2.0"), "not an order notification"),
    (lambda n: n.update(PayloadVersion="2.0"), "not an order notification"),
    (lambda n: n["Payload"]["OrderChangeNotification"].update(SellerId="A2OTHER"), "another seller"),
    (lambda n: n["NotificationMetadata"].update(ApplicationId="amzn1.sellerapps.app.other"), "another application"),
    (lambda n: n["NotificationMetadata"].pop("NotificationId"), "NotificationId"),
    (lambda n: n["Payload"]["OrderChangeNotification"].pop("AmazonOrderId"), "names no order"),
])
def test_queue_messages_with_unexpected_metadata_are_refused(change, reason):
    example = fixture("amazon", "notification_order_change.json")
    seller = example["Payload"]["OrderChangeNotification"]["SellerId"]
    application = example["NotificationMetadata"]["ApplicationId"]
    change(example)
    with pytest.raises(WebhookRejected, match=reason):
        check_notification(example, seller_id=seller, application_id=application)


def test_queue_credentials_are_secret_and_validated():
    from channels_sync.providers.amazon import Provider

    assert "awsSecretAccessKey" in Provider.secret_config
    base = {"clientId": "c", "clientSecret": "s", "refreshToken": "r", "marketplaceIds": ["m"], "sellerId": "S"}
    assert Provider.validate_config({**base, "sqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q"}) == {
        "awsRegion": "Required with sqsQueueUrl."}
    assert "awsSecretAccessKey" in Provider.validate_config({**base, "sqsQueueUrl": "u", "awsRegion": REGION,
                                                             "awsAccessKeyId": "AKIA"})
