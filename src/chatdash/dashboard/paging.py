"""Any page of raw rows by its number, at the cost of the first one; pure Python (no Streamlit).

The query layer pages by keyset (``after`` a row's (order_date, order_id)), so a page costs the same
however deep it is, but page N cannot be asked for by number: OFFSET would read and drop every row
before it. The daily rollup knows how many orders each day holds, though (the time series at day
grain, which the page caches anyway), so ``locate`` finds the day that row ``offset`` falls on, and a
cursor that starts exactly at that day; only the rows of that one day before the page are read and
skipped (``data.page_start``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from chatdash.sales import PeriodRevenue, RowCursor

_BEYOND = 2**63 - 1
"""An order id past any real one: (day before, _BEYOND) is just before a day's first row; (day after,
-_BEYOND) just before its newest one, newest first."""


def page_count(total: int, page_size: int) -> int:
    """Pages of ``page_size`` rows for ``total`` rows; one (empty) page when there are none."""
    return max(1, math.ceil(total / page_size))


def locate(days: Sequence[PeriodRevenue], offset: int, newest_first: bool) -> tuple[RowCursor | None, int]:
    """Where row ``offset`` (from 0, in page order) is: a keyset cursor just before the first row of its
    day (None: from the very first row), and how many rows of that day come before it.

    ``days`` are the orders per day of the filter, oldest first (days without orders may be left out).
    An offset past the last row is located on the last day, after all of its rows.
    """
    ordered = [day for day in (reversed(days) if newest_first else days) if day.orders > 0]
    before = 0
    for index, day in enumerate(ordered):
        if offset < before + day.orders or index == len(ordered) - 1:
            if index == 0:
                return None, offset
            if newest_first:
                return RowCursor(day.period + dt.timedelta(days=1), -_BEYOND), offset - before
            return RowCursor(day.period - dt.timedelta(days=1), _BEYOND), offset - before
        before += day.orders
    return None, offset
