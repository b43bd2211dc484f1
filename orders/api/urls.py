from django.urls import path

from orders.api import views

urlpatterns = [
    path("storefront/checkout-cart", views.CheckoutView.as_view(), name="storefront-checkout"),
    path("storefront/orders", views.OrderListView.as_view(), name="storefront-orders"),
    path("storefront/orders/get/<str:author>", views.CustomerOrdersView.as_view(), name="storefront-customer-orders"),
    path("storefront/order/email/<str:email>/<str:order_number>", views.CustomerOrderByEmailView.as_view(),
         name="storefront-customer-order-email"),
    path("storefront/order/get/<str:author>/<str:order_number>", views.CustomerOrderByAuthorView.as_view(),
         name="storefront-customer-order"),
    path("storefront/order/update/<str:order_number>", views.OrderUpdateView.as_view(), name="storefront-order-update"),
    path("storefront/order/send-welcome/<str:order_number>", views.SendWelcomeView.as_view(),
         name="storefront-order-send-welcome"),
    path("storefront/order/remove/<str:author>/<str:order_number>", views.RemoveTestOrdersView.as_view(),
         name="storefront-order-remove"),
    path("storefront/order/remove/<str:author>", views.RemoveAllTestOrdersView.as_view(),
         name="storefront-order-remove-all"),
    *[
        path(f"storefront/order/{verb}/<str:order_number>", view.as_view(), name=f"storefront-order-{verb}")
        for verb, view in views.VERB_VIEWS.items()
    ],
    path("storefront/order/<str:order_number>", views.OrderDetailView.as_view(), name="storefront-order-detail"),
    path("storefront/inventory", views.InventoryListView.as_view(), name="storefront-inventory"),
    path("storefront/inventory/<str:sku>", views.InventoryItemView.as_view(), name="storefront-inventory-item"),
]
