"""Errors of the subscription services, rendered in the API's one error shape."""

from core.api.exceptions import Conflict


class ActionNotAllowed(Conflict):
    default_code = "invalid_transition"

    def __init__(self, *, action: str, current: str, allowed: list[str]):
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"Cannot {action} a subscription that is {current}; allowed from {current}: {allowed_text}.",
            details={"action": action, "currentState": current, "allowedActions": allowed},
        )
