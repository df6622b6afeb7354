"""Page N of the raw rows from the daily order counts: the keyset cursor that starts at row N's day,
and how many rows of that day to skip (checked against plain list slicing of the same rows)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from chatdash.dashboard import paging
from chatdash.sales import PeriodRevenue, RowCursor

Row = tuple[dt.date, int]


def rows_and_days(seed: int) -> tuple[list[Row], list[PeriodRevenue]]:
    """Rows (date, order id) over 30 days, some days empty, ids not in date order; their day counts."""
    draw = random.Random(seed)
    ids = draw.sample(range(1, 10_000), 400)
    rows = sorted(
        (dt.date(2020, 1, 1) + dt.timedelta(days=draw.choice([*range(30), 3, 3, 3])), i) for i in ids
    )
    counts: dict[dt.date, int] = {}
    for day, _ in rows:
        counts[day] = counts.get(day, 0) + 1
    days = [PeriodRevenue(day, Decimal(0), n) for day, n in sorted(counts.items())]
    return rows, days


def after(rows: list[Row], cursor: RowCursor | None, newest_first: bool) -> list[Row]:
    """What the query layer's keyset condition keeps, in page order."""
    ordered = sorted(rows, reverse=newest_first)
    if cursor is None:
        return ordered
    key = (cursor.order_date, cursor.order_id)
    return [row for row in ordered if (row < key if newest_first else row > key)]


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_offset_lands_on_its_row(seed: int, newest_first: bool) -> None:
    rows, days = rows_and_days(seed)
    in_order = sorted(rows, reverse=newest_first)
    for offset in range(len(rows)):
        cursor, skip = paging.locate(days, offset, newest_first)
        assert after(rows, cursor, newest_first)[skip] == in_order[offset], offset
        assert skip < max(day.orders for day in days)  # never more than one day's rows to skip


def test_the_first_day_needs_no_cursor_and_empty_days_are_skipped() -> None:
    days = [
        PeriodRevenue(dt.date(2020, 1, 1), Decimal(1), 2),
        PeriodRevenue(dt.date(2020, 1, 2), Decimal(0), 0),
        PeriodRevenue(dt.date(2020, 1, 5), Decimal(1), 3),
    ]
    assert paging.locate(days, 1, newest_first=False) == (None, 1)
    assert paging.locate(days, 2, newest_first=False) == (RowCursor(dt.date(2020, 1, 4), 2**63 - 1), 0)
    assert paging.locate(days, 0, newest_first=True) == (None, 0)
    assert paging.locate(days, 4, newest_first=True) == (RowCursor(dt.date(2020, 1, 2), -(2**63 - 1)), 1)
    assert paging.locate([], 0, newest_first=False) == (None, 0)


@pytest.mark.parametrize(("total", "size", "pages"), [(0, 50, 1), (1, 50, 1), (50, 50, 1), (51, 50, 2)])
def test_page_count(total: int, size: int, pages: int) -> None:
    assert paging.page_count(total, size) == pages
