from __future__ import annotations

import datetime as dt
import random

import pytest

from chatdash.sales.periods import bucket, month_end, split_by_month

FIRST, LAST = dt.date(2019, 11, 1), dt.date(2021, 3, 31)


def covered(start: dt.date | None, end: dt.date | None) -> set[dt.date]:
    """Every day the split reads, each at most once (a day read twice would double-count)."""
    months, days = split_by_month(start, end)
    seen: list[dt.date] = []
    if months is not None:
        first, last = months
        month = first or FIRST.replace(day=1)
        while month <= (last or LAST):
            assert month.day == 1
            day = month
            while day <= month_end(month):
                seen.append(day)
                day += dt.timedelta(days=1)
            month = month_end(month) + dt.timedelta(days=1)
    for a, b in days:
        assert a <= b
        seen.extend(a + dt.timedelta(days=i) for i in range((b - a).days + 1))
    assert len(seen) == len(set(seen))
    return set(seen)


def expected(start: dt.date | None, end: dt.date | None) -> set[dt.date]:
    first, last = start or FIRST, end or LAST
    return {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
        (dt.date(2020, 1, 15), dt.date(2020, 1, 20)),
        (dt.date(2020, 1, 15), dt.date(2020, 3, 10)),
        (dt.date(2020, 1, 31), dt.date(2020, 2, 1)),
        (dt.date(2020, 2, 1), dt.date(2020, 2, 29)),
        (None, dt.date(2020, 6, 15)),
        (dt.date(2020, 6, 15), None),
    ],
)
def test_split_reads_each_day_of_the_range_once(start: dt.date | None, end: dt.date | None) -> None:
    assert covered(start, end) == expected(start, end)


def test_split_random_ranges() -> None:
    rng = random.Random(5)
    span = (LAST - FIRST).days
    for _ in range(300):
        a = FIRST + dt.timedelta(days=rng.randint(0, span))
        b = a + dt.timedelta(days=rng.randint(0, (LAST - a).days))
        assert covered(a, b) == expected(a, b)


def test_buckets() -> None:
    wednesday = dt.date(2020, 1, 1)
    assert bucket(wednesday, "day") == wednesday
    assert bucket(wednesday, "week") == dt.date(2019, 12, 30)
    assert bucket(dt.date(2020, 1, 5), "week") == dt.date(2019, 12, 30)  # Sunday
    assert bucket(dt.date(2020, 2, 29), "month") == dt.date(2020, 2, 1)
