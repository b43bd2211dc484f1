"""Replay windows for signed times: a delivery whose signed timestamp is too far from now is refused.

A signature proves who wrote a body, not when it was sent: without a window a captured delivery can be
replayed for ever. Used by EasyPost's `X-Timestamp` (tracking) and TikTok Shop's signed `timestamp`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def within_window(sent_at: datetime, *, seconds: float, now: datetime | None = None) -> bool:
    """Whether `sent_at` is at most `seconds` away from now, either way (clocks differ a little both ways)."""
    now = now or datetime.now(UTC)
    return abs(now - sent_at) <= timedelta(seconds=seconds)
