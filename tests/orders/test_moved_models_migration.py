"""Shipments moved from `tracking` to `orders` and branding to `accounts` (issue 14) by moving Django's
model state only: a database migrated at the old head keeps its rows, ids and foreign keys."""

from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backoffice.schema import create_view, drop_view

# The head before the move, for the three apps it touches.
OLD_HEAD = [("accounts", "0001_initial"), ("orders", "0001_initial"), ("tracking", "0002_scans_providers_branding")]


def _migrate(targets):
    """As `manage.py migrate` does it: the back office's view over these tables is dropped first and made again
    after (SQLite refuses to rebuild a table a view reads; backoffice/apps.py hooks the same to migrate's signals)."""
    drop_view()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    if set(targets) == set(executor.loader.graph.leaf_nodes()):
        create_view()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_and_content_types_stored_before_the_move_are_kept():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(OLD_HEAD)
        Org = old.get_model("accounts", "Org")
        org = Org.objects.create(slug="moved", name="Moved Co")
        customer = old.get_model("orders", "Customer").objects.create(org=org, sk="cus_moved", email="a@example.com")
        order = old.get_model("orders", "Order").objects.create(org=org, customer=customer, order_number="M-1")
        line = old.get_model("orders", "OrderLine").objects.create(order=order, sku="SKU-1", quantity=2,
                                                                   unit_price="5.00")
        when = datetime(2026, 11, 1, 12, tzinfo=UTC)
        shipment = old.get_model("tracking", "Shipment").objects.create(
            org=org, order=order, carrier="ups", tracking_number="1Z999", ship_date=when)
        old.get_model("tracking", "ShipmentLine").objects.create(shipment=shipment, order_line=line, sku="SKU-1",
                                                                 quantity=2)
        old.get_model("tracking", "ScanEvent").objects.create(org=org, shipment=shipment, status="in_transit",
                                                              occurred_at=when, dedupe_key="k1")
        old.get_model("tracking", "OrgBranding").objects.create(org=org, display_name="Moved Brand")
        # Permissions and admin history hang on the content type row: it is renamed, not recreated.
        ContentType.objects.filter(model__in=["shipment", "shipmentline", "orgbranding"]).delete()
        type_ids = [ContentType.objects.create(app_label="tracking", model=m).pk
                    for m in ["shipment", "shipmentline", "orgbranding"]]

        new = _migrate(leaves)
        moved = new.get_model("orders", "Shipment").objects.get()
        assert (moved.pk, moved.order_id, moved.tracking_number) == (shipment.pk, order.pk, "1Z999")
        assert [(sl.sku, sl.quantity, sl.order_line_id) for sl in moved.lines.all()] == [("SKU-1", 2, line.pk)]
        assert new.get_model("tracking", "ScanEvent").objects.get().shipment_id == shipment.pk
        assert new.get_model("accounts", "OrgBranding").objects.get(org_id=org.pk).display_name == "Moved Brand"
        assert {(t.app_label, t.model) for t in ContentType.objects.filter(pk__in=type_ids)} == {
            ("orders", "shipment"), ("orders", "shipmentline"), ("accounts", "orgbranding")}
        tables = set(connection.introspection.table_names())
        assert {"tracking_shipment", "tracking_shipmentline", "tracking_orgbranding"} <= tables

        # And back: the state moves home again, the rows stay.
        back = _migrate(OLD_HEAD)
        assert back.get_model("tracking", "Shipment").objects.get().pk == shipment.pk
        assert back.get_model("tracking", "OrgBranding").objects.get().display_name == "Moved Brand"
    finally:
        _migrate(leaves)

