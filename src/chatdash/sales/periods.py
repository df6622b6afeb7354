"""Calendar arithmetic for rollup grains and time-series buckets (pure Python, exact)."""

from __future__ import annotations

import datetime as dt

from chatdash.sales.types import Granularity


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    return next_month(day) - dt.timedelta(days=1)


def bucket(day: dt.date, granularity: Granularity) -> dt.date:
    """First day of the period holding ``day``: itself, its ISO week's Monday, or its month's 1st."""
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def auto_granularity(start: dt.date, end: dt.date) -> Granularity:
    """A readable number of points: days up to a quarter, weeks up to two years, then months."""
    days = (end - start).days + 1
    if days <= 92:
        return "day"
    if days <= 731:
        return "week"
    return "month"


def split_by_month(
    start: dt.date | None, end: dt.date | None
) -> tuple[tuple[dt.date | None, dt.date | None] | None, list[tuple[dt.date, dt.date]]]:
    """Split an inclusive date range into whole months and leftover day ranges.

    Returns ``(months, days)``: ``months`` is the (first, last) month start to read from the
    monthly grain (None ends are open; None overall when no whole month fits) and ``days`` the
    inclusive day ranges to read from the daily grain.
    """
    first_month = start if start is None or start.day == 1 else next_month(start)
    if end is None:
        last_month: dt.date | None = None
    elif month_end(end) == end:
        last_month = month_start(end)
    else:
        last_month = month_start(month_start(end) - dt.timedelta(days=1))
    if first_month is not None and last_month is not None and first_month > last_month:
        assert start is not None and end is not None
        return None, [(start, end)]
    days: list[tuple[dt.date, dt.date]] = []
    if start is not None and first_month is not None and start < first_month:
        days.append((start, first_month - dt.timedelta(days=1)))
    if end is not None and last_month is not None and end > month_end(last_month):
        days.append((next_month(last_month), end))
    return (first_month, last_month), days
