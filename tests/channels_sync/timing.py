"""Letting a scheduled retry come due without waiting for it."""

from django.utils import timezone


def come_due(instance) -> None:
    """Move a Writeback's next_attempt_at / a WebhookDelivery's next_retry_at to now, as the clock would."""
    field = "next_attempt_at" if hasattr(instance, "next_attempt_at") else "next_retry_at"
    type(instance).objects.filter(pk=instance.pk, **{f"{field}__isnull": False}).update(**{field: timezone.now()})
