"""Site-wide 404/500 answers: JSON for API paths, Django's HTML pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults

from core.api.errors import error_body

API_PREFIXES = ("/auth/", "/org", "/storefront/", "/sales-channel/", "/upstream/", "/shipping/", "/api/")


def wants_json(request) -> bool:
    return request.path.startswith(API_PREFIXES) or "application/json" in request.headers.get("Accept", "")


def not_found(request, exception=None):
    if wants_json(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it has been logged."),
                            status=500)
    return defaults.server_error(request)
