"""Every query-layer function against an independent Polars computation over the same rows,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest

from chatdash import sales
from chatdash.errors import QueryError
from chatdash.sales import RowCursor, SalesFilter
from tests.conftest import Database, pick

FILTERS = [
    SalesFilter(),
    SalesFilter(dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
    SalesFilter(dt.date(2015, 3, 17), dt.date(2016, 8, 4), ("Office", "Sundry")),
    SalesFilter(dt.date(2020, 2, 10), dt.date(2020, 2, 20), ("Electronics",)),
    SalesFilter(None, dt.date(2011, 5, 15)),
    SalesFilter(dt.date(2023, 11, 30), None, ("Stationery",)),
    SalesFilter(dt.date(2030, 1, 1), dt.date(2030, 12, 31)),  # matches nothing
    SalesFilter(products=("Laptop",)),
    SalesFilter(dt.date(2017, 2, 11), dt.date(2018, 3, 9), products=("Chair", "Pen")),
    SalesFilter(dt.date(2021, 6, 3), dt.date(2021, 6, 20), ("Office",), ("Desk", "Laptop")),
]
IDS = [
    "all",
    "2019",
    "office+sundry-partial-months",
    "10-days",
    "open-start",
    "open-end",
    "empty",
    "laptop",
    "chair+pen-partial-months",
    "office+desk+laptop-days",
]


def money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def select(frame: pl.DataFrame, flt: SalesFilter) -> pl.DataFrame:
    return pick(frame, flt.start, flt.end, flt.categories, flt.products)


def test_date_range_and_categories(loaded: Database, sample_frame: pl.DataFrame) -> None:
    span = sales.date_range(loaded.engine)
    assert span is not None
    assert (span.start, span.end) == (sample_frame["order_date"].min(), sample_frame["order_date"].max())
    assert sales.categories(loaded.engine) == sorted(sample_frame["categories"].unique().to_list())
    assert sales.product_names(loaded.engine) == sorted(sample_frame["product_names"].unique().to_list())


@pytest.mark.parametrize("flt", FILTERS, ids=IDS)
def test_key_metrics(loaded: Database, sample_frame: pl.DataFrame, flt: SalesFilter) -> None:
    rows = select(sample_frame, flt)
    metrics = sales.key_metrics(loaded.engine, flt)
    revenue = int(rows["revenue"].sum())
    assert metrics.total_revenue == money(revenue)
    assert metrics.orders == rows["order_id"].n_unique()
    if rows.height:
        expected_aov = (Decimal(revenue) / rows.height / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert metrics.average_order_value == expected_aov
        by_cat = rows.group_by("categories").agg(pl.col("revenue").sum())
        top = by_cat.sort(["revenue", "categories"], descending=[True, False])["categories"][0]
        assert metrics.top_category == top
    else:
        assert metrics.average_order_value is None and metrics.top_category is None
    assert sales.count_orders(loaded.engine, flt) == rows.height


@pytest.mark.parametrize("flt", FILTERS, ids=IDS)
def test_revenue_by_category(loaded: Database, sample_frame: pl.DataFrame, flt: SalesFilter) -> None:
    expected = (
        select(sample_frame, flt)
        .group_by("categories")
        .agg(pl.col("revenue").sum(), pl.len().alias("orders"))
        .sort(["revenue", "categories"], descending=[True, False])
    )
    got = sales.revenue_by_category(loaded.engine, flt)
    assert [(c.category, c.revenue, c.orders) for c in got] == [
        (cat, money(rev), n) for cat, rev, n in expected.iter_rows()
    ]


@pytest.mark.parametrize("flt", FILTERS, ids=IDS)
@pytest.mark.parametrize("n", [10, 3])
def test_top_products(loaded: Database, sample_frame: pl.DataFrame, flt: SalesFilter, n: int) -> None:
    expected = (
        select(sample_frame, flt)
        .group_by("product_id", "product_names", "categories")
        .agg(pl.col("revenue").sum(), pl.col("quantity").sum(), pl.len().alias("orders"))
        .sort(["revenue", "product_names"], descending=[True, False])
        .head(n)
    )
    got = sales.top_products(loaded.engine, flt, n)
    assert [(p.product_id, p.product_name, p.category, p.revenue, p.quantity, p.orders) for p in got] == [
        (pid, name, cat, money(rev), qty, orders) for pid, name, cat, rev, qty, orders in expected.iter_rows()
    ]


@pytest.mark.parametrize("flt", FILTERS, ids=IDS)
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_revenue_over_time(
    loaded: Database, sample_frame: pl.DataFrame, flt: SalesFilter, granularity: str
) -> None:
    rows = select(sample_frame, flt)
    period = {
        "day": pl.col("order_date"),
        "week": pl.col("order_date").dt.truncate("1w"),  # Polars weeks start on Monday
        "month": pl.col("order_date").dt.truncate("1mo"),
    }[granularity]
    expected = (
        rows.group_by(period.alias("period"))
        .agg(pl.col("revenue").sum(), pl.len().alias("orders"))
        .sort("period")
    )
    got = sales.revenue_over_time(loaded.engine, flt, granularity)  # type: ignore[arg-type]
    assert [(p.period, p.revenue, p.orders) for p in got] == [
        (day, money(rev), n) for day, rev, n in expected.iter_rows()
    ]


RAW = [*FILTERS[:4], FILTERS[8]]
RAW_IDS = [*IDS[:4], IDS[8]]


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize("flt", RAW, ids=RAW_IDS)
def test_raw_rows_pages_through_everything(
    loaded: Database, sample_frame: pl.DataFrame, flt: SalesFilter, newest_first: bool
) -> None:
    expected = select(sample_frame, flt).sort(["order_date", "order_id"], descending=newest_first)
    page_size = max(1, expected.height // 4 + 7)
    seen: list[sales.SalesRecord] = []
    cursor: RowCursor | None = None
    pages = 0
    while True:
        page = sales.raw_rows(loaded.engine, flt, after=cursor, limit=page_size, newest_first=newest_first)
        assert page.total == expected.height
        seen.extend(page.rows)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = RowCursor.decode(page.next_cursor.encode())  # survives a round trip through a URL
    assert pages == -(-expected.height // page_size)
    assert [r.order_id for r in seen] == expected["order_id"].to_list()
    first = expected.row(0, named=True)
    record = seen[0]
    assert (record.order_date, record.customer_name, record.product_name, record.category) == (
        first["order_date"],
        first["customer_name"],
        first["product_names"],
        first["categories"],
    )
    assert record.price == money(first["price_cents"]) and record.total == money(first["total_cents"])


def test_iter_rows_streams_every_match(loaded: Database, sample_frame: pl.DataFrame) -> None:
    flt = FILTERS[2]
    batches = list(sales.iter_rows(loaded.engine, flt, batch=1_000))
    assert all(len(b) <= 1_000 for b in batches)
    ids = [r.order_id for batch in batches for r in batch]
    assert ids == select(sample_frame, flt).sort(["order_date", "order_id"])["order_id"].to_list()


def test_bad_questions_are_refused(loaded: Database) -> None:
    with pytest.raises(QueryError, match="before start date"):
        SalesFilter(dt.date(2020, 2, 1), dt.date(2020, 1, 1))
    with pytest.raises(QueryError, match="page size"):
        sales.raw_rows(loaded.engine, limit=0)
    with pytest.raises(QueryError, match="granularity"):
        sales.revenue_over_time(loaded.engine, granularity="year")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="cursor"):
        RowCursor.decode("yesterday")
