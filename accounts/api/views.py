from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.api.serializers import (
    LogoutSerializer,
    MeSerializer,
    OrgSerializer,
    OrgUpdateSerializer,
    RotatingRefreshSerializer,
    StorefrontKeyCreatedSerializer,
    StorefrontKeyCreateSerializer,
    StorefrontKeySerializer,
)
from accounts.models import Role, StorefrontApiKey
from accounts.permissions import IsAuthenticatedNoOrg
from accounts.services import org_rename, refresh_token_spend
from accounts.storefront_keys import storefront_key_create, storefront_key_revoke

ORG_HEADER_PARAM = OpenApiParameter("orgid", str, OpenApiParameter.HEADER, required=True,
                                    description="Slug of the org the request acts on.")


class TokenView(TokenObtainPairView):
    """Exchange a username and password for an access token (15 min) and a refresh token."""

    permission_classes = [AllowAny]
    throttle_scope = "auth"
    documented_errors = ("401",)  # wrong credentials (core.api.schema)


class TokenRefreshRotatingView(TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token.

    A refresh token is good once: the answer carries a new one and the old one is blacklisted (atomically,
    so of concurrent refreshes of one token exactly one succeeds)."""

    serializer_class = RotatingRefreshSerializer
    permission_classes = [AllowAny]
    throttle_scope = "auth"
    documented_errors = ("401",)  # expired, invalid or already used refresh token


class LogoutView(APIView):
    permission_classes = [IsAuthenticatedNoOrg]
    throttle_scope = "auth"

    @extend_schema(request=LogoutSerializer, responses={204: None}, summary="Log out: revoke a refresh token",
                   description="Blacklists the caller's refresh token (sent in the body; the request itself carries "
                               "the access token) so it can mint no new access token. 400 for a malformed, expired "
                               "or already revoked token, or one of another user. The access token stays valid "
                               "until it expires (15 minutes).")
    def post(self, request):
        serializer = LogoutSerializer(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        refresh_token_spend(serializer.validated_data["refresh"])
        return Response(status=204)


class MeView(APIView):
    permission_classes = [IsAuthenticatedNoOrg]

    @extend_schema(responses=MeSerializer, summary="Who am I: the caller and their org memberships",
                   description="The logged-in user with every org they belong to and their role there; "
                               "an org's slug is what the `orgid` header takes.")
    def get(self, request):
        user = request.user
        return Response(MeSerializer({
            "id": user.id, "username": user.username, "email": user.email,
            "get_full_name": user.get_full_name(), "memberships": user.memberships.select_related("org"),
        }).data)


class OrgView(APIView):
    """The org named by the `orgid` header, with the caller's role in it; owners may rename it."""

    write_role = Role.OWNER  # renaming the org is the owner's call; reading it is every member's

    @extend_schema(parameters=[ORG_HEADER_PARAM], responses=OrgSerializer,
                   summary="The org named by orgid, with your role in it")
    def get(self, request):
        return Response(OrgSerializer(request.org, context={"membership": request.membership}).data)

    @extend_schema(parameters=[ORG_HEADER_PARAM], request=OrgUpdateSerializer, responses=OrgSerializer,
                   summary="Rename the org (owner role)")
    def patch(self, request):
        serializer = OrgUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = org_rename(org=request.org, name=serializer.validated_data["name"])
        return Response(OrgSerializer(org, context={"membership": request.membership}).data)


class StorefrontKeysView(generics.ListAPIView):
    """The org's storefront API keys (owner only): list them, or create one (its full key answered once)."""

    required_role = Role.OWNER
    serializer_class = StorefrontKeySerializer

    @extend_schema(parameters=[ORG_HEADER_PARAM], summary="Owner: the org's storefront keys (prefix only)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StorefrontApiKey.objects.none()
        return StorefrontApiKey.objects.filter(org=self.request.org).select_related("created_by")

    @extend_schema(parameters=[ORG_HEADER_PARAM], request=StorefrontKeyCreateSerializer,
                   responses={201: StorefrontKeyCreatedSerializer},
                   summary="Owner: create a storefront key; the answer holds the full key, shown this once")
    def post(self, request):
        body = StorefrontKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row, key = storefront_key_create(org=request.org, name=body.validated_data["name"], created_by=request.user)
        data = StorefrontKeySerializer(row).data
        return Response({**data, "key": key}, status=status.HTTP_201_CREATED)


class StorefrontKeyRevokeView(APIView):
    required_role = Role.OWNER

    @extend_schema(parameters=[ORG_HEADER_PARAM], request=None, responses={200: StorefrontKeySerializer},
                   summary="Owner: revoke a storefront key (another org's prefix is 404)")
    def post(self, request, prefix: str):
        return Response(StorefrontKeySerializer(storefront_key_revoke(org=request.org, prefix=prefix)).data)
