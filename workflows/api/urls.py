from django.urls import path

from workflows.api import views

urlpatterns = [
    path("storefront/workflows/order-management", views.WorkflowListView.as_view(), name="workflows"),
    path("storefront/workflows/order-management/<slug:name>", views.WorkflowDetailView.as_view(),
         name="workflow-detail"),
    path("storefront/workflows/order-management/<slug:name>/runs", views.WorkflowRunsView.as_view(),
         name="workflow-runs"),
]
