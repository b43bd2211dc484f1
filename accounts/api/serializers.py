from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Membership, Org
from accounts.services import refresh_token_rotate


class MembershipSerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.slug")
    orgName = serializers.CharField(source="org.name")

    class Meta:
        model = Membership
        fields = ["org", "orgName", "role"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    name = serializers.CharField(source="get_full_name")
    memberships = MembershipSerializer(many=True)


class OrgSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Org
        fields = ["slug", "name", "role", "createdAt"]

    def get_role(self, org) -> str:
        return self.context["membership"].role


class OrgUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=False, trim_whitespace=True)


class RotatingRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, with the spend of the old token made atomic (accounts.services.refresh_token_rotate)."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, type, blacklist
        user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first() if user_id else None
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        return refresh_token_rotate(refresh)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The caller's refresh token, to revoke.")

    def validate_refresh(self, value):
        try:
            token = RefreshToken(value)
        except TokenError as exc:
            raise serializers.ValidationError("Not a valid refresh token.") from exc
        if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(self.context["user"].pk):
            raise serializers.ValidationError("Not a refresh token of the caller.")
        return token


class StorefrontKeySerializer(serializers.Serializer):
    """A storefront key as listed: named by its prefix, never usable from what is shown."""

    prefix = serializers.CharField()
    name = serializers.CharField()
    createdBy = serializers.CharField(source="created_by.username", default="", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class StorefrontKeyCreatedSerializer(StorefrontKeySerializer):
    key = serializers.CharField(help_text="The full key: shown in this answer only, stored nowhere.")


class StorefrontKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, trim_whitespace=True)
