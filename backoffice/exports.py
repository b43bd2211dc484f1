"""CSV export of the order list, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC

from backoffice.selectors import annotate_rows

HEADER = ["number", "channel number", "channel", "placed (UTC)", "customer", "email", "items", "total", "currency",
          "status", "payment", "fulfilment", "writeback", "tags", "test order"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 500


def safe_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading quote
    (OWASP's CSV injection advice). Customer names and tags come from buyers and channels, not from us."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row_cells(row) -> list[str]:
    placed = row.placed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [safe_cell(value) for value in (
        row.number, row.channel_number, row.channel_label, placed, row.customer_name, row.customer_email,
        row.items, f"{row.grand_total:.2f}", row.currency, row.status, row.payment_state, row.fulfilment_state,
        row.writeback, ", ".join(row.tags), "yes" if row.is_test else "")]


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows: Iterable) -> Iterator[str]:
    """The header, then each row, annotated a chunk at a time (a filtered list may be long: it streams)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)  # the BOM makes Excel read UTF-8 names right
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from (writer.writerow(row_cells(r)) for r in annotate_rows(chunk))
            chunk = []
    if chunk:
        yield from (writer.writerow(row_cells(r)) for r in annotate_rows(chunk))
