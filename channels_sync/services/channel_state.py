"""What a provider learns about its channel while it works, saved on the channel row: rotated tokens (Shopify's
expiring offline tokens come with a refresh token that changes on every refresh) and warnings for staff.

A provider is bound to a config dict and knows no models; `Channel.provider_instance` hands it one of these.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from channels_sync.models import Channel

LOCK_SECONDS = 30       # longer than a token call's timeouts; a dead worker's lock simply expires
LOCK_WAIT_SECONDS = 15


class ChannelStateStore:
    def __init__(self, channel_pk: int):
        self.channel_pk = channel_pk

    # --- config (tokens) -------------------------------------------------------------------------
    def current_config(self) -> dict:
        channel = Channel.objects.filter(pk=self.channel_pk).only("config").first()
        return dict(channel.config or {}) if channel is not None else {}

    def update_config(self, changes: dict) -> None:
        """Merge `changes` into the stored config (row locked for the read-modify-write, no HTTP inside)."""
        with transaction.atomic():
            channel = Channel.objects.select_for_update().filter(pk=self.channel_pk).first()
            if channel is None:
                return
            channel.config = {**(channel.config or {}), **changes}
            channel.save(update_fields=["config", "updated_at"])

    @contextmanager
    def token_lock(self) -> Iterator[bool]:
        """One refresh at a time across workers (a cache lock, not a row lock: the refresh is an HTTP call).
        Yields whether the lock was taken; a worker that waited in vain goes on without it."""
        key, token = f"ordershub:channel-token-lock:{self.channel_pk}", uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        taken = cache.add(key, token, timeout=LOCK_SECONDS)
        while not taken and time.monotonic() < deadline:
            time.sleep(0.2)
            taken = cache.add(key, token, timeout=LOCK_SECONDS)
        try:
            yield taken
        finally:
            if taken and cache.get(key) == token:
                cache.delete(key)

    # --- warnings --------------------------------------------------------------------------------
    def warn(self, code: str, message: str) -> None:
        """Keep one warning per code (the newest), with when it was last seen."""
        with transaction.atomic():
            channel = Channel.objects.select_for_update().filter(pk=self.channel_pk).only("warnings").first()
            if channel is None:
                return
            kept = [w for w in (channel.warnings or []) if w.get("code") != code]
            kept.append({"code": code, "message": message, "at": timezone.now().isoformat()})
            Channel.objects.filter(pk=self.channel_pk).update(warnings=kept)

    def clear_warning(self, code: str) -> None:
        """Drop the code's warning once the channel no longer gives cause (one cheap UPDATE, none when absent)."""
        current = Channel.objects.filter(pk=self.channel_pk).values_list("warnings", flat=True).first()
        if not any(w.get("code") == code for w in current or []):   # (a JSON `contains` lookup: not on SQLite)
            return
        with transaction.atomic():
            channel = Channel.objects.select_for_update().filter(pk=self.channel_pk).only("warnings").first()
            if channel is None:
                return
            Channel.objects.filter(pk=self.channel_pk).update(
                warnings=[w for w in channel.warnings or [] if w.get("code") != code])
