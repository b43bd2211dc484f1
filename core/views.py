"""Site-wide pages: the landing page at `/`, and 404/500 answers (JSON for API paths, HTML elsewhere)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_GET

from core.api.errors import error_body

API_PREFIXES = ("/auth/", "/org", "/storefront/", "/sales-channel/", "/upstream/", "/shipping/", "/api/")


def wants_json(request) -> bool:
    return request.path.startswith(API_PREFIXES) or "application/json" in request.headers.get("Accept", "")


@require_GET
def home(request):
    """`/`: what this is and where to go (admin, API docs, health, the customer lookup), instead of a 404 that
    lists every URL pattern in debug. Static: it names no org and reads nothing."""
    return render(request, "core/home.html")


def not_found(request, exception=None):
    if wants_json(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it has been logged."),
                            status=500)
    return defaults.server_error(request)
