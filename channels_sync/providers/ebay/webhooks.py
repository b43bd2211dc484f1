"""eBay notifications: the endpoint challenge, X-EBAY-SIGNATURE verification (ECDSA over the body with
eBay's public key, fetched by key id and cached), delivery id/topic, destination and subscriptions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.ebay.writeback import _created_id
from channels_sync.providers.errors import ChannelError, PermanentChannelError, WebhookMalformed, WebhookRejected
from channels_sync.providers.oauth import token_cache_key

NOTIFICATION_PATH = "/commerce/notification/v1/"
PUBLIC_KEY_PATH = NOTIFICATION_PATH + "public_key/"
PUBLIC_KEY_CACHE_SECONDS = 3600   # eBay recommends about an hour
# eBay's key ids are UUID-like; anything else never reaches the getPublicKey URL (no "/", "..", "?" or "%").
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Unsigned requests must not turn into unbounded getPublicKey/token calls: a kid eBay did not know is
# remembered for a while, and a channel fetches at most KEY_FETCHES_PER_WINDOW unknown kids per window.
UNKNOWN_KID_CACHE_SECONDS = 600
KEY_FETCHES_PER_WINDOW = 10
KEY_FETCH_WINDOW_SECONDS = 600
SIGNATURE_HEADER = "X-EBAY-SIGNATURE"
ORDER_TOPICS = {"ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"}
ACCOUNT_DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"


def challenge_response(challenge_code: str, verification_token: str, endpoint: str) -> str:
    digest = hashlib.sha256()
    for part in (challenge_code, verification_token, endpoint):
        digest.update(part.encode())
    return digest.hexdigest()


def decode_signature_header(header: str) -> dict:
    """{alg, kid, signature, digest} with every field a string of the expected shape; WebhookMalformed (a 400)
    for anything else, whatever JSON type an attacker puts in each field."""
    try:
        signature = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError, TypeError):
        raise WebhookMalformed("X-EBAY-SIGNATURE is not base64 JSON") from None
    if not isinstance(signature, dict):
        raise WebhookMalformed("X-EBAY-SIGNATURE is not a JSON object")
    kid, value = signature.get("kid"), signature.get("signature")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise WebhookMalformed("X-EBAY-SIGNATURE has no valid kid")
    if not isinstance(value, str) or not value:
        raise WebhookMalformed("X-EBAY-SIGNATURE has no signature string")
    for field in ("alg", "digest"):
        if signature.get(field) is not None and not isinstance(signature[field], str):
            raise WebhookMalformed(f"X-EBAY-SIGNATURE {field} is not a string")
    if (signature.get("alg") or "").lower() != "ecdsa":
        raise WebhookMalformed(f"unsupported signature algorithm {signature.get('alg')!r}")
    return signature


def _pem(key: str) -> bytes:
    """getPublicKey answers the PEM on one line; put the armour lines back on their own lines."""
    body = key.replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "")
    body = "".join(body.split())
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n".encode()


def verify_signature(public_key: dict, signature: dict, body: bytes) -> bool:
    """ECDSA over the body as received, or over its compact JSON form, which is what eBay's own
    SDKs hash (JSON.stringify of the parsed message)."""
    digest_name = str(signature.get("digest") or public_key.get("digest") or "SHA1").upper()
    digest = {"SHA1": hashes.SHA1(), "SHA256": hashes.SHA256()}.get(digest_name)
    if digest is None:
        return False
    try:
        key = serialization.load_pem_public_key(_pem(public_key.get("key") or ""))
        der = base64.b64decode(signature["signature"], validate=True)
    except (ValueError, TypeError, AttributeError, binascii.Error, UnsupportedAlgorithm):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    candidates = [body]
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
        if compact != body:
            candidates.append(compact)
    except (ValueError, UnicodeDecodeError):
        pass
    for candidate in candidates:
        try:
            key.verify(der, candidate, ec.ECDSA(digest))
            return True
        except InvalidSignature:
            continue
    return False


def _order_ids(data) -> list[str]:
    """Order ids named anywhere in a notification's data (`orderId`, or a list of them)."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("orderId", "orderID") and isinstance(value, str | int) and str(value) not in found:
                    found.append(str(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for element in node:
                walk(element)

    walk(data)
    return found


def _without_query_param(url: str, name: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != name])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class WebhooksMixin:
    """Provider's notification half (uses the client's `_call` and `app_token`)."""

    webhook_secret_headers = (SIGNATURE_HEADER,)

    # --- notifications -----------------------------------------------------------------------
    def webhook_challenge(self, request: WebhookRequest) -> dict | None:
        """eBay proves the endpoint is ours with GET ?challenge_code=: answer sha256(code + token + endpoint)."""
        code = request.query.get("challenge_code")
        if not code:
            return None
        token = self.config.get("verificationToken")
        if not token:   # nothing to answer with: the challenge fails and eBay keeps the endpoint disabled
            return None
        endpoint = self.config.get("notificationEndpoint") or _without_query_param(request.url, "challenge_code")
        return {"challengeResponse": challenge_response(code, token, endpoint)}

    def account_deletion_challenge(self, request: WebhookRequest) -> dict | None:
        """The challenge at the keyset's one Marketplace Account Deletion endpoint: the same hash over that
        endpoint (config `accountDeletionEndpoint` behind a proxy, else the URL as received)."""
        code, token = request.query.get("challenge_code"), self.config.get("verificationToken")
        if not code or not token:
            return None
        endpoint = (self.config.get("accountDeletionEndpoint")
                    or _without_query_param(request.url, "challenge_code"))
        return {"challengeResponse": challenge_response(code, token, endpoint)}

    def verify_webhook(self, request: WebhookRequest) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER}")
        signature = decode_signature_header(header)
        try:
            key = self.public_key(signature["kid"])
        except (ChannelError, ValueError, TypeError) as exc:
            raise WebhookRejected(f"no public key for kid {signature['kid']}: {exc}") from None
        if not verify_signature(key, signature, request.body):
            raise WebhookRejected("X-EBAY-SIGNATURE does not match the body")

    def public_key(self, kid: str) -> dict:
        """{key, algorithm, digest} for a key id: from config `publicKeys`, the cache, or getPublicKey."""
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise PermanentChannelError("not a key id")
        configured = self.config.get("publicKeys") or {}
        configured = configured.get(kid) if isinstance(configured, dict) else None
        if configured:
            return configured if isinstance(configured, dict) else {"key": configured, "algorithm": "ECDSA",
                                                                     "digest": "SHA1"}
        cache_key = token_cache_key("ebay-public-key", self.base_url, kid)
        key = cache.get(cache_key)
        if key is None:
            unknown_key = token_cache_key("ebay-unknown-kid", self.base_url, kid)
            if cache.get(unknown_key):
                raise PermanentChannelError(f"key id {kid} was unknown to eBay a moment ago")
            self._count_key_fetch()
            try:
                key = self._fetch_public_key(kid)
            except PermanentChannelError:
                cache.set(unknown_key, True, timeout=UNKNOWN_KID_CACHE_SECONDS)
                raise
            cache.set(cache_key, key, timeout=PUBLIC_KEY_CACHE_SECONDS)
        return key

    def _count_key_fetch(self) -> None:
        """At most KEY_FETCHES_PER_WINDOW getPublicKey calls per channel per window (fixed window counter)."""
        counter = token_cache_key("ebay-key-fetches", self.base_url, str(self.channel_id or ""),
                                  (self.config.get("clientId") or ""))
        cache.add(counter, 0, timeout=KEY_FETCH_WINDOW_SECONDS)
        try:
            count = cache.incr(counter)
        except ValueError:   # expired between add and incr
            cache.set(counter, 1, timeout=KEY_FETCH_WINDOW_SECONDS)
            count = 1
        if count > KEY_FETCHES_PER_WINDOW:
            raise PermanentChannelError("too many public key look-ups for unknown key ids; try later")

    def _fetch_public_key(self, kid: str) -> dict:
        try:
            key = self._call("GET", PUBLIC_KEY_PATH + kid, token=self.app_token).json()
        except PermanentChannelError:
            # getPublicKey takes a user token too: keys stay reachable if the app grant is refused.
            key = self._call("GET", PUBLIC_KEY_PATH + kid).json()
        if not isinstance(key, dict) or not isinstance(key.get("key"), str) or not key["key"]:
            raise PermanentChannelError(f"getPublicKey answered no key for {kid}")
        return key

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        document = json.loads(request.body)
        topic = (document.get("metadata") or {}).get("topic") or ""
        notification = document.get("notification") or {}
        delivery_id = notification.get("notificationId") or "sha256:" + hashlib.sha256(request.body).hexdigest()
        if topic == ACCOUNT_DELETION_TOPIC:   # at a channel's own URL: the same deletion as at the keyset's
            data = notification.get("data") or {}
            return WebhookEvent(delivery_id=str(delivery_id), topic=topic, compliance={
                "kind": "account_deletion", "username": str(data.get("username") or "")})
        refs = _order_ids(notification.get("data")) if topic in ORDER_TOPICS else []
        return WebhookEvent(delivery_id=str(delivery_id), topic=topic, order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """Create a destination for `callback_url` (eBay challenges it at once) and subscribe it to the
        topics in config `notificationTopics`, e.g. ["ORDER_CONFIRMATION"]; none configured: poll only."""
        topics = self.config.get("notificationTopics") or []
        if isinstance(topics, str):
            topics = [topic.strip() for topic in topics.split(",") if topic.strip()]
        if not topics:
            return []
        destination = {"name": f"ordershub {self.channel_id or ''}".strip()[:64], "status": "ENABLED",
                       "deliveryConfig": {"endpoint": self.config.get("notificationEndpoint") or callback_url,
                                          "verificationToken": self.config.get("verificationToken", "")}}
        if self.config.get("alertEmail"):   # eBay wants an alert address before the first destination
            self._call("PUT", NOTIFICATION_PATH + "config", token=self.app_token,
                       json={"alertEmail": self.config["alertEmail"]})
        response = self._call("POST", NOTIFICATION_PATH + "destination", token=self.app_token, json=destination)
        destination_id = _created_id(response)
        registered = []
        for topic in topics:
            body = {"topicId": topic, "status": "ENABLED", "destinationId": destination_id,
                    "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}
            response = self._call("POST", NOTIFICATION_PATH + "subscription", json=body)
            registered.append({"topicId": topic, "destinationId": destination_id,
                               "subscriptionId": _created_id(response)})
        return registered
