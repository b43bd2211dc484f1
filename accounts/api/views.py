from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.api.serializers import MeSerializer, OrgSerializer, OrgUpdateSerializer
from accounts.models import Role
from accounts.permissions import IsAuthenticatedNoOrg
from accounts.services import org_rename

ORG_HEADER_PARAM = OpenApiParameter("orgid", str, OpenApiParameter.HEADER, required=True,
                                    description="Slug of the org the request acts on.")


class TokenView(TokenObtainPairView):
    """Exchange a username and password for an access token (15 min) and a refresh token."""

    permission_classes = [AllowAny]
    throttle_scope = "auth"
    documented_errors = ("401",)  # wrong credentials (core.api.schema)


class TokenRefreshRotatingView(TokenRefreshView):
    """A refresh token is good once: the answer carries a new one and the old one is blacklisted."""

    permission_classes = [AllowAny]
    throttle_scope = "auth"
    documented_errors = ("401",)  # expired, invalid or already used refresh token


class MeView(APIView):
    permission_classes = [IsAuthenticatedNoOrg]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(MeSerializer({
            "id": user.id, "username": user.username, "email": user.email,
            "get_full_name": user.get_full_name(), "memberships": user.memberships.select_related("org"),
        }).data)


class OrgView(APIView):
    """The org named by the `orgid` header, with the caller's role in it; owners may rename it."""

    write_role = Role.OWNER  # renaming the org is the owner's call; reading it is every member's

    @extend_schema(parameters=[ORG_HEADER_PARAM], responses=OrgSerializer)
    def get(self, request):
        return Response(OrgSerializer(request.org, context={"membership": request.membership}).data)

    @extend_schema(parameters=[ORG_HEADER_PARAM], request=OrgUpdateSerializer, responses=OrgSerializer)
    def patch(self, request):
        serializer = OrgUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = org_rename(org=request.org, name=serializer.validated_data["name"])
        return Response(OrgSerializer(org, context={"membership": request.membership}).data)
