"""Public order pages (server-rendered), mounted at the site root by config/urls.py."""

from django.urls import path

from orders.pages import views

urlpatterns = [
    path("orders/lookup", views.lookup, name="order-pages-lookup"),
    path("orders/view/<str:token>", views.order_page, name="order-pages-order"),
    path("orders/account/<str:author>", views.account, name="order-pages-account"),
]
