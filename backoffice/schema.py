"""The order list's view (backoffice_orderlistrow) and the indexes its search uses.

The view is dropped before every `migrate` and created again after it (apps.ready wires the signals):
a view over other apps' tables would otherwise block their migrations (PostgreSQL refuses to change a
column a view uses; SQLite's table rebuilds fail on a view naming the old table).
"""

from __future__ import annotations

VIEW = "backoffice_orderlistrow"
TABLES = ("orders_order", "orders_customer", "tracking_shipment", "channels_sync_aggregatedorder")

# Storefront orders (with the channel order they came from, if any), then channel orders that made none.
VIEW_SQL = f"""
CREATE VIEW {VIEW} AS
SELECT 's-' || CAST(o.id AS TEXT) AS key, 'storefront' AS kind, o.id AS source_id, o.org_id AS org_id,
       o.order_number AS number, COALESCE(a.channel_order_number, '') AS channel_number,
       a.channel_id AS channel_id, a.id AS aggregated_id, o.created_at AS placed_at,
       COALESCE(NULLIF(o.customer_name, ''), c.name) AS customer_name, c.email AS customer_email,
       o.grand_total AS grand_total, o.currency AS currency, o.status AS status,
       CASE WHEN o.refunded_total > 0 AND o.refunded_total >= o.captured_total THEN 'refunded'
            WHEN o.refunded_total > 0 THEN 'partially refunded'
            WHEN o.captured_total >= o.grand_total THEN 'paid'
            WHEN o.captured_total > 0 THEN 'partially paid'
            ELSE 'unpaid' END AS payment_state,
       CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered'
            WHEN o.shipped_at IS NOT NULL THEN 'shipped'
            WHEN EXISTS (SELECT 1 FROM tracking_shipment s WHERE s.order_id = o.id) THEN 'partial'
            WHEN o.status = 'cancelled' THEN 'cancelled'
            ELSE 'unfulfilled' END AS fulfilment_state,
       o.is_test AS is_test
FROM orders_order o
JOIN orders_customer c ON c.id = o.customer_id
LEFT JOIN channels_sync_aggregatedorder a ON a.local_order_id = o.id
UNION ALL
SELECT 'c-' || CAST(a.id AS TEXT), 'channel', a.id, a.org_id, a.public_id, a.channel_order_number, a.channel_id,
       a.id, a.created_at, a.customer_name, a.customer_email, a.grand_total, a.currency, a.status,
       CASE a.status WHEN 'pending' THEN 'pending' WHEN 'refunded' THEN 'refunded'
                     WHEN 'cancelled' THEN 'cancelled' ELSE 'paid' END,
       CASE WHEN a.status = 'delivered' THEN 'delivered'
            WHEN a.status = 'shipped' OR a.tracking_number <> '' THEN 'shipped'
            WHEN a.status = 'cancelled' THEN 'cancelled'
            ELSE 'unfulfilled' END,
       FALSE
FROM channels_sync_aggregatedorder a
WHERE a.local_order_id IS NULL
"""

# The search's indexes on other apps' tables are created by migration 0001 (PostgreSQL only).


def drop_view(using: str = "default", **kwargs) -> None:
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(f"DROP VIEW IF EXISTS {VIEW}")


def create_view(using: str = "default", **kwargs) -> None:
    """(Re)create the view once every table it reads exists (a partial `migrate` may stop before)."""
    from django.db import connections

    conn = connections[using]
    if not set(TABLES) <= set(conn.introspection.table_names()):
        return
    with conn.cursor() as cursor:
        cursor.execute(f"DROP VIEW IF EXISTS {VIEW}")
        cursor.execute(VIEW_SQL)
