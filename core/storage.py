"""Database storage choices that migrations apply where the server supports them."""

from __future__ import annotations


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
