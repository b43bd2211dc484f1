"""Channel sync settings with their defaults (config/settings.py's channel sync block may override them)."""

from django.conf import settings


def setting(name: str, default):
    return getattr(settings, name, default)


def webhook_max_body_bytes() -> int:
    return setting("CHANNEL_WEBHOOK_MAX_BODY_BYTES", 2 * 1024 * 1024)


def webhook_max_attempts() -> int:
    return setting("CHANNEL_WEBHOOK_MAX_ATTEMPTS", 8)


def writeback_max_attempts() -> int:
    return setting("CHANNEL_WRITEBACK_MAX_ATTEMPTS", 8)


def writeback_backoff_seconds() -> float:
    return setting("CHANNEL_WRITEBACK_BACKOFF_SECONDS", 30)


def retry_max_delay_seconds() -> float:
    return setting("CHANNEL_RETRY_MAX_DELAY_SECONDS", 3600)


def poll_overlap_seconds() -> int:
    return setting("CHANNEL_POLL_OVERLAP_SECONDS", 120)


def poll_lease_seconds() -> int:
    return setting("CHANNEL_POLL_LEASE_SECONDS", 900)


def public_base_url() -> str:
    return setting("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def webhook_route_cache_seconds() -> float:
    return setting("CHANNEL_WEBHOOK_ROUTE_CACHE_SECONDS", 5)


def webhook_drain_nudge_seconds() -> float:
    """Each web process nudges the drain at most once per this many seconds (0: on every delivery)."""
    return setting("CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS", 0.05)


def webhook_drainers() -> int:
    """How many drain tasks may share a webhook backlog (the main one and its helpers)."""
    return setting("CHANNEL_WEBHOOK_DRAINERS", 2)
