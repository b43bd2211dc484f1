"""Text the database can store: PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates."""

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str, limit: int | None = None) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (error messages quote channel data)."""
    text = UNSTORABLE.sub("\ufffd", text)
    return text[:limit] if limit is not None else text
