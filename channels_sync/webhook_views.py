"""Channel webhook receivers: route, verify, store, answer 200. Processing happens in a worker.

A plain Django view rather than DRF: no JWT, no content negotiation, and the raw bytes must reach the
signature check untouched.
"""

from __future__ import annotations

import functools
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import HttpHeaders
from django.views.decorators.csrf import csrf_exempt

from channels_sync.conf import webhook_max_body_bytes
from channels_sync.normalized import WebhookRequest
from channels_sync.providers.errors import WebhookMalformed, WebhookRejected
from channels_sync.services.ebay_app import ebay_app_challenge, ebay_app_notification
from channels_sync.services.webhooks import (
    AmbiguousDelivery,
    UnknownChannel,
    webhook_route,
    webhook_store,
    webhook_verify,
)

logger = logging.getLogger(__name__)


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


# META key -> header name (HTTP_X_SHOPIFY_TOPIC -> X-Shopify-Topic, None for non-headers): the same names as
# `request.headers`, which parsed every key of every delivery anew.
_header_name = functools.lru_cache(maxsize=1024)(HttpHeaders.parse_header_name)


def _as_webhook_request(request: HttpRequest, body: bytes) -> WebhookRequest:
    headers = {name: value for key, value in request.META.items() if (name := _header_name(key))}
    return WebhookRequest(headers=headers, body=body, query=request.GET.dict(), url=request.build_absolute_uri())


@csrf_exempt
def webhook_receiver(request: HttpRequest, provider_name: str, topic: str | None = None):
    if request.method not in ("POST", "GET"):
        return _error("method_not_allowed", "Use POST.", 405)
    limit = webhook_max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error("payload_too_large", f"Webhook bodies are limited to {limit} bytes.", 413)
    body = request.body if request.method == "POST" else b""
    if len(body) > limit:
        return _error("payload_too_large", f"Webhook bodies are limited to {limit} bytes.", 413)
    hook = _as_webhook_request(request, body)
    if provider_name == "ebay" and not hook.query.get("channel"):
        return _ebay_app_endpoint(request.method, hook)
    try:
        candidates = webhook_route(provider_name=provider_name, request=hook,
                                   include_disabled=request.method == "GET")
    except UnknownChannel:
        return _error("not_found", "No channel matches this delivery.", 404)
    if request.method == "GET":
        # Endpoint-ownership challenges (eBay's challenge_code); nothing is stored.
        for channel in candidates:
            answer = channel.provider_instance().webhook_challenge(hook)
            if answer is not None:
                return JsonResponse(answer)
        return _error("method_not_allowed", "Use POST.", 405)
    try:
        channel, provider = webhook_verify(channels=candidates, request=hook)
    except WebhookMalformed as exc:
        return _error("malformed_signature", str(exc), 400)
    except WebhookRejected:
        return _error("invalid_signature", "The delivery's signature does not verify.", 401)
    except AmbiguousDelivery:
        logger.warning("webhook for %s matches several orgs' channels; register it with ?channel=&org=", provider_name)
        return _error("ambiguous_channel", "Several channels match this delivery; its URL must name the org "
                      "(?channel=<channelId>&org=<org slug>).", 409)
    except RecursionError:  # a provider that reads the body to verify it (Amazon's relay) met absurd nesting
        return _error("malformed_body", "The body is nested too deeply to read.", 400)
    ping = provider.webhook_ping(hook)
    if ping is not None:   # reachability test (WooCommerce): answered, nothing stored
        return JsonResponse(ping)
    if not provider.webhook_body_readable(hook):
        return _error("malformed_body", "The delivery's body is not valid JSON.", 400)
    received = webhook_store(channel=channel, request=hook, provider=provider)
    return HttpResponse(_DUPLICATE if received.duplicate else _RECEIVED, content_type="application/json")


def _ebay_app_endpoint(method: str, hook: WebhookRequest):
    """eBay's per-app endpoint (no `?channel=`): its challenge, and marketplace account deletions."""
    if method == "GET":
        if not hook.query.get("challenge_code"):
            return _error("method_not_allowed", "Use POST.", 405)
        answer = ebay_app_challenge(request=hook)
        return JsonResponse(answer.body, status=answer.status)
    try:
        answer = ebay_app_notification(request=hook)
    except WebhookMalformed as exc:
        return _error("malformed_signature", str(exc), 400)
    except WebhookRejected:
        return _error("invalid_signature", "The delivery's signature does not verify.", 401)
    return JsonResponse(answer.body, status=answer.status)


# The two answers a stored delivery gets, serialized once.
_RECEIVED = b'{"received": true, "duplicate": false}'
_DUPLICATE = b'{"received": true, "duplicate": true}'
