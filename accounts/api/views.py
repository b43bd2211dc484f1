from drf_spectacular.utils import OpenApiParameter, extend_schema
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
)
from accounts.models import Role
from accounts.permissions import IsAuthenticatedNoOrg
from accounts.services import org_rename, refresh_token_spend

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
