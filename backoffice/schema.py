"""The order list's view (backoffice_orderlistrow).

The view is dropped before every `migrate` and created again after it (apps.ready wires the signals):
a view over other apps' tables would otherwise block their migrations (PostgreSQL refuses to change a
column a view uses; SQLite's table rebuilds fail on a view naming the old table). The search's indexes on
other apps' tables are created by migration 0001 (PostgreSQL only).
"""

from __future__ import annotations

VIEW = "backoffice_orderlistrow"
TABLES = ("orders_order", "orders_customer", "tracking_shipment", "channels_sync_aggregatedorder")

# Storefront orders (with the channel order they came from, if any), then channel orders; a channel order that
# made a storefront order has `linked_order_id` and the model's manager leaves it out (its row is the storefront
# order's). PostgreSQL merges the two branches' (org, created_at, id) index walks, so a page costs its own rows,
# not the org's million, only when each branch reads one table with no WHERE of its own and gives every column
# the same type: hence the casts, scalar subqueries instead of joins, and that filter outside the view.
VIEW_SQL = f"""
CREATE VIEW {VIEW} AS
SELECT CAST('s-' || CAST(o.id AS TEXT) AS TEXT) AS key, CAST('storefront' AS TEXT) AS kind, o.id AS source_id,
       o.org_id AS org_id, CAST(o.order_number AS TEXT) AS number,
       CAST(COALESCE((SELECT a.channel_order_number FROM channels_sync_aggregatedorder a
                      WHERE a.local_order_id = o.id), '') AS TEXT) AS channel_number,
       (SELECT a.channel_id FROM channels_sync_aggregatedorder a WHERE a.local_order_id = o.id) AS channel_id,
       (SELECT a.id FROM channels_sync_aggregatedorder a WHERE a.local_order_id = o.id) AS aggregated_id,
       o.created_at AS placed_at,
       CAST(COALESCE(NULLIF(o.customer_name, ''),
                     (SELECT c.name FROM orders_customer c WHERE c.id = o.customer_id)) AS TEXT) AS customer_name,
       CAST((SELECT c.email FROM orders_customer c WHERE c.id = o.customer_id) AS TEXT) AS customer_email,
       o.grand_total AS grand_total, CAST(o.currency AS TEXT) AS currency, CAST(o.status AS TEXT) AS status,
       CAST(CASE WHEN o.refunded_total > 0 AND o.refunded_total >= o.captured_total THEN 'refunded'
            WHEN o.refunded_total > 0 THEN 'partially refunded'
            WHEN o.captured_total >= o.grand_total THEN 'paid'
            WHEN o.captured_total > 0 THEN 'partially paid'
            ELSE 'unpaid' END AS TEXT) AS payment_state,
       CAST(CASE WHEN o.delivered_at IS NOT NULL THEN 'delivered'
            WHEN o.shipped_at IS NOT NULL THEN 'shipped'
            WHEN (SELECT s.id FROM tracking_shipment s WHERE s.order_id = o.id LIMIT 1) IS NOT NULL THEN 'partial'
            WHEN o.status = 'cancelled' THEN 'cancelled'
            ELSE 'unfulfilled' END AS TEXT) AS fulfilment_state,
       o.is_test AS is_test, CAST(NULL AS BIGINT) AS linked_order_id
FROM orders_order o
UNION ALL
SELECT CAST('c-' || CAST(a.id AS TEXT) AS TEXT), CAST('channel' AS TEXT), a.id, a.org_id,
       CAST(a.public_id AS TEXT), CAST(a.channel_order_number AS TEXT), a.channel_id, a.id, a.created_at,
       CAST(a.customer_name AS TEXT), CAST(a.customer_email AS TEXT), a.grand_total, CAST(a.currency AS TEXT),
       CAST(a.status AS TEXT),
       CAST(CASE a.status WHEN 'pending' THEN 'pending' WHEN 'refunded' THEN 'refunded'
                     WHEN 'cancelled' THEN 'cancelled' ELSE 'paid' END AS TEXT),
       CAST(CASE WHEN a.status = 'delivered' THEN 'delivered'
            WHEN a.status = 'shipped' OR a.tracking_number <> '' THEN 'shipped'
            WHEN a.status = 'cancelled' THEN 'cancelled'
            ELSE 'unfulfilled' END AS TEXT),
       FALSE, a.local_order_id
FROM channels_sync_aggregatedorder a
"""


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
