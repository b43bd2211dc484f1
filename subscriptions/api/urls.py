from django.urls import path

from subscriptions.api import views

urlpatterns = [
    path("storefront/subscriptions/get/<str:author>/<str:subscription_id>", views.CustomerSubscriptionView.as_view(),
         name="storefront-customer-subscription"),
    path("storefront/subscriptions/get/<str:author>", views.CustomerSubscriptionsView.as_view(),
         name="storefront-customer-subscriptions"),
    path("storefront/update-subscription", views.UpdateSubscriptionView.as_view(),
         name="storefront-update-subscription"),
    path("storefront/subscriptions", views.SubscriptionListView.as_view(), name="storefront-subscriptions"),
    path("storefront/subscriptions/<str:subscription_id>", views.SubscriptionDetailView.as_view(),
         name="storefront-subscription-detail"),
    path("storefront/prices", views.PriceListView.as_view(), name="storefront-prices"),
    path("storefront/prices/<str:price_id>", views.PriceDetailView.as_view(), name="storefront-price-detail"),
]
