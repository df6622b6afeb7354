"""The published dashboard's way, kept as the benchmark baseline: aggregate SQL straight over
``sales_data`` and every matching raw row fetched, on each refresh."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from chatdash.sales import (
    CategoryRevenue,
    KeyMetrics,
    PeriodRevenue,
    ProductRevenue,
    SalesFilter,
    SalesRecord,
    average,
    cents_to_decimal,
)


def _where(flt: SalesFilter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = ["1=1"]
    params: dict[str, Any] = {}
    if flt.start:
        clauses.append("order_date >= :start")
        params["start"] = flt.start
    if flt.end:
        clauses.append("order_date <= :end")
        params["end"] = flt.end
    for i, category in enumerate(flt.categories):
        params[f"c{i}"] = category
    if flt.categories:
        clauses.append(f"categories IN ({', '.join(f':c{i}' for i in range(len(flt.categories)))})")
    return " AND ".join(clauses), params


def _cents(conn: Connection, value: Any) -> int:
    if value is None:
        return 0
    # SQLite stores money as integer cents; PostgreSQL returns NUMERIC as Decimal.
    return int(value) if conn.dialect.name == "sqlite" else int(Decimal(value) * 100)


def refresh(engine: Engine, flt: SalesFilter, page: int = 50) -> dict[str, Any]:
    """One dashboard refresh the naive way; returns the same figures as the query layer."""
    where, params = _where(flt)
    revenue = "SUM(price * quantity)"
    with engine.connect() as conn:
        total, orders = conn.execute(
            text(f"SELECT {revenue}, COUNT(DISTINCT order_id) FROM sales_data WHERE {where}"), params
        ).one()
        by_category = [
            CategoryRevenue(cat, cents_to_decimal(_cents(conn, rev)), int(n))
            for cat, rev, n in conn.execute(
                text(
                    f"SELECT categories, {revenue}, COUNT(*) FROM sales_data WHERE {where} "
                    f"GROUP BY categories ORDER BY {revenue} DESC, categories"
                ),
                params,
            )
        ]
        series = [
            PeriodRevenue(_day(day), cents_to_decimal(_cents(conn, rev)), int(n))
            for day, rev, n in conn.execute(
                text(
                    f"SELECT order_date, {revenue}, COUNT(*) FROM sales_data WHERE {where} "
                    "GROUP BY order_date ORDER BY order_date"
                ),
                params,
            )
        ]
        products = [
            ProductRevenue(int(pid), name, cat, cents_to_decimal(_cents(conn, rev)), int(q), int(n))
            for pid, name, cat, rev, q, n in conn.execute(
                text(
                    f"SELECT product_id, product_names, categories, {revenue}, SUM(quantity), COUNT(*) "
                    f"FROM sales_data WHERE {where} GROUP BY product_id, product_names, categories "
                    f"ORDER BY {revenue} DESC, product_names LIMIT 10"
                ),
                params,
            )
        ]
        result = conn.execute(
            text(
                f"SELECT order_id, order_date, customer_id, customer_name, product_id, product_names, "
                f"categories, quantity, price, total FROM sales_data WHERE {where} "
                "ORDER BY order_date, order_id"
            ),
            params,
        )
        first_page: list[SalesRecord] = []
        fetched = 0
        while chunk := result.fetchmany(50_000):
            fetched += len(chunk)
            if len(first_page) < page:
                first_page.extend(_record(conn, row) for row in chunk[: page - len(first_page)])
    total_cents = _cents(conn, total)
    metrics = KeyMetrics(
        total_revenue=cents_to_decimal(total_cents),
        orders=int(orders),
        average_order_value=average(total_cents, int(orders)),
        top_category=by_category[0].category if by_category else None,
    )
    return {
        "metrics": metrics,
        "by_category": by_category,
        "series": series,
        "top_products": products,
        "first_page": first_page,
        "rows_fetched": fetched,
    }


def _day(value: Any) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _record(conn: Connection, row: Any) -> SalesRecord:
    values = list(row)
    values[1] = _day(values[1])
    values[8] = cents_to_decimal(_cents(conn, values[8]))
    values[9] = cents_to_decimal(_cents(conn, values[9]))
    return SalesRecord(*values)
