"""Order workflows: a named rule (event, conditions, delay, actions) and one recorded run per
workflow, order and event. The unique run row is what makes a workflow fire at most once even
when the event is delivered twice."""

import secrets

from django.db import models

from accounts.models import Org
from core.fields import EncryptedTextField
from orders.events import EVENT_NAMES
from orders.models import MONEY, Order

ACTION_TYPES = ("email", "webhook", "tag")


def new_signing_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class Workflow(models.Model):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="workflows")
    name = models.SlugField(max_length=64)
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    trigger_event = models.CharField(max_length=64, choices=[(name, name) for name in sorted(EVENT_NAMES)])
    condition_channel = models.CharField(max_length=32, blank=True, help_text="Order source, e.g. storefront")
    condition_tag = models.CharField(max_length=64, blank=True)
    condition_total_at_least = models.DecimalField(**MONEY, null=True, blank=True)
    delay_seconds = models.PositiveIntegerField(default=0)
    # [{"type": "email", "template": ...} | {"type": "webhook", "url": ...} | {"type": "tag", "tag": ...}]
    actions = models.JSONField(default=list)
    # Encrypted at rest like channel secrets (core.fields; `rotate_field_keys` re-encrypts it): a database dump
    # must not let anyone sign webhooks the merchant's endpoint trusts.
    signing_secret = EncryptedTextField(default=new_signing_secret,
                                        help_text="HMAC-SHA256 key of the webhook signature header")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "workflows"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="workflow_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name


class WorkflowRun(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    OPEN = (Status.SCHEDULED, Status.RETRYING)

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    # A channel order event (channel_order.*) runs without a storefront order: `subject` names what it is about
    # (the channel order, its new status, the writeback) and the payload carries the channel order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="workflow_runs", null=True, blank=True)
    subject = models.CharField(max_length=100, blank=True, default="")
    event = models.CharField(max_length=64)
    event_payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    scheduled_for = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # One entry per action: {"type", "outcome": done|failed|pending, "error", "attempts": [...]}
    results = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "workflow runs"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "order", "event"], name="workflow_run_once"),
                       models.UniqueConstraint(fields=["workflow", "subject", "event"], condition=~models.Q(subject=""),
                                               name="workflow_run_once_per_subject")]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.order_id or self.subject}/{self.event}: {self.status}"
