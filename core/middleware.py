"""Request guards that apply before any view runs."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

from core.api.errors import error_body
from core.api.throttles import rate_limit_of


def payload_too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return JsonResponse(
        error_body("payload_too_large", f"The request body is larger than {limit} bytes.", {"maxBytes": limit}),
        status=413,
    )


class RequestSizeLimitMiddleware:
    """413 for bodies over the limit: by Content-Length up front, or when a view reads a longer body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return size_refusal(request) or self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large()
        return None


def size_refusal(request) -> JsonResponse | None:
    """The 413 a request declaring a body over the limit gets, or None. Also run by the webhook lane."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return payload_too_large() if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE else None


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def invalid_characters(where: str) -> JsonResponse:
    return JsonResponse(
        error_body("invalid_characters", f"The {where} contains a NUL character, which cannot be stored.",
                   {"location": where}),
        status=400,
    )


class NulCharacterGuardMiddleware:
    """400 for a NUL byte in the path, the query, a header or a form field: PostgreSQL refuses NUL in text, so a lookup
    by such a value would otherwise be a 500 in whichever view ran it. (JSON bodies: core.api.parsers.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return nul_character_refusal(request) or self.get_response(request)


def nul_character_refusal(request) -> JsonResponse | None:
    """The 400 a request with a NUL character gets, or None. Also run by the webhook lane, which skips middleware."""
    if "\x00" in request.path_info:
        return invalid_characters("path")
    if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
        return invalid_characters("query")
    if any("\x00" in value for key, value in request.META.items()
           if key.startswith("HTTP_") and isinstance(value, str)):
        return invalid_characters("headers")
    if request.method == "POST" and request.content_type in FORM_TYPES:
        # Server-rendered forms (the lookup page). The body is read first, so views that need the raw
        # bytes (webhook signatures) still have them after the form is parsed from it.
        try:
            request.body  # noqa: B018
            fields = list(request.POST.lists())
        except RequestDataTooBig:
            return payload_too_large()
        except MultiPartParserError:
            return JsonResponse(error_body("malformed_form", "The form body cannot be parsed."), status=400)
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in fields):
            return invalid_characters("form")
    return None


class RateLimitHeadersMiddleware:
    """RateLimit-Limit / -Remaining / -Reset on every answer a throttle counted (API views and the customer pages
    alike), and Retry-After on a 429 that lacks one, from the throttle's own window (core.api.throttles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = rate_limit_of(request)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
            if response.status_code == 429:
                # DRF writes floor(wait), which is 0 in a window's last second: never tell a client "retry now".
                response["Retry-After"] = str(max(state.reset, int(response.get("Retry-After") or 0)))
        return response
