"""The page's only way to the data: the query layer behind Streamlit's caches.

Each function caches its result per argument set (a filter is a frozen, normalised dataclass, so
equal filters share an entry) for ``TTL``: reruns, other visitors and tab switches reuse it, and
fresh data shows up within a minute or at once with the page's Refresh button (``clear``).
Errors are never cached: a database that comes back is used on the next rerun.
The engine (one connection pool per process) is a cached resource.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st
from sqlalchemy import Engine

from chatdash import sales
from chatdash.config import get_settings
from chatdash.dashboard import paging
from chatdash.db.engine import get_engine
from chatdash.sales import DateRange, Granularity, Overview, PeriodRevenue, RowCursor, RowsPage, SalesFilter

TTL = dt.timedelta(seconds=60)
_ROW_PAGES = 64
"""Raw-data pages kept (up to ``MAX_PAGE_SIZE`` rows each); aggregates are small, pages are not."""
_SKIP_BATCH = 5_000
"""Rows read at a time while skipping to a page inside a day (the query layer's pages hold 10,000 at most)."""


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    return get_engine(get_settings())


@st.cache_data(ttl=TTL, show_spinner=False)
def span() -> DateRange | None:
    """First and last order date; None when there are no orders."""
    return sales.date_range(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def categories() -> list[str]:
    return sales.categories(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def products() -> list[str]:
    return sales.product_names(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def overview(flt: SalesFilter) -> Overview:
    """Key metrics, revenue by category and the product ranking: one rollup query for three parts."""
    return sales.overview(engine(), flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def series(flt: SalesFilter, granularity: Granularity) -> list[PeriodRevenue]:
    return sales.revenue_over_time(engine(), flt, granularity)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=_ROW_PAGES)
def rows_page(flt: SalesFilter, after: RowCursor | None, limit: int, newest_first: bool) -> RowsPage:
    return sales.raw_rows(engine(), flt, after=after, limit=limit, newest_first=newest_first)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=_ROW_PAGES)
def page_start(flt: SalesFilter, newest_first: bool, offset: int) -> RowCursor | None:
    """The cursor that pages from row ``offset`` (from 0, in page order): ``paging.locate`` on the day
    series, then the rows of that day before it read and skipped."""
    cursor, skip = paging.locate(series(flt, "day"), offset, newest_first)
    while skip > 0:
        batch = sales.raw_rows(
            engine(), flt, after=cursor, limit=min(skip, _SKIP_BATCH), newest_first=newest_first
        )
        if not batch.rows:
            break
        last = batch.rows[-1]
        cursor = RowCursor(last.order_date, last.order_id)
        skip -= len(batch.rows)
    return cursor


def clear() -> None:
    """Forget every cached result (the Refresh button); the engine stays."""
    for cached in (span, categories, products, overview, series, rows_page, page_start):
        cached.clear()
