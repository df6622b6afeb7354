"""The rollups that every aggregate reads, rebuilt inside each load's transaction.

``sales_daily`` (day x product) is summed from ``sales_data``; ``sales_monthly`` (month x
product) and ``sales_daily_category`` (day x category) from ``sales_daily``;
``sales_monthly_customer`` (month x customer x product, with each cell's largest and smallest order
total) from ``sales_data``. Because ``order_id``
is unique per row, ``order_count`` (rows per
period and product) is also the exact number of distinct orders, and stays exact when summed over
any date range or set of categories.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Connection, Date, cast, delete, func, insert, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from chatdash.db.models import (
    Base,
    SalesDaily,
    SalesDailyCategory,
    SalesMonthly,
    SalesMonthlyCustomer,
    SalesRow,
)
from chatdash.sales.periods import month_end, month_start
from chatdash.sales.types import DateRange

_raw = Base.metadata.tables[SalesRow.__tablename__]
_daily = Base.metadata.tables[SalesDaily.__tablename__]
_monthly = Base.metadata.tables[SalesMonthly.__tablename__]
_by_category = Base.metadata.tables[SalesDailyCategory.__tablename__]
_customers = Base.metadata.tables[SalesMonthlyCustomer.__tablename__]
_TOTALS = ["product_id", "product_name", "category", "revenue_cents", "quantity", "order_count"]


class first_of_month(FunctionElement[Any]):
    """SQL: the first day of the month of a date column."""

    type = Date()
    inherit_cache = True


@compiles(first_of_month, "postgresql")
def _first_of_month_pg(element: first_of_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(first_of_month, "sqlite")
def _first_of_month_sqlite(element: first_of_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def revenue_cents(connection: Connection) -> Any:
    """SUM(price * quantity) of ``sales_data`` in integer cents, in the dialect's exact arithmetic."""
    return cents(connection, func.sum(_raw.c.price * _raw.c.quantity))


def cents(connection: Connection, money: Any) -> Any:
    """A money expression of ``sales_data`` (or an aggregate of one) in integer cents."""
    if connection.dialect.name == "sqlite":
        return money
    return cast(money * 100, BigInteger)


def rebuild_customer_rollup(connection: Connection, between: DateRange | None = None) -> None:
    """Recompute ``sales_monthly_customer`` for every month, or for the months ``between`` touches."""
    month = first_of_month(_raw.c.order_date)
    key = (month, _raw.c.customer_id, _raw.c.product_id, _raw.c.product_names, _raw.c.categories)
    rows = select(
        *key,
        revenue_cents(connection),
        func.sum(_raw.c.quantity),
        func.count(),
        cents(connection, func.max(_raw.c.total)),
        cents(connection, func.min(_raw.c.total)),
    ).group_by(*key)
    # Written in month order, so a range of months is a few neighbouring pages of the table
    # (PostgreSQL keeps rows where they were inserted; SQLite's table is its primary key anyway).
    rows = rows.order_by(*key)
    wipe = delete(_customers)
    if between is not None:
        first, last = month_start(between.start), month_end(between.end)
        rows = rows.where(_raw.c.order_date.between(first, last))
        wipe = wipe.where(_customers.c.month.between(first, last))
    connection.execute(wipe)
    columns = ["month", "customer_id", "product_id", "product_name", "category", "revenue_cents"]
    columns += ["quantity", "order_count", "max_total_cents", "min_total_cents"]
    connection.execute(insert(_customers).from_select(columns, rows))


def rebuild_rollup(connection: Connection, between: DateRange | None = None) -> None:
    """Recompute both rollups, for every day or only for the days (and months) of ``between``."""
    product = (_raw.c.product_id, _raw.c.product_names, _raw.c.categories)
    daily = select(
        _raw.c.order_date,
        *product,
        revenue_cents(connection),
        func.sum(_raw.c.quantity),
        func.count(),
    ).group_by(_raw.c.order_date, *product)
    month = first_of_month(_daily.c.day)
    monthly = select(
        month,
        _daily.c.product_id,
        _daily.c.product_name,
        _daily.c.category,
        func.sum(_daily.c.revenue_cents),
        func.sum(_daily.c.quantity),
        func.sum(_daily.c.order_count),
    ).group_by(month, _daily.c.product_id, _daily.c.product_name, _daily.c.category)
    by_category = select(
        _daily.c.day,
        _daily.c.category,
        func.sum(_daily.c.revenue_cents),
        func.sum(_daily.c.order_count),
    ).group_by(_daily.c.day, _daily.c.category)
    wipe_daily, wipe_monthly, wipe_by_category = delete(_daily), delete(_monthly), delete(_by_category)
    if between is not None:
        first: dt.date = month_start(between.start)
        last: dt.date = month_end(between.end)
        daily = daily.where(_raw.c.order_date.between(between.start, between.end))
        wipe_daily = wipe_daily.where(_daily.c.day.between(between.start, between.end))
        monthly = monthly.where(_daily.c.day.between(first, last))
        wipe_monthly = wipe_monthly.where(_monthly.c.month.between(first, last))
        by_category = by_category.where(_daily.c.day.between(between.start, between.end))
        wipe_by_category = wipe_by_category.where(_by_category.c.day.between(between.start, between.end))
    connection.execute(wipe_daily)
    connection.execute(insert(_daily).from_select(["day", *_TOTALS], daily))
    connection.execute(wipe_monthly)
    connection.execute(insert(_monthly).from_select(["month", *_TOTALS], monthly))
    connection.execute(wipe_by_category)
    connection.execute(
        insert(_by_category).from_select(["day", "category", "revenue_cents", "order_count"], by_category)
    )
    rebuild_customer_rollup(connection, between)
