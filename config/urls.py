"""Top-level routes. Each app mounts its own api/urls.py; docs/architecture.md lists every endpoint."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.health import health
from core.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc come from drf-spectacular-sidecar, served with our static files (no CDN).
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("accounts.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("channels_sync.api.urls")),
    path("", include("tracking.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("customer_pages.urls")),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
