"""Text the database can store: PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates."""

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str, limit: int | None = None) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (error messages quote channel data)."""
    text = UNSTORABLE.sub("\ufffd", text)
    return text[:limit] if limit is not None else text


def storable_data(value):
    """`value` (JSON-shaped: dicts, lists, strings) with `storable_text` applied to every string and key."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(key) if isinstance(key, str) else key: storable_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_data(item) for item in value]
    return value
