"""Dates the API accepts: years 1000-9999, everywhere one is parsed.

Python and PostgreSQL accept year 1, but ISO 8601 / RFC 3339 clients (JavaScript's Date, most JSON libraries)
read `0999-...` as invalid or as another date, so such a value would be stored and answered as something the
caller cannot read back. DRF's DateTimeField and DateField are where every body field and query filter is parsed
(declared fields, ModelSerializer fields, the order-list filters), so the rule is added to them once, at start-up
(`install`, from CoreConfig.ready), instead of in each serializer, where a new field would forget it."""

import datetime

from rest_framework import serializers

MIN_YEAR, MAX_YEAR = 1000, 9999
MESSAGE = f"Dates must lie between the years {MIN_YEAR} and {MAX_YEAR}."


def check_year(value):
    if isinstance(value, datetime.date) and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise serializers.ValidationError(MESSAGE, code="date_out_of_range")
    return value


def _bounded(parse):
    def to_internal_value(self, value):
        if isinstance(value, str) and value.strip()[:1] in {"+", "-"}:  # expanded-year forms (+10000-01-01)
            raise serializers.ValidationError(MESSAGE, code="date_out_of_range")
        return check_year(parse(self, value))

    to_internal_value.bounded = True
    return to_internal_value


def install() -> None:
    for field in (serializers.DateTimeField, serializers.DateField):
        if not getattr(field.to_internal_value, "bounded", False):
            field.to_internal_value = _bounded(field.to_internal_value)
