"""Storefront API keys: create (the full key returned once), revoke, and authenticate a presented key.

A key reads `sfk_<prefix>_<secret>`: the prefix (12 hex characters) finds the row, the sha256 of the whole
key is compared in constant time. The secret has 256 bits of randomness, so a plain sha256 is enough (no
slow hash: nothing to guess), and no server secret is mixed in, so rotating SECRET_KEY keeps keys working.
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import StorefrontApiKey

KEY_RE = re.compile(r"^sfk_(?P<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{20,100}$")
# last_used_at is written at most this often per key: a busy storefront is not one UPDATE per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def storefront_key_create(*, org, name: str, created_by=None) -> tuple[StorefrontApiKey, str]:
    """A new key for `org`; returns the row and the full key, which is stored nowhere."""
    while True:
        prefix = secrets.token_hex(6)
        key = f"sfk_{prefix}_{secrets.token_urlsafe(32)}"
        if not StorefrontApiKey.objects.filter(prefix=prefix).exists():
            break
    row = StorefrontApiKey.objects.create(org=org, name=name, prefix=prefix, secret_hash=_hash(key),
                                          created_by=created_by)
    return row, key


def storefront_key_revoke(*, org, prefix: str) -> StorefrontApiKey:
    """Revoke the org's key (again is a no-op); another org's key is a 404."""
    with transaction.atomic():
        row = StorefrontApiKey.objects.select_for_update().filter(org=org, prefix=prefix).first()
        if row is None:
            raise Http404
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
    return row


def storefront_key_authenticate(key: str) -> StorefrontApiKey | None:
    """The live key row for a presented key, or None (malformed, unknown, wrong secret or revoked)."""
    match = KEY_RE.match(key or "")
    if match is None:
        return None
    row = StorefrontApiKey.objects.select_related("org").filter(prefix=match["prefix"]).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(key)) or row.revoked_at is not None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        StorefrontApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row
