"""EasyPost Trackers (https://docs.easypost.com/docs/trackers): live status and signed webhooks.

Wire facts (tests/tracking/fixtures/easypost/SOURCES.md lists where each came from):
- `POST /v2/trackers {"tracker": {"tracking_code", "carrier"}}` creates a tracker (EasyPost returns
  the existing one for a code and carrier it already follows); `GET /v2/trackers/:id` reads one.
  HTTP basic auth with the API key as user name.
- A Tracker carries `status` (unknown, pre_transit, in_transit, out_for_delivery,
  available_for_pickup, delivered, return_to_sender, failure, cancelled, error) and
  `tracking_details[]` {message, status, status_detail, datetime, tracking_location{city, state,
  country, zip}}.
- Webhooks POST an Event {id, description: "tracker.updated", created_at, updated_at, result:
  Tracker}; `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256(NFKD(secret), raw body)>`, the
  scheme EasyPost's client libraries verify. Newer deliveries also carry `X-Timestamp`
  (RFC 2822), which we use to refuse stale requests.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings

from core.freshness import within_window
from core.http import HttpClient, PermanentOutboundError, RetryableOutboundError
from tracking.carriers.base import (
    DELIVERED,
    EXCEPTION,
    IN_TRANSIT,
    LABEL_CREATED,
    OUT_FOR_DELIVERY,
    RETURNED,
    CarrierError,
    CarrierNotFound,
    CarrierProvider,
    Scan,
    TrackingResult,
    WebhookEvent,
    WebhookRejected,
)

STATUS_MAP = {
    "pre_transit": LABEL_CREATED,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": OUT_FOR_DELIVERY,
    "available_for_pickup": OUT_FOR_DELIVERY,  # waiting at a pickup point: the last leg, raw code kept
    "delivered": DELIVERED,
    "return_to_sender": RETURNED,
    "failure": EXCEPTION,
    "error": EXCEPTION,
    "cancelled": EXCEPTION,
    "unknown": None,  # no information yet: changes nothing
}
# Our carrier codes -> EasyPost's carrier names (anything else is passed through as typed).
CARRIER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHLExpress", "dhlexpress": "DHLExpress",
                 "canadapost": "CanadaPost", "royalmail": "RoyalMail", "ontrac": "OnTrac", "lasership": "LaserShip"}
SIGNATURE_HEADER = "X-Hmac-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_PREFIX = "hmac-sha256-hex="
TRACKER_EVENTS = {"tracker.created", "tracker.updated"}


def _parse_time(value: str | None) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _location(raw: dict | None) -> str:
    raw = raw or {}
    city_state = ", ".join(part for part in (raw.get("city"), raw.get("state")) if part)
    return " ".join(part for part in (city_state, raw.get("zip"), raw.get("country")) if part).strip()


def normalize_status(raw_status: str | None) -> str | None:
    return STATUS_MAP.get((raw_status or "").lower())


def normalize_tracker(raw: dict) -> TrackingResult:
    """A Tracker object -> TrackingResult. Pure; scans whose status says nothing (unknown) are skipped."""
    scans = []
    for detail in raw.get("tracking_details") or []:
        status = normalize_status(detail.get("status"))
        occurred_at = _parse_time(detail.get("datetime"))
        if status is None or occurred_at is None:
            continue
        raw_code = detail.get("status") or ""
        if detail.get("status_detail"):
            raw_code = f"{raw_code}/{detail['status_detail']}"
        scans.append(Scan(
            status=status,
            raw_status=raw_code[:64],
            description=(detail.get("message") or detail.get("description") or "")[:500],
            location=_location(detail.get("tracking_location"))[:200],
            occurred_at=occurred_at,
        ))
    return TrackingResult(
        tracking_number=str(raw.get("tracking_code") or ""),
        carrier=(raw.get("carrier") or "").lower(),
        status=normalize_status(raw.get("status")),
        raw_status=raw.get("status") or "",
        scans=tuple(sorted(scans, key=lambda scan: scan.occurred_at)),
        provider_ref=raw.get("id") or "",
        public_url=raw.get("public_url") or "",
        estimated_delivery=_parse_time(raw.get("est_delivery_date")),
        metadata={"statusDetail": raw.get("status_detail"), "mode": raw.get("mode"), "signedBy": raw.get("signed_by")},
    )


def signature_for(body: bytes, secret: str) -> str:
    """`X-Hmac-Signature` as EasyPost computes it (its client libraries NFKD-normalize the secret)."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


class Provider(CarrierProvider):
    name = "easypost"
    live = True

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, webhook_secret: str | None = None,
                 session: requests.Session | None = None):
        self.api_key = settings.EASYPOST_API_KEY if api_key is None else api_key
        self.webhook_secret = settings.EASYPOST_WEBHOOK_SECRET if webhook_secret is None else webhook_secret
        self.client = HttpClient(base_url or settings.EASYPOST_API_BASE, session=session,
                                        timeout=(settings.TRACKING_HTTP_TIMEOUT, settings.TRACKING_HTTP_TIMEOUT),
                                        max_429_retries=0)
        self.client.session.auth = (self.api_key, "")

    # --- live status -----------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> dict:
        if not self.api_key:
            raise CarrierError("EASYPOST_API_KEY is not set")
        try:
            return self.client.request(method, path, **kwargs).json()
        except PermanentOutboundError as exc:
            if exc.status_code in (404, 422):
                raise CarrierNotFound(str(exc)) from exc
            raise CarrierError(str(exc)) from exc
        except RetryableOutboundError as exc:
            raise CarrierError(str(exc)) from exc
        except ValueError as exc:  # not JSON
            raise CarrierError(f"EasyPost answered something that is not JSON: {exc}") from exc

    def track(self, *, tracking_number: str, carrier: str, provider_ref: str = "") -> TrackingResult:
        if provider_ref:
            return normalize_tracker(self._call("GET", f"trackers/{provider_ref}"))
        return self.register(tracking_number=tracking_number, carrier=carrier)

    def register(self, *, tracking_number: str, carrier: str) -> TrackingResult:
        body = {"tracker": {"tracking_code": tracking_number}}
        if carrier:
            body["tracker"]["carrier"] = CARRIER_NAMES.get(carrier.lower(), carrier)
        return normalize_tracker(self._call("POST", "trackers", json=body))

    # --- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Constant-time HMAC check, then freshness: the `X-Timestamp` header when sent, and always the
        event's own (signed) `updated_at`, so a captured delivery cannot be replayed days later."""
        if not self.webhook_secret:
            raise WebhookRejected("EASYPOST_WEBHOOK_SECRET is not set; refusing unsigned tracking updates")
        sent = (headers.get(SIGNATURE_HEADER) or "").strip()
        if not sent:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER}")
        if not hmac.compare_digest(sent.lower().encode(), signature_for(body, self.webhook_secret).encode()):
            raise WebhookRejected("signature does not match")
        now = datetime.now(UTC)
        stamp = headers.get(TIMESTAMP_HEADER)
        if stamp:
            try:
                sent_at = email.utils.parsedate_to_datetime(stamp)
            except (TypeError, ValueError) as exc:
                raise WebhookRejected(f"unreadable {TIMESTAMP_HEADER}") from exc
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=UTC)
            if not within_window(sent_at, seconds=settings.TRACKING_WEBHOOK_TOLERANCE_SECONDS, now=now):
                raise WebhookRejected(f"stale: {TIMESTAMP_HEADER} is outside the tolerance window")
        try:
            event = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise WebhookRejected("body is not JSON") from exc
        if not isinstance(event, dict):
            raise WebhookRejected("body is not a JSON object")
        event_time = _parse_time(event.get("updated_at") or event.get("created_at"))
        if event_time is None:
            raise WebhookRejected("event has no updated_at/created_at")
        if now - event_time > timedelta(seconds=settings.TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS):
            raise WebhookRejected("stale: the event is older than TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS")

    def parse_webhook(self, body: bytes) -> WebhookEvent:
        event = json.loads(body)
        description = event.get("description") or ""
        result = event.get("result") or {}
        results: tuple[TrackingResult, ...] = ()
        if description in TRACKER_EVENTS and result.get("object") == "Tracker":
            results = (normalize_tracker(result),)
        return WebhookEvent(event_id=str(event.get("id") or ""), description=description, results=results,
                            occurred_at=_parse_time(event.get("updated_at") or event.get("created_at")))
