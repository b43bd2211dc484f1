"""Tracking settings: the table (each default declared here once, config/settings.py loads it).
See core/conf.py for how a value is read."""

from core.conf import AppSettings, Setting

tracking_settings = AppSettings(
    Setting("EASYPOST_API_KEY", ""),
    Setting("EASYPOST_API_BASE", "https://api.easypost.com/v2"),
    # With DEBUG on (the demo) an unset secret is a fixed dev value, so `manage.py send_carrier_webhook` works.
    Setting("EASYPOST_WEBHOOK_SECRET", lambda values: "dev-easypost-webhook-secret" if values.get("DEBUG") else ""),
    # Carrier provider for shipments without one of their own: "easypost" when its key is set, else "manual".
    Setting("TRACKING_PROVIDER", lambda values: "easypost" if values.get("EASYPOST_API_KEY") else "manual"),
    Setting("TRACKING_HTTP_TIMEOUT", 5, int),
    Setting("TRACKING_LIVE_CACHE_SECONDS", 300, int, "Live answers of GET /shipping/track/<n> are cached this long."),
    Setting("TRACKING_WEBHOOK_TOLERANCE_SECONDS", 300, int, "X-Timestamp must be within this many seconds of now."),
    Setting("TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS", 3 * 24 * 3600, int, "A signed event no older than this."),
    Setting("TRACKING_PUBLIC_RATE_LIMIT", "60/min", str,
            "Public tracking/status endpoints: requests per client address (cache-counted)."),
)
