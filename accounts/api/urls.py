from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshRotatingView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("org", views.OrgView.as_view(), name="org"),
    path("org/storefront-keys", views.StorefrontKeysView.as_view(), name="org-storefront-keys"),
    path("org/storefront-keys/<str:prefix>/revoke", views.StorefrontKeyRevokeView.as_view(),
         name="org-storefront-key-revoke"),
]
