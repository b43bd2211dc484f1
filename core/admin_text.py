"""Plain words for staff screens: error details and change messages are JSON-shaped data (lists, dicts), and
Python's repr of them ("['...']", "{'sku': ...}") is not something to show a person."""

from __future__ import annotations

# Details that only repeat, as codes, what the error's message already says in words.
REPEATED_DETAILS = {"verb", "currentState", "allowedVerbs", "allowed", "lines"}


def plain(value, sep: str = ", ") -> str:
    """A JSON-shaped value as text: lists joined with `sep`, dicts as "key value, ...", None as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key} {plain(item)}".strip() for key, item in value.items())
    if isinstance(value, list | tuple | set):
        return sep.join(text for text in (plain(item) for item in value) if text)
    return str(value)


def error_text(exc) -> str:
    """An ApiError (or any exception) as one readable sentence: its message, then each field's errors."""
    message = str(getattr(exc, "detail", "") or exc).strip()
    details = getattr(exc, "details", None) or {}
    parts = [f"{field}: {plain(errors, sep='; ')}" for field, errors in details.items()
             if field not in REPEATED_DETAILS and plain(errors)]
    return " ".join([message, *parts]).strip()


def change_message(verb: str, *, from_status: str = "", to_status: str = "", data: dict | None = None) -> str:
    """What the History page shows for a state change: the verb, the states and the verb's data in words,
    e.g. "Ship: processing to shipped. carrier: ups; trackingNumber: 1Z...; items: SNK-1 2"."""
    text = verb.replace("-", " ").capitalize()
    if from_status and to_status and from_status != to_status:
        text += f": {from_status} to {to_status}"
    elif to_status:
        text += f" (stays {to_status})"
    shown = {key: value for key, value in (data or {}).items() if value not in (None, "", [], {})}
    if shown:
        text += ". " + "; ".join(f"{key}: {plain(value)}" for key, value in shown.items())
    return text
