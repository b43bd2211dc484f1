from rest_framework import serializers

from accounts.models import Membership, Org


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
