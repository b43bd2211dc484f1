"""Thin Celery tasks for subscriptions."""

from celery import shared_task


@shared_task(name="subscriptions.tasks.bill_due_subscriptions", ignore_result=True)
def bill_due_subscriptions() -> dict:
    """Beat: bill every due subscription. Safe to run twice or on two workers at once (row locks)."""
    from subscriptions.services import subscriptions_bill_due

    result = subscriptions_bill_due()
    return {"billed": len(result.billed), "retrying": len(result.retrying), "pastDue": len(result.past_due),
            "errors": len(result.errors)}
