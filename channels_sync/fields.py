"""A JSON column stored as text (PostgreSQL `json`), for documents kept whole and never queried inside.

The raw channel orders are kilobytes each and are only read back whole (writeback, admin); `json`
skips jsonb's binary conversion, which made it the largest single cost of ingest.
"""

from __future__ import annotations

from django.db import models


class TextJSONField(models.JSONField):
    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str | bytes):
            return value  # psycopg already decoded the `json` column
        return super().from_db_value(value, expression, connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor == "postgresql":
            import orjson

            return None if value is None else orjson.dumps(value, default=str).decode()
        return super().get_db_prep_value(value, connection, prepared)
