"""How rows are stored: the column choices migrations apply where the server supports them, and the webhook
receiver's insert (its SQL is here, and only here)."""

from __future__ import annotations

import functools
from typing import Any

from django.db import InterfaceError, OperationalError, connection


def use_lz4_compression(schema_editor, table: str, columns: tuple[str, ...]) -> None:
    """Compress large columns with lz4, about twice as fast to write as PostgreSQL's default pglz.

    PostgreSQL 14+ built with lz4 only; elsewhere (SQLite, older servers) the default stays."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                       "AND 'lz4' = ANY(enumvals)")
        if cursor.fetchone() is None:
            return
        for column in columns:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


class ModelInsert:
    """A model's `INSERT ... RETURNING id` for hot paths, where a model instance per row (and bulk_create's
    machinery, about 1,500 Python calls a statement) costs more than the statement. Its column list is the
    model's own (every concrete field but the primary key, from `_meta`), so a field added to the model is
    written too, with its default, instead of the statement drifting from the table.

    Values are given by field name, as Python values; JSON and datetime fields are prepared for the database
    here (the others go to the driver as they are), and a field not given gets its model default (a callable
    default is called per row).
    """

    def __init__(self, model):
        self.model = model

    @functools.cached_property
    def fields(self) -> tuple:
        return tuple(field for field in self.model._meta.concrete_fields if not field.primary_key)

    @functools.cached_property
    def _columns(self) -> str:
        return ", ".join(field.column for field in self.fields)

    @functools.cached_property
    def _row_placeholders(self) -> str:
        return f"({', '.join(['%s'] * len(self.fields))})"

    def insert_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """One multi-row INSERT in the caller's transaction; the new ids in the order of `rows`."""
        if not rows:
            return []
        meta = self.model._meta
        params: list = []
        for values in rows:
            params += self._params(values)
        sql = (f"INSERT INTO {meta.db_table} ({self._columns}) VALUES "
               f"{', '.join([self._row_placeholders] * len(rows))} RETURNING {meta.pk.column}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    @functools.cached_property
    def _plan(self) -> tuple[frozenset, tuple]:
        """Worked out once: the field names, and per field how its value is prepared and its default (prepared
        here unless it is a callable, called per row)."""
        plan = []
        for field in self.fields:
            kind = field.get_internal_type()
            prepare = (functools.partial(_prepare_json, field) if kind == "JSONField"
                       else _prepare_datetime if kind == "DateTimeField" else None)
            default = field.default if field.has_default() and callable(field.default) else field.get_default()
            if not callable(default) and prepare is not None:
                default = prepare(default)
            plan.append((field.name, prepare, default))
        return frozenset(field.name for field in self.fields), tuple(plan)

    def _params(self, values: dict[str, Any]) -> list:
        names, plan = self._plan
        if not names.issuperset(values):
            raise TypeError(f"{self.model.__name__} has no field {', '.join(sorted(set(values) - names))}")
        params = []
        for name, prepare, default in plan:
            if name in values:
                value = values[name]
                params.append(value if prepare is None else prepare(value))
            elif callable(default):
                value = default()
                params.append(value if prepare is None else prepare(value))
            else:
                params.append(default)
        return params


class InsertIgnoringConflicts(ModelInsert):
    """One model's `INSERT ... ON CONFLICT (<unique fields>) DO NOTHING RETURNING id`, the webhook receiver's single
    statement (channels_sync.services.webhooks.webhook_store), run in autocommit."""

    def __init__(self, model, *, conflict: tuple[str, ...]):
        super().__init__(model)
        self.conflict = conflict

    @functools.cached_property
    def sql(self) -> str:
        meta = self.model._meta
        # An empty `conflict` ignores a conflict on any unique constraint (the receiver has two).
        conflict = ", ".join(meta.get_field(name).column for name in self.conflict)
        target = f"({conflict}) " if conflict else ""
        return (f"INSERT INTO {meta.db_table} ({self._columns}) VALUES {self._row_placeholders} "
                f"ON CONFLICT {target}DO NOTHING RETURNING {meta.pk.column}")

    def insert(self, values: dict[str, Any]) -> int | None:
        """The new row's id; None when a row with the same conflict fields exists (nothing written). Run in
        autocommit, the row is durable when this returns."""
        row = _insert_returning(self.sql, self._params(values))
        return None if row is None else row[0]


def _prepare_json(field, value):
    return field.get_db_prep_save(value, connection)


def _prepare_datetime(value):
    return connection.ops.adapt_datetimefield_value(value)


def _server_bound_cursor():
    """A cursor whose parameters travel apart from the SQL (PostgreSQL server-side binding): a raw body goes as
    bytes rather than as an escaped literal twice its size. Django's wrapper (errors, query capture) stays."""
    cursor = connection.cursor()  # connects, and wraps, as usual
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.base import ServerBindingCursor

        cursor.cursor.close()
        cursor.cursor = ServerBindingCursor(connection.connection)
    return cursor


def _insert_returning(sql: str, params: list):
    """Run one statement without Django's per-request health check (a `SELECT 1` round trip before every
    delivery, a tenth of its cost); a kept connection found dead (a database restart) is replaced and the
    statement run once more. Safe to repeat: a row the first try did store makes the second a duplicate."""
    for last_try in (False, True):
        connection.health_check_done = True  # Django's flag: this request's check is done (or not wanted)
        try:
            with _server_bound_cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except (OperationalError, InterfaceError):
            if last_try or connection.in_atomic_block:
                raise
            connection.close()
