"""Request and response shapes for workflows (camelCase written out)."""

import ipaddress
from decimal import Decimal
from urllib.parse import urlsplit

from rest_framework import serializers

from core.outbound import OutboundURLRefused, check_outbound_url
from orders.events import EVENT_NAMES
from workflows.actions import email_template_dir
from workflows.models import ACTION_TYPES

MAX_DELAY_SECONDS = 90 * 24 * 3600


class ConditionsSerializer(serializers.Serializer):
    channel = serializers.CharField(max_length=32, required=False, allow_blank=True, default="",
                                    source="condition_channel", help_text="The order's source, e.g. storefront")
    tag = serializers.CharField(max_length=64, required=False, allow_blank=True, default="", source="condition_tag")
    totalAtLeast = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False,
                                            allow_null=True, default=None, source="condition_total_at_least")


class ActionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ACTION_TYPES)
    template = serializers.RegexField(r"^[a-z0-9_-]{1,64}$", required=False, help_text="email: a template name")
    url = serializers.URLField(max_length=500, required=False, help_text="webhook: an https URL")
    tag = serializers.CharField(max_length=64, required=False, help_text="tag: the tag to add")

    def validate(self, data):
        kind = data["type"]
        needed = {"email": "template", "webhook": "url", "tag": "tag"}[kind]
        if not data.get(needed):
            raise serializers.ValidationError({needed: f"Required for a {kind} action."})
        if kind == "email" and email_template_dir(data["template"]) is None:
            raise serializers.ValidationError({"template": f"No email template named {data['template']!r}."})
        if kind == "webhook":
            _check_webhook_url(data["url"])
        return {"type": kind, needed: data[needed]}


def _check_webhook_url(url: str) -> None:
    """At save time only what needs no DNS: scheme, and literal private addresses or localhost.
    Every address the host resolves to is checked again before each delivery."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = host == "localhost" or host.endswith(".localhost")
    try:
        if literal:
            check_outbound_url(url)
        elif urlsplit(url).scheme not in {"http", "https"}:
            raise OutboundURLRefused("only http(s) URLs are allowed")
    except OutboundURLRefused as exc:
        raise serializers.ValidationError({"url": f"Refused: {exc}."})


class WorkflowWriteSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=64, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)
    trigger = serializers.ChoiceField(choices=sorted(EVENT_NAMES), source="trigger_event")
    conditions = ConditionsSerializer(required=False, default=dict)
    delaySeconds = serializers.IntegerField(min_value=0, max_value=MAX_DELAY_SECONDS, required=False, default=0,
                                            source="delay_seconds")
    actions = ActionSerializer(many=True, allow_empty=False)
    signingSecret = serializers.CharField(min_length=16, max_length=100, required=False, write_only=True,
                                          source="signing_secret",
                                          help_text="Webhook HMAC key; generated (and returned once) when omitted.")

    def validate(self, attrs):
        if attrs.get("trigger_event", "").startswith("channel_order."):
            kinds = {action.get("type") for action in attrs.get("actions") or []} - {"webhook"}
            if kinds:
                raise serializers.ValidationError({"actions": [
                    f"A channel order event has no storefront order to {'/'.join(sorted(kinds))}: "
                    "use webhook actions."]})
        return attrs

    def to_service_kwargs(self) -> dict:
        """Flatten conditions; absent ones are cleared (PUT replaces the whole rule)."""
        data = dict(self.validated_data)
        conditions = {"condition_channel": "", "condition_tag": "", "condition_total_at_least": None}
        conditions.update(data.pop("conditions", None) or {})
        return {**data, **conditions}


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orderNumber = serializers.SerializerMethodField(help_text="The storefront order's number; for a channel order "
                                                              "event, the channel order number.")
    event = serializers.CharField()
    status = serializers.CharField()
    scheduledFor = serializers.DateTimeField(source="scheduled_for")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    results = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")

    def get_orderNumber(self, run) -> str | None:
        if run.order_id:
            return run.order.order_number
        return (run.event_payload or {}).get("order_number") or None


class WorkflowSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    trigger = serializers.CharField(source="trigger_event")
    conditions = serializers.SerializerMethodField()
    delaySeconds = serializers.IntegerField(source="delay_seconds")
    actions = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_conditions(self, workflow) -> dict:
        total = workflow.condition_total_at_least
        return {"channel": workflow.condition_channel, "tag": workflow.condition_tag,
                "totalAtLeast": None if total is None else f"{total:.2f}"}


class WorkflowDetailSerializer(WorkflowSerializer):
    recentRuns = serializers.SerializerMethodField()

    def get_recentRuns(self, workflow) -> list[dict]:
        runs = workflow.runs.select_related("order").order_by("-created_at", "-id")[:20]
        return RunSerializer(runs, many=True).data
