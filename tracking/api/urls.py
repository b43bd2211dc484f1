from django.urls import path

from tracking.api import views

urlpatterns = [
    path("shipping/track/<str:tracking_number>", views.TrackView.as_view(), name="shipping-track"),
    path("shipping/order/<str:order_number>/status", views.OrderStatusView.as_view(), name="shipping-order-status"),
    path("shipping/shipments/<str:shipment_id>/scans", views.ShipmentScansView.as_view(),
         name="shipping-shipment-scans"),
    path("shipping/webhooks/<str:provider>", views.CarrierWebhookView.as_view(), name="shipping-carrier-webhook"),
]
