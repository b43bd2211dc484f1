"""eBay notification security: the endpoint challenge and the ECDSA X-EBAY-SIGNATURE check. Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels_sync.providers.errors import WebhookRejected


def challenge_response(challenge_code: str, verification_token: str, endpoint: str) -> str:
    digest = hashlib.sha256()
    for part in (challenge_code, verification_token, endpoint):
        digest.update(part.encode())
    return digest.hexdigest()


def decode_signature_header(header: str) -> dict:
    try:
        signature = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise WebhookRejected("X-EBAY-SIGNATURE is not base64 JSON") from None
    if not isinstance(signature, dict) or not signature.get("kid") or not signature.get("signature"):
        raise WebhookRejected("X-EBAY-SIGNATURE lacks kid or signature")
    if str(signature.get("alg", "")).lower() != "ecdsa":
        raise WebhookRejected(f"unsupported signature algorithm {signature.get('alg')!r}")
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
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
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
