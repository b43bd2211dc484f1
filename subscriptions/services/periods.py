"""Calendar arithmetic for billing periods (months keep their day, clamped at month end)."""

from datetime import datetime

from dateutil.relativedelta import relativedelta

from subscriptions.models import Interval

_STEP = {Interval.DAY: "days", Interval.WEEK: "weeks", Interval.MONTH: "months", Interval.YEAR: "years"}


def period_end(start: datetime, *, interval: str, count: int) -> datetime:
    return start + relativedelta(**{_STEP[Interval(interval)]: count})
