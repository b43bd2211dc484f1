"""Public order pages (server-rendered), mounted at the site root by config/urls.py. The names keep
their `order-pages-` prefix: orders.links reverses them for the links in emails."""

from django.urls import path

from customer_pages import views

urlpatterns = [
    path("orders/lookup", views.lookup, name="order-pages-lookup"),
    path("orders/view/<str:token>", views.order_page, name="order-pages-order"),
    path("orders/account/<str:author>", views.account, name="order-pages-account"),
]
urlpatterns += [
    path("orders/view/<str:token>/parcels/<str:parcel>", views.parcel_page, name="order-pages-parcel"),
    path("orders/view/<str:token>/cancel", views.cancel_request, name="order-pages-cancel"),
]
