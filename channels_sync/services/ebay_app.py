"""eBay's per-app notification endpoint: the one URL registered on an eBay keyset for marketplace account
deletion (developer.ebay.com > Alerts & Notifications), without `?channel=`.

eBay challenges it with GET ?challenge_code= (answered sha256(code + verificationToken + endpoint) with the
keyset's token) and then POSTs a signed MARKETPLACE_ACCOUNT_DELETION for every eBay user who deletes their
account, to every app. The notification names no seller, so it concerns every eBay channel of the keyset
(`?app=<clientId>` narrows to one keyset when several are configured; otherwise every eBay channel). It is
verified with eBay's public key, carried out at once and not stored: its body is itself the user's data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from channels_sync.models import Channel
from channels_sync.normalized import WebhookRequest
from channels_sync.providers.errors import WebhookMalformed, WebhookRejected
from channels_sync.services.compliance import ebay_account_deletion

logger = logging.getLogger(__name__)

ACCOUNT_DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def _keyset_channels(request: WebhookRequest) -> list[Channel]:
    """Every eBay channel (enabled or not: eBay checks the endpoint before one is enabled) of the keyset."""
    app = (request.query.get("app") or "").strip()
    channels = list(Channel.objects.filter(provider="ebay").order_by("pk"))
    return [channel for channel in channels if not app or (channel.config or {}).get("clientId") == app]


def ebay_app_challenge(*, request: WebhookRequest) -> Answer:
    """The challenge answered with the keyset's verification token; the channels of one keyset share it."""
    channels = _keyset_channels(request)
    answers = {json.dumps(answer, sort_keys=True): answer for channel in channels
               if (answer := channel.provider_instance().account_deletion_challenge(request)) is not None}
    if not answers:
        return Answer(404, {"error": {"code": "not_found", "message": "No eBay channel can answer this challenge.",
                                      "details": {}}})
    if len(answers) > 1:
        return Answer(409, {"error": {"code": "ambiguous_keyset",
                                      "message": "eBay channels with different verification tokens share this "
                                                 "endpoint; register it with ?app=<clientId>.", "details": {}}})
    return Answer(200, next(iter(answers.values())))


VERIFY_KEYSETS = 3


def _verify(channels: list[Channel], request: WebhookRequest) -> None:
    """eBay signs with its own key, the same for every app: one channel's credentials fetching it is enough. One
    channel per keyset is tried (a keyset whose app token eBay refuses must not lose the deletion), a few at
    most; WebhookMalformed (an unreadable header) is final at once, WebhookRejected when none verifies."""
    tried: set[str] = set()
    for channel in channels:
        keyset = str((channel.config or {}).get("clientId") or "")
        if keyset in tried:
            continue
        tried.add(keyset)
        try:
            channel.provider_instance().verify_webhook(request)
            return
        except WebhookMalformed:
            raise
        except WebhookRejected:
            if len(tried) >= VERIFY_KEYSETS:
                break
    raise WebhookRejected("X-EBAY-SIGNATURE does not verify")


def ebay_app_notification(*, request: WebhookRequest) -> Answer:
    """A signed notification to the per-app endpoint: account deletions are carried out; anything else is
    acknowledged and ignored (order notifications come to each channel's own `?channel=` URL)."""
    channels = _keyset_channels(request)
    if not channels:
        return Answer(404, {"error": {"code": "not_found", "message": "No eBay channel matches this delivery.",
                                      "details": {}}})
    _verify(channels, request)
    try:
        document = json.loads(request.body)
        topic = document["metadata"]["topic"]
        notification = document["notification"]
        data = notification.get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return Answer(400, {"error": {"code": "malformed_body", "message": "The body is not an eBay notification.",
                                      "details": {}}})
    if topic != ACCOUNT_DELETION_TOPIC:
        return Answer(200, {"received": True, "processed": False})
    records = ebay_account_deletion(channels=channels, delivery_id=str(notification.get("notificationId") or ""),
                                    username=str(data.get("username") or ""))
    logger.info("eBay account deletion %s: %s channel(s) had the user's data", notification.get("notificationId"),
                len(records))
    return Answer(200, {"received": True, "processed": True})


