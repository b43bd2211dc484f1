"""Thin workflow views: validate, call one service or query, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tenancy import OrgScopedMixin
from orders.api.views import ERROR, ORG_HEADER
from workflows import services
from workflows.api import serializers as s
from workflows.models import Workflow, WorkflowRun


class WorkflowListView(OrgScopedMixin, generics.ListAPIView):
    queryset = Workflow.objects.all()
    serializer_class = s.WorkflowSerializer

    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], summary="Order-management workflows")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], request=s.WorkflowWriteSerializer,
                   responses={201: s.WorkflowDetailSerializer, 400: ERROR},
                   summary="Create a workflow; the response carries its webhook signing secret (only here)")
    def post(self, request):
        body = s.WorkflowWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kwargs = body.to_service_kwargs()
        if not kwargs.get("name"):
            raise serializers.ValidationError({"name": ["This field is required."]})
        workflow = services.workflow_create(org=request.org, **kwargs)
        return Response({**s.WorkflowDetailSerializer(workflow).data, "signingSecret": workflow.signing_secret},
                        status=status.HTTP_201_CREATED)


class WorkflowDetailView(APIView):
    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], responses={200: s.WorkflowDetailSerializer,
                                                                             404: ERROR},
                   summary="One workflow with its recent runs")
    def get(self, request, name: str):
        return Response(s.WorkflowDetailSerializer(services.workflow_get(org=request.org, name=name)).data)

    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], request=s.WorkflowWriteSerializer,
                   responses={200: s.WorkflowDetailSerializer, 400: ERROR, 404: ERROR},
                   summary="Replace a workflow (its name stays; the secret only changes when given)")
    def put(self, request, name: str):
        services.workflow_get(org=request.org, name=name)  # 404 before validation errors
        body = s.WorkflowWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kwargs = body.to_service_kwargs()
        kwargs.pop("name", None)
        workflow = services.workflow_update(org=request.org, name=name, **kwargs)
        return Response(s.WorkflowDetailSerializer(workflow).data)

    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], responses={204: None, 404: ERROR},
                   summary="Delete a workflow and its run history")
    def delete(self, request, name: str):
        services.workflow_delete(org=request.org, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowRunsView(OrgScopedMixin, generics.ListAPIView):
    queryset = WorkflowRun.objects.select_related("order")
    serializer_class = s.RunSerializer

    @extend_schema(tags=["workflows"], parameters=[ORG_HEADER], summary="Every run of one workflow, newest first")
    def get(self, request, *args, **kwargs):
        services.workflow_get(org=request.org, name=kwargs["name"])
        return super().get(request, *args, **kwargs)

    def scope_queryset(self, queryset):
        return queryset.filter(workflow__name=self.kwargs["name"]).order_by("-created_at", "-id")
