"""Calendar arithmetic for billing periods (months keep their day, clamped at month end)."""

from datetime import datetime

from dateutil.relativedelta import relativedelta

from subscriptions.models import Interval

_STEP = {Interval.DAY: "days", Interval.WEEK: "weeks", Interval.MONTH: "months", Interval.YEAR: "years"}


def period_end(start: datetime, *, interval: str, count: int) -> datetime:
    return start + relativedelta(**{_STEP[Interval(interval)]: count})


def current_period_start(anchor: datetime, *, interval: str, count: int, now: datetime) -> datetime:
    """The start of the period, on `anchor`'s cadence, that `now` falls in (`anchor` itself when the first
    period has not ended yet). Each start is counted from the anchor (Jan 31, Feb 28, Mar 31), so skipping
    many periods drifts no day."""
    step = _STEP[Interval(interval)]
    start, n = anchor, 0
    while True:
        following = anchor + relativedelta(**{step: count * (n + 1)})
        if following > now:
            return start
        start, n = following, n + 1
