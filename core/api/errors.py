"""One error shape for every API answer: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.exceptions import ApiError

_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


_RENAMED_CODES = {"throttled": "rate_limited", "parse_error": "malformed_json"}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        body = error_body("invalid", "The request has invalid fields.", details)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        details = {}
        if isinstance(detail, dict):  # e.g. simplejwt: {"detail", "code", "messages"}
            details = {k: v for k, v in detail.items() if k not in {"detail", "code"}}
            code, message = detail.get("code"), str(detail.get("detail", "Request failed."))
        else:
            code, message = getattr(detail, "code", None), str(detail)
        code = code or _CODES.get(response.status_code, "error")
        code = _RENAMED_CODES.get(code, code)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retryAfterSeconds": int(exc.wait)}
        body = error_body(code, message, details)
    response.data = body
    return response


def error_response(code: str, message: str, http_status: int, details: dict | None = None) -> Response:
    return Response(error_body(code, message, details), status=http_status)
