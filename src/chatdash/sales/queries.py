"""The dashboard's questions (and the chat's), as typed functions over the database.

Aggregates read the rollups (whole months from ``sales_monthly``, the days at the edges of a range
from ``sales_daily``), so their cost follows the number of days and products, not orders; only
raw-row pages touch ``sales_data``, through a keyset index. Revenue is
``price * quantity`` summed in integer cents, so SQLite and PostgreSQL agree to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Table,
    cast,
    extract,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from chatdash.db.engine import connected
from chatdash.db.models import (
    Base,
    SalesDaily,
    SalesDailyCategory,
    SalesMonthly,
    SalesMonthlyCustomer,
    SalesRow,
)
from chatdash.errors import QueryError
from chatdash.sales.frame import FILE_COLUMNS
from chatdash.sales.periods import bucket, split_by_month
from chatdash.sales.rollup import cents, first_of_month, revenue_cents
from chatdash.sales.types import (
    GRANULARITIES,
    CategoryRevenue,
    CustomerTotals,
    DateRange,
    DayTotals,
    Granularity,
    KeyMetrics,
    OrderStats,
    Overview,
    PeriodRevenue,
    ProductRevenue,
    RawGroup,
    RowCursor,
    RowsPage,
    SalesFilter,
    SalesRecord,
    average,
    cents_to_decimal,
)

_daily = Base.metadata.tables[SalesDaily.__tablename__]
_monthly = Base.metadata.tables[SalesMonthly.__tablename__]
_by_category = Base.metadata.tables[SalesDailyCategory.__tablename__]
_raw = Base.metadata.tables[SalesRow.__tablename__]
_customers = Base.metadata.tables[SalesMonthlyCustomer.__tablename__]
Span = tuple[dt.date | None, dt.date | None]
"""An inclusive date range; None is an open end."""
MAX_PAGE_SIZE = 10_000
ALL = SalesFilter()


# -- what is there ---------------------------------------------------------------------------


def date_range(engine: Engine) -> DateRange | None:
    """First and last order date, or None when there are no orders."""
    with connected(engine) as conn:
        first, last = conn.execute(select(func.min(_daily.c.day), func.max(_daily.c.day))).one()
    return DateRange(first, last) if first is not None else None


def categories(engine: Engine) -> list[str]:
    with connected(engine) as conn:
        stmt = select(_daily.c.category).distinct().order_by(_daily.c.category)
        return list(conn.execute(stmt).scalars())


def product_names(engine: Engine) -> list[str]:
    with connected(engine) as conn:
        stmt = select(_daily.c.product_name).distinct().order_by(_daily.c.product_name)
        return list(conn.execute(stmt).scalars())


def count_orders(engine: Engine, flt: SalesFilter = ALL) -> int:
    """Orders (= rows, see ``SalesRow``) matching the filter."""
    with connected(engine) as conn:
        return sum(totals[2] for totals in _product_totals(conn, flt).values())


# -- aggregates --------------------------------------------------------------------------------


_ProductKey = tuple[int, str, str]


def _product_totals(conn: Connection, flt: SalesFilter) -> dict[_ProductKey, list[int]]:
    """(product_id, name, category) -> [revenue_cents, quantity, orders] over the filter.

    Whole months come from the monthly grain, the partial months at the edges from the daily one.
    """
    months, days = split_by_month(flt.start, flt.end)
    parts: list[tuple[Table, list[ColumnElement[bool]]]] = []
    if months is not None:
        within = _within(_monthly.c.month, *months)
        parts.append((_monthly, [within] if within is not None else []))
    if days:
        parts.append((_daily, [or_(*(_daily.c.day.between(a, b) for a, b in days))]))
    totals: dict[_ProductKey, list[int]] = {}
    for table, bounds in parts:
        key = (table.c.product_id, table.c.product_name, table.c.category)
        where = bounds + _names(flt, table)
        stmt = (
            select(
                *key,
                func.sum(table.c.revenue_cents),
                func.sum(table.c.quantity),
                func.sum(table.c.order_count),
            )
            .where(*where)
            .group_by(*key)
        )
        for pid, name, category, revenue, quantity, orders in conn.execute(stmt).all():
            sums = totals.setdefault((pid, name, category), [0, 0, 0])
            sums[0] += int(revenue)
            sums[1] += int(quantity)
            sums[2] += int(orders)
    return totals


def overview(engine: Engine, flt: SalesFilter = ALL) -> Overview:
    """Key metrics, revenue by category and the product ranking, from the rollups."""
    with connected(engine) as conn:
        totals = _product_totals(conn, flt)
    ranked = sorted(totals.items(), key=lambda item: (-item[1][0], item[0][1], item[0][0]))
    products = [
        ProductRevenue(pid, name, category, cents_to_decimal(revenue), quantity, orders)
        for (pid, name, category), (revenue, quantity, orders) in ranked
    ]
    per_category: dict[str, list[int]] = {}
    for (_pid, _name, category), (revenue, _quantity, orders) in totals.items():
        sums = per_category.setdefault(category, [0, 0])
        sums[0] += revenue
        sums[1] += orders
    by_category = [
        CategoryRevenue(category, cents_to_decimal(revenue), orders)
        for category, (revenue, orders) in sorted(
            per_category.items(), key=lambda item: (-item[1][0], item[0])
        )
    ]
    revenue = sum(sums[0] for sums in per_category.values())
    orders = sum(sums[1] for sums in per_category.values())
    metrics = KeyMetrics(
        total_revenue=cents_to_decimal(revenue),
        orders=orders,
        average_order_value=average(revenue, orders),
        top_category=by_category[0].category if by_category else None,
    )
    return Overview(metrics, by_category, products)


def key_metrics(engine: Engine, flt: SalesFilter = ALL) -> KeyMetrics:
    """Total revenue, distinct orders, average order value, top category by revenue."""
    return overview(engine, flt).metrics


def revenue_by_category(engine: Engine, flt: SalesFilter = ALL) -> list[CategoryRevenue]:
    """Categories by revenue, highest first (ties alphabetical)."""
    return overview(engine, flt).by_category


def top_products(engine: Engine, flt: SalesFilter = ALL, n: int = 10) -> list[ProductRevenue]:
    """The ``n`` products with the highest revenue (ties by name)."""
    if n < 1:
        raise QueryError(f"top products needs n >= 1, got {n}")
    return overview(engine, flt).top_products(n)


def revenue_over_time(
    engine: Engine, flt: SalesFilter = ALL, granularity: Granularity = "day"
) -> list[PeriodRevenue]:
    """Revenue and orders per day, ISO week or month, oldest first; empty periods are absent.

    Months read whole months from the monthly grain; days and weeks read the day x category grain
    (weeks are folded here, exactly, in integer cents), or the day x product grain when the filter
    names products.
    """
    if granularity not in GRANULARITIES:
        raise QueryError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    spans: list[Span] = [(flt.start, flt.end)]
    months: Span | None = None
    if granularity == "month":
        months, edges = split_by_month(flt.start, flt.end)
        spans = list(edges)
    days = spans
    series: dict[dt.date, list[int]] = {}
    with connected(engine) as conn:
        if months is not None:
            _add_periods(conn, series, _monthly, _monthly.c.month, [months], flt, granularity)
        if days:
            daily = _daily if flt.products else _by_category
            _add_periods(conn, series, daily, daily.c.day, days, flt, granularity)
    return [
        PeriodRevenue(period, cents_to_decimal(revenue), orders)
        for period, (revenue, orders) in sorted(series.items())
    ]


def _add_periods(
    conn: Connection,
    series: dict[dt.date, list[int]],
    table: Table,
    period: ColumnElement[Any],
    spans: list[Span],
    flt: SalesFilter,
    granularity: Granularity,
) -> None:
    limits = [limit for a, b in spans if (limit := _within(period, a, b)) is not None]
    # An open span (no start, no end) means every period: no date condition at all.
    where = [or_(*limits)] if len(limits) == len(spans) else []
    where += _names(flt, table)
    stmt = (
        select(period, _bigint(func.sum(table.c.revenue_cents)), _bigint(func.sum(table.c.order_count)))
        .where(*where)
        .group_by(period)
        .order_by(period)
    )
    for day, revenue, orders in conn.execute(stmt).all():
        sums = series.setdefault(bucket(day, granularity), [0, 0])
        sums[0] += revenue
        sums[1] += orders


def _names(flt: SalesFilter, table: Table) -> list[ColumnElement[bool]]:
    """The category and product conditions of ``flt`` on a rollup table."""
    where: list[ColumnElement[bool]] = []
    if flt.categories:
        where.append(table.c.category.in_(flt.categories))
    if flt.products:
        where.append(table.c.product_name.in_(flt.products))
    return where


def _within(
    period: ColumnElement[Any], first: dt.date | None, last: dt.date | None
) -> ColumnElement[bool] | None:
    """``first <= period <= last`` with open ends; None when both ends are open."""
    if first and last:
        return period.between(first, last)
    if first:
        return period >= first
    if last:
        return period <= last
    return None


def _bigint(total: ColumnElement[Any]) -> ColumnElement[int]:
    """SUM of BIGINT is NUMERIC on PostgreSQL; cents fit in BIGINT, and ints travel faster."""
    return cast(total, BigInteger)


# -- raw rows ----------------------------------------------------------------------------------


def raw_rows(
    engine: Engine,
    flt: SalesFilter = ALL,
    *,
    after: RowCursor | None = None,
    limit: int = 50,
    newest_first: bool = False,
) -> RowsPage:
    """One page of matching rows, sorted by (order_date, order_id), with the total count.

    Keyset paging: pass the previous page's ``next_cursor`` as ``after``. Each page costs the same
    however deep it is, unlike OFFSET.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QueryError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    with connected(engine) as conn:
        rows = _page(conn, flt, after, limit + 1, newest_first)
        total = sum(totals[2] for totals in _product_totals(conn, flt).values())
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = RowCursor(rows[-1].order_date, rows[-1].order_id) if more else None
    return RowsPage(rows, total, cursor)


def iter_rows(
    engine: Engine, flt: SalesFilter = ALL, *, batch: int = 10_000, newest_first: bool = False
) -> Iterator[list[SalesRecord]]:
    """Every matching row, a batch at a time, in page order (for streamed exports)."""
    after: RowCursor | None = None
    while True:
        with connected(engine) as conn:
            rows = _page(conn, flt, after, batch, newest_first)
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = RowCursor(rows[-1].order_date, rows[-1].order_id)


def _page(
    conn: Connection, flt: SalesFilter, after: RowCursor | None, limit: int, newest_first: bool
) -> list[SalesRecord]:
    key = tuple_(_raw.c.order_date, _raw.c.order_id)
    stmt = select(*[_raw.c[name] for name in FILE_COLUMNS]).where(*_raw_where(flt))
    if after is not None:
        position = tuple_(after.order_date, after.order_id)
        stmt = stmt.where(key < position if newest_first else key > position)
    if newest_first:
        stmt = stmt.order_by(_raw.c.order_date.desc(), _raw.c.order_id.desc())
    else:
        stmt = stmt.order_by(_raw.c.order_date, _raw.c.order_id)
    return [SalesRecord(*row) for row in conn.execute(stmt.limit(limit)).all()]


def _where(
    flt: SalesFilter, day: ColumnElement[Any], category: ColumnElement[Any], product: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if flt.start:
        clauses.append(day >= flt.start)
    if flt.end:
        clauses.append(day <= flt.end)
    if flt.categories:
        clauses.append(category.in_(flt.categories))
    if flt.products:
        clauses.append(product.in_(flt.products))
    return clauses


def _raw_where(flt: SalesFilter) -> list[ColumnElement[bool]]:
    return _where(flt, _raw.c.order_date, _raw.c.categories, _raw.c.product_names)


# -- what the chat's questions need beyond the dashboard ------------------------------------------


def daily_totals(engine: Engine, flt: SalesFilter = ALL) -> list[DayTotals]:
    """Revenue (cents), units and orders per day with orders, from the daily rollup: every time
    grouping (week, month, quarter, year, weekday) is a sum of these, exact, whatever the row count."""
    table = _daily
    stmt = (
        select(
            table.c.day,
            func.sum(table.c.revenue_cents),
            func.sum(table.c.quantity),
            func.sum(table.c.order_count),
        )
        .where(*_where(flt, table.c.day, table.c.category, table.c.product_name))
        .group_by(table.c.day)
        .order_by(table.c.day)
    )
    with connected(engine) as conn:
        return [DayTotals(day, int(r), int(q), int(o)) for day, r, q, o in conn.execute(stmt).all()]


def order_stats(engine: Engine, flt: SalesFilter = ALL, by: RawGroup | None = None) -> list[OrderStats]:
    """What single orders and customers make (distinct customers, the largest and smallest order), over
    the filter, as one row or one per ``by`` group. Whole months read ``sales_monthly_customer``, only
    the days at the edges of a range (and a grouping by day) read ``sales_data``."""
    if by == "day":
        return _order_stats_by_day(engine, flt)
    with connected(engine) as conn:
        cells = _customer_cells(conn, flt)
        year = cast(extract("year", cells.c.month), Integer)
        keys: dict[str, list[ColumnElement[Any]]] = {
            "category": [cells.c.category],
            "product": [cells.c.product],
            "customer": [cells.c.customer_id],
            "month": [cells.c.month],
            "year": [year],
        }
        group = keys[by] if by else []
        columns = [
            func.sum(cells.c.orders),
            func.count(cells.c.customer_id.distinct()),
            func.max(cells.c.largest),
            func.min(cells.c.smallest),
            func.sum(cells.c.quantity),
        ]
        stmt = select(*group, *columns)
        if group:
            stmt = stmt.group_by(*group).order_by(*group)
        rows = conn.execute(stmt).all()
    stats = []
    for row in rows:
        key, (orders, customers, largest, smallest, units) = row[: len(group)], row[len(group) :]
        if orders:
            label = _stats_label(by, key)
            largest, smallest = cents_to_decimal(int(largest)), cents_to_decimal(int(smallest))
            stats.append(OrderStats(label, int(orders), int(customers), largest, smallest, int(units)))
    return stats


def customer_totals(engine: Engine, flt: SalesFilter = ALL) -> list[CustomerTotals]:
    """Revenue (cents), units and orders per customer (``customer_id``) over the filter."""
    with connected(engine) as conn:
        cells = _customer_cells(conn, flt)
        stmt = select(
            cells.c.customer_id,
            func.sum(cells.c.revenue_cents),
            func.sum(cells.c.quantity),
            func.sum(cells.c.orders),
        ).group_by(cells.c.customer_id)
        return [
            CustomerTotals(int(customer), int(revenue), int(units), int(orders))
            for customer, revenue, units, orders in conn.execute(stmt).all()
        ]


def _customer_cells(conn: Connection, flt: SalesFilter) -> Any:
    """(month, customer, product, category) cells of the filter: whole months from the customer
    rollup, the edge days summed from ``sales_data`` the same way; one subquery for both."""
    months, days = split_by_month(flt.start, flt.end)
    parts: list[Any] = []
    if months is not None:
        t = _customers
        where = [w for w in [_within(t.c.month, *months)] if w is not None] + _names(flt, t)
        parts.append(
            select(
                t.c.month.label("month"),
                t.c.customer_id.label("customer_id"),
                t.c.product_name.label("product"),
                t.c.category.label("category"),
                t.c.revenue_cents.label("revenue_cents"),
                t.c.quantity.label("quantity"),
                t.c.order_count.label("orders"),
                t.c.max_total_cents.label("largest"),
                t.c.min_total_cents.label("smallest"),
            ).where(*where)
        )
    for first, last in days:
        month = first_of_month(_raw.c.order_date)
        key = (month, _raw.c.customer_id, _raw.c.product_names, _raw.c.categories)
        edge = SalesFilter(first, last, flt.categories, flt.products)
        parts.append(
            select(
                month.label("month"),
                _raw.c.customer_id.label("customer_id"),
                _raw.c.product_names.label("product"),
                _raw.c.categories.label("category"),
                revenue_cents(conn).label("revenue_cents"),
                _bigint(func.sum(_raw.c.quantity)).label("quantity"),
                func.count().label("orders"),
                cents(conn, func.max(_raw.c.total)).label("largest"),
                cents(conn, func.min(_raw.c.total)).label("smallest"),
            )
            .where(*_raw_where(edge))
            .group_by(*key)
        )
    if len(parts) == 1:
        return parts[0].subquery("cells")
    return union_all(*parts).subquery("cells")


def _order_stats_by_day(engine: Engine, flt: SalesFilter) -> list[OrderStats]:
    """Per day, from ``sales_data`` (no rollup holds a day's customers)."""
    stmt = (
        select(
            _raw.c.order_date,
            func.count(),
            func.count(_raw.c.customer_id.distinct()),
            func.max(_raw.c.total),
            func.min(_raw.c.total),
            _bigint(func.sum(_raw.c.quantity)),
        )
        .where(*_raw_where(flt))
        .group_by(_raw.c.order_date)
        .order_by(_raw.c.order_date)
    )
    with connected(engine) as conn:
        return [
            OrderStats(day.isoformat(), int(orders), int(customers), largest, smallest, int(units))
            for day, orders, customers, largest, smallest, units in conn.execute(stmt).all()
        ]


def _stats_label(by: RawGroup | None, key: Any) -> str:
    """A group's label: the name, the customer id, or the period's first day (ISO)."""
    if not key:
        return ""
    if by == "year":
        return dt.date(int(key[0]), 1, 1).isoformat()
    if by == "month":
        value = key[0]
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return str(key[0])
