"""Channel sync settings: the table (each default declared here once, config/settings.py loads it) and the
readers the services call. See core/conf.py for how a value is read."""

from core.conf import AppSettings, Setting

channels_settings = AppSettings(
    Setting("CHANNEL_WEBHOOK_MAX_BODY_BYTES", 2 * 1024 * 1024, int,
            "Webhook receivers refuse bigger bodies with 413."),
    Setting("CHANNEL_WEBHOOK_MAX_ATTEMPTS", 8, int, "Failed deliveries are retried with backoff this many times."),
    Setting("CHANNEL_WRITEBACK_MAX_ATTEMPTS", 8, int,
            "Writeback tries per status change (exponential backoff with jitter from the base, never before "
            "Retry-After). 8 tries from a 30 s base span at least 32 minutes, so a channel outage of minutes "
            "fails nothing for good."),
    Setting("CHANNEL_WRITEBACK_BACKOFF_SECONDS", 30, int, "The writeback backoff's base."),
    Setting("CHANNEL_RETRY_MAX_DELAY_SECONDS", 3600, int, "No retry waits longer than this."),
    Setting("CHANNEL_POLL_OVERLAP_SECONDS", 120, int,
            "Polling re-reads this much before the cursor (clock skew, late commits on the channel's side)."),
    Setting("CHANNEL_POLL_LEASE_SECONDS", 900, int, "A poll's lease on its channel (a dead worker's expires)."),
    Setting("CHANNEL_WEBHOOK_ROUTE_CACHE_SECONDS", 5, float,
            "Other processes see a channel's change of routing within this many seconds."),
    Setting("CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS", 0.05, float,
            "Each web process nudges the webhook drain at most once per this many seconds (from one thread, "
            "after commit; 0: on every delivery)."),
    Setting("CHANNEL_WEBHOOK_DRAINERS", 2, int, "How many drain tasks may share a webhook backlog."),
    Setting("CHANNEL_TIKTOK_WEBHOOK_WINDOW_SECONDS", 15 * 60, int,
            "A TikTok Shop push whose signed `timestamp` is further than this from now (either way) is refused "
            "with 401 and not stored: a captured push cannot be replayed later. 15 minutes lets TikTok's first "
            "retry (2 minutes after a failed push) through; polling picks up what a refused late retry carried."),
)


def webhook_max_body_bytes() -> int:
    return channels_settings.CHANNEL_WEBHOOK_MAX_BODY_BYTES


def tiktok_webhook_window_seconds() -> int:
    return channels_settings.CHANNEL_TIKTOK_WEBHOOK_WINDOW_SECONDS


def webhook_max_attempts() -> int:
    return channels_settings.CHANNEL_WEBHOOK_MAX_ATTEMPTS


def writeback_max_attempts() -> int:
    return channels_settings.CHANNEL_WRITEBACK_MAX_ATTEMPTS


def writeback_backoff_seconds() -> float:
    return channels_settings.CHANNEL_WRITEBACK_BACKOFF_SECONDS


def retry_max_delay_seconds() -> float:
    return channels_settings.CHANNEL_RETRY_MAX_DELAY_SECONDS


def poll_overlap_seconds() -> int:
    return channels_settings.CHANNEL_POLL_OVERLAP_SECONDS


def poll_lease_seconds() -> int:
    return channels_settings.CHANNEL_POLL_LEASE_SECONDS


def public_base_url() -> str:
    from django.conf import settings  # infrastructure (config/settings.py): the address this hub answers on

    return getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def webhook_route_cache_seconds() -> float:
    return channels_settings.CHANNEL_WEBHOOK_ROUTE_CACHE_SECONDS


def webhook_drain_nudge_seconds() -> float:
    """Each web process nudges the drain at most once per this many seconds (0: on every delivery)."""
    return channels_settings.CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS


def webhook_drainers() -> int:
    """How many drain tasks may share a webhook backlog (the main one and its helpers)."""
    return channels_settings.CHANNEL_WEBHOOK_DRAINERS
