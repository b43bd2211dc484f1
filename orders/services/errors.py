"""Errors the order services raise; the API renders them as {"error": {code, message, details}}."""

from core.api.exceptions import ApiError, Conflict


class InvalidTransition(Conflict):
    default_code = "invalid_transition"

    def __init__(self, *, verb: str, current: str, allowed: list[str]):
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"Cannot {verb} an order that is {current}; allowed from {current}: {allowed_text}.",
            details={"verb": verb, "currentState": current, "allowedVerbs": allowed},
        )


class InsufficientStock(Conflict):
    default_code = "insufficient_stock"

    def __init__(self, short: list[dict]):
        self.short = short
        skus = [row["sku"] for row in short]
        super().__init__(f"Not enough stock for: {', '.join(skus)}.", details={"skus": skus, "lines": short})

    def without_counts(self) -> "InsufficientStock":
        """The same refusal without `available`: a stranger learns which SKU is short, never how many are
        left (issue 15, item 4); staff and in-process callers keep the count."""
        return InsufficientStock([{k: v for k, v in row.items() if k != "available"} for row in self.short])


class IdempotencyMismatch(Conflict):
    """The Idempotency-Key was first used with another request body (Stripe answers the same way)."""

    default_code = "idempotency_mismatch"
    default_detail = "This Idempotency-Key was already used with a different request body."


class PricesChanged(Conflict):
    """A price or a checkout rule changed between the payment's verification and the order's creation."""

    default_code = "prices_changed"

    def __init__(self, *, verified, now, currency: str):
        super().__init__(f"The order total changed while checking out ({verified} -> {now} {currency}); "
                         "nothing was ordered. Check out again.",
                         details={"verifiedTotal": str(verified), "total": str(now), "currency": currency})


class OrderLocked(Conflict):
    default_code = "order_locked"


class InvalidRequest(ApiError):
    """400 with field errors in details, like a serializer validation error."""

    default_code = "invalid"

    def __init__(self, message: str, *, field: str, errors: list[str] | str):
        errors = [errors] if isinstance(errors, str) else errors
        super().__init__(message, details={field: errors})
