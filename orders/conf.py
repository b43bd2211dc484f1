"""Storefront order settings: the table (each default declared here once, config/settings.py loads it).
See core/conf.py for how a value is read."""

from core.conf import AppSettings, Setting

orders_settings = AppSettings(
    # Stripe refunds (orders/payments/stripe_gateway.py); STRIPE_API_BASE lets a local stub stand in.
    Setting("STRIPE_SECRET_KEY", ""),
    Setting("STRIPE_API_BASE", "https://api.stripe.com"),
    Setting("STRIPE_MAX_NETWORK_RETRIES", 0, int),
    Setting("ORDERS_CUSTOMER_RATE_LIMIT", "30/min", str,
            "Customer order lookups (no auth): requests per client address, counted in the cache."),
    Setting("ORDERS_CHECKOUT_RATE_LIMIT", "60/min", str, "Checkouts: requests per client address."),
    # Stock hoarding (issue 15, item 4): what one anonymous checkout may hold, and for how long unpaid.
    Setting("ORDERS_CHECKOUT_MAX_LINE_QUANTITY", 100, int,
            "Units of one SKU an anonymous checkout may reserve (duplicate lines added up); 0: no limit."),
    Setting("ORDERS_CHECKOUT_MAX_ORDER_QUANTITY", 250, int,
            "Units in all of an anonymous checkout's lines together; 0: no limit."),
    Setting("ORDER_UNPAID_RESERVATION_TTL", 30 * 60, int,
            "Seconds a storefront order with nothing paid holds its stock: then beat's `expire-unpaid-orders` "
            "cancels it (WooCommerce's hold-stock minutes); 0: never."),
    # The public order pages (their lookup form and signed links).
    Setting("ORDER_LOOKUP_RATE_LIMIT", "10/min", str, "The order lookup page: requests per client address."),
    Setting("CUSTOMER_ACCOUNT_LINK_MAX_AGE", 30 * 24 * 3600, int,
            "Seconds a signed link to the customer's account page (confirmation email) stays valid."),
    # Order-event handler runs (orders/services/event_runs.py): a failed attempt is tried again with backoff.
    Setting("ORDERS_EVENT_HANDLER_MAX_ATTEMPTS", 7, int,
            "Attempts per handler run before it is `failed` (then only the admin's Retry runs it again)."),
    Setting("ORDERS_EVENT_HANDLER_BACKOFF_SECONDS", 5, int,
            "The wait after a handler's first failed attempt; doubled after each one, jittered to 50-100%."),
    Setting("ORDERS_EVENT_HANDLER_BACKOFF_MAX_SECONDS", 600, int, "The longest wait between two attempts."),
    Setting("ORDERS_EVENT_HANDLER_LEASE_SECONDS", 600, int,
            "A run `running` this long has lost its worker: the sweep sends it again."),
    Setting("ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS", 30, int,
            "Succeeded handler runs older than this are deleted (failed ones stay until retried)."),
    Setting("ORDER_PAGE_LINK_MAX_AGE", 24 * 3600, int, "Seconds a signed order page link (after lookup) stays valid."),
    Setting("ORDER_EMAIL_LINK_MAX_AGE", 180 * 24 * 3600, int,
            "Seconds the signed order page link in an order email stays valid (Shopify's never expires; after "
            "this the page asks for email and number)."),
    Setting("ORDER_CANCEL_REQUEST_RATE_LIMIT", "5/hour", str,
            "Cancellation requests from the customer's order page: requests per client address."),
)
