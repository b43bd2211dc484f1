"""Order event subscribers (run in a Celery worker by orders.tasks.run_event_handler)."""

from orders.events import OrderEvent
from tracking.services import shipment_register_with_provider


def on_order_shipped(event: OrderEvent) -> None:
    """A new parcel: have the live provider follow it, so its webhooks start arriving. Idempotent:
    a shipment that already has a provider id is skipped; a carrier error raises, so the task retries."""
    shipment_id = event.data.get("shipmentId")
    if shipment_id:
        shipment_register_with_provider(shipment_id=shipment_id)
