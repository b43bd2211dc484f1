"""JSON bodies the database can store, or a 400 that says what is wrong.

PostgreSQL refuses NUL (\\u0000) in text and jsonb, UTF-8 has no lone surrogate halves, jsonb has
no Infinity/NaN, and Python's decoder gives up (RecursionError) on deeply nested arrays. Each of
those used to surface as a 500 from whichever view stored the value; here they are refused once,
before any view runs, for every field including free-form ones (addresses, config, metadata).
"""

import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.api.exceptions import ApiError
from core.conf import core_settings
from core.text import UNSTORABLE


class UnstorableJSON(ApiError):
    default_code = "invalid_characters"
    default_detail = "The body holds a value that cannot be stored."


def unstorable_value(data, *, max_depth: int) -> tuple[str, str] | None:
    """(path, reason) of the first value PostgreSQL could not store, else None. Iterative: no recursion."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > max_depth:
            return path or "$", f"nested deeper than {max_depth} levels"
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                return path or "$", "contains a NUL character or a lone surrogate"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return path or "$", "is not a finite number"
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if UNSTORABLE.search(key):
                    reason = "has a NUL character or a lone surrogate in its name"
                    return child.encode("unicode_escape").decode(), reason
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.")
        problem = unstorable_value(data, max_depth=core_settings.MAX_JSON_DEPTH)
        if problem:
            path, reason = problem
            raise UnstorableJSON(f"The value at {path} {reason}.", details={"path": path, "reason": reason})
        return data
