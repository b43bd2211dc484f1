"""Request guards that apply before any view runs."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from core.api.errors import error_body


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
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return payload_too_large()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large()
        return None
