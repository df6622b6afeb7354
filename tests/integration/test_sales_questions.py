"""Sales questions in words, answered by the ``sales_query`` step, against figures computed
independently with Polars over the generated rows, on SQLite and PostgreSQL.

Each case states by hand what the question means (metric, dates, names, grouping, ranking); the
expected figures come from that intent and the raw frame, never from the parser or the query layer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pytest

from chatdash.llm import create
from chatdash.pipeline import Pipeline, RunContext
from chatdash.sales.answer import SalesAnswer
from tests.conftest import Database

Dates = tuple[dt.date | None, dt.date | None]
D = dt.date


@dataclass(frozen=True)
class Intent:
    """What a question asks, written by hand. ``dates`` may depend on the data's last day."""

    metric: str = "revenue"
    dates: Dates | Callable[[dt.date], Dates] = (None, None)
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    group: str = "none"
    top: int | None = None
    ascending: bool = False


def year(y: int) -> Dates:
    return D(y, 1, 1), D(y, 12, 31)


def prev_month(last: dt.date) -> Dates:
    end = last.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def prev_quarter(last: dt.date) -> Dates:
    q = (last.month - 1) // 3
    y, q = (last.year, q - 1) if q else (last.year - 1, 3)
    start = D(y, 3 * q + 1, 1)
    end = (D(y + (3 * q + 3) // 12, (3 * q + 3) % 12 + 1, 1)) - dt.timedelta(days=1)
    return start, end


CASES: list[tuple[str, Intent]] = [
    ("What was the total revenue in 2019?", Intent(dates=year(2019))),
    ("How much did we sell in Q3 2021?", Intent(dates=(D(2021, 7, 1), D(2021, 9, 30)))),
    ("Revenue in March 2020", Intent(dates=(D(2020, 3, 1), D(2020, 3, 31)))),
    ("Sales between 2015 and 2017", Intent(dates=(D(2015, 1, 1), D(2017, 12, 31)))),
    ("How many orders from 2020-01-01 to 2020-06-30?", Intent("orders", (D(2020, 1, 1), D(2020, 6, 30)))),
    ("What was the turnover last year?", Intent(dates=lambda last: year(last.year - 1))),
    ("How are sales this year?", Intent(dates=lambda last: (D(last.year, 1, 1), last))),
    ("Revenue last month", Intent(dates=prev_month)),
    ("What were sales last quarter?", Intent(dates=prev_quarter)),
    ("Total revenue of all time", Intent()),
    ("How many laptops were sold in 2018?", Intent("quantity", year(2018), products=("Laptop",))),
    ("Revenue from chairs in Q1 2016", Intent(dates=(D(2016, 1, 1), D(2016, 3, 31)), products=("Chair",))),
    ("Electronics revenue in 2022", Intent(dates=year(2022), categories=("Electronics",))),
    (
        "How much did Office and Sundry make in 2014?",
        Intent(dates=year(2014), categories=("Office", "Sundry")),
    ),
    ("Average order value in 2019", Intent("average_order_value", year(2019))),
    (
        "What's the AOV for smartphones last year?",
        Intent("average_order_value", lambda last: year(last.year - 1), products=("Smartphone",)),
    ),
    (
        "Number of orders for stationery in June 2017",
        Intent("orders", (D(2017, 6, 1), D(2017, 6, 30)), categories=("Stationery",)),
    ),
    (
        "Units sold of pens and notebooks in the second quarter of 2013",
        Intent("quantity", (D(2013, 4, 1), D(2013, 6, 30)), products=("Pen", "Notebook")),
    ),
    ("Top 5 products by revenue in 2019", Intent(dates=year(2019), group="product", top=5)),
    ("What is the best-selling category in 2020?", Intent(dates=year(2020), group="category", top=1)),
    (
        "Top 3 products by units sold last year",
        Intent("quantity", lambda last: year(last.year - 1), group="product", top=3),
    ),
    ("Which product had the most orders in 2015?", Intent("orders", year(2015), group="product", top=1)),
    (
        "Worst 2 categories by revenue in 2012",
        Intent(dates=year(2012), group="category", top=2, ascending=True),
    ),
    ("Revenue by month in 2019", Intent(dates=year(2019), group="month")),
    ("Monthly sales of laptops in 2021", Intent(dates=year(2021), products=("Laptop",), group="month")),
    ("Yearly revenue", Intent(group="year")),
    (
        "Orders per year for the Office category between 2011 and 2013",
        Intent("orders", (D(2011, 1, 1), D(2013, 12, 31)), categories=("Office",), group="year"),
    ),
    ("Revenue per category in Q4 2018", Intent(dates=(D(2018, 10, 1), D(2018, 12, 31)), group="category")),
    (
        "Revenue by product for Electronics in 2020",
        Intent(dates=year(2020), categories=("Electronics",), group="product"),
    ),
    ("Weekly revenue in March 2020", Intent(dates=(D(2020, 3, 1), D(2020, 3, 31)), group="week")),
    (
        "Daily revenue from 2020-02-10 to 2020-02-20",
        Intent(dates=(D(2020, 2, 10), D(2020, 2, 20)), group="day"),
    ),
    ("Which month had the highest revenue in 2019?", Intent(dates=year(2019), group="month", top=1)),
    (
        "Average order value by year for desks",
        Intent("average_order_value", products=("Desk",), group="year"),
    ),
    (
        "Units sold per month of coffee makers in 2019",
        Intent("quantity", year(2019), products=("Coffee Maker",), group="month"),
    ),
    (
        "How many plastic cups did we sell since 2022?",
        Intent("quantity", (D(2022, 1, 1), None), products=("Plastic Cups",)),
    ),
    ("Sales of printers before 2012", Intent(dates=(None, D(2011, 12, 31)), products=("Printer",))),
    ("Revenue in the last 30 days", Intent(dates=lambda last: (last - dt.timedelta(days=29), last))),
    (
        "top 3 weeks for sundry in Q2 2016 by orders",
        Intent("orders", (D(2016, 4, 1), D(2016, 6, 30)), categories=("Sundry",), group="week", top=3),
    ),
]
CASES += [
    ("Compare orders in 2016 vs 2017", Intent("orders", (D(2016, 1, 1), D(2017, 12, 31)), group="year")),
    (
        "Laptop vs smartphone units sold in 2020",
        Intent("quantity", year(2020), products=("Laptop", "Smartphone"), group="product"),
    ),
]
NOT_SALES = [
    "Hello, who are you?",
    "What is the capital of France?",
    "Write a haiku about chairs",
    "Thanks, that was helpful!",
]

KEYS = {
    "category": pl.col("categories"),
    "product": pl.col("product_names"),
    "day": pl.col("order_date"),
    "week": pl.col("order_date").dt.truncate("1w"),
    "month": pl.col("order_date").dt.truncate("1mo"),
    "year": pl.col("order_date").dt.year(),
}


def value(metric: str, cents: int, orders: int, quantity: int) -> Decimal | int | None:
    if metric == "revenue":
        return Decimal(cents) / 100
    if metric == "orders":
        return orders
    if metric == "quantity":
        return quantity
    if orders == 0:
        return None
    return (Decimal(cents) / orders / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def label(group: str, key: Any) -> str:
    if group == "day":
        return str(key.isoformat())
    if group == "week":
        return f"week of {key.isoformat()}"
    if group == "month":
        return str(key.strftime("%Y-%m"))
    return str(key)


def expected(frame: pl.DataFrame, intent: Intent) -> tuple[Any, list[tuple[str, Any]]]:
    last = frame["order_date"].max()
    assert isinstance(last, dt.date)
    start, end = intent.dates(last) if callable(intent.dates) else intent.dates
    rows = frame
    if start:
        rows = rows.filter(pl.col("order_date") >= start)
    if end:
        rows = rows.filter(pl.col("order_date") <= end)
    if intent.categories:
        rows = rows.filter(pl.col("categories").is_in(list(intent.categories)))
    if intent.products:
        rows = rows.filter(pl.col("product_names").is_in(list(intent.products)))
    rows = rows.with_columns(revenue=pl.col("price_cents") * pl.col("quantity"))
    total = value(intent.metric, int(rows["revenue"].sum()), rows.height, int(rows["quantity"].sum()))
    if intent.group == "none" or rows.height == 0:
        return total, []
    groups = (
        rows.group_by(KEYS[intent.group].alias("key"))
        .agg(pl.col("revenue").sum(), pl.len().alias("orders"), pl.col("quantity").sum())
        .sort("key")
    )
    found = [
        (label(intent.group, key), value(intent.metric, int(r), int(n), int(q)))
        for key, r, n, q in groups.iter_rows()
    ]
    if intent.group in ("category", "product") or intent.top is not None:
        found.sort(key=lambda row: row[0])
        found.sort(key=lambda row: row[1], reverse=not intent.ascending)
    if intent.top is not None:
        found = found[: intent.top]
    return total, found


ONLY_SALES = Pipeline.from_dict({"steps": [{"type": "sales_query", "on_error": "fail"}]}, source="test")


def ask(db: Database, question: str) -> SalesAnswer | None:
    ctx = RunContext(owner="u1", message=question, provider=create("scripted"), engine=db.engine)
    result = asyncio.run(ONLY_SALES.complete(ctx))
    return result.sources.sales


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30 and len({q for q, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("question", "intent"), CASES, ids=[q for q, _ in CASES])
def test_sales_question_is_answered_exactly(
    loaded: Database, sample_frame: pl.DataFrame, question: str, intent: Intent
) -> None:
    answer = ask(loaded, question)
    assert answer is not None, f"{question!r} was not recognised as a sales question"
    total, rows = expected(sample_frame, intent)
    assert answer.spec.metric == intent.metric
    assert answer.value == total, answer.description
    assert [(row.label, row.value) for row in answer.rows] == rows, answer.description
    assert answer.description.startswith(answer.metric_label)
    for name in (*intent.categories, *intent.products):
        assert name in answer.description


@pytest.mark.parametrize("message", NOT_SALES)
def test_other_messages_get_no_figures(loaded: Database, message: str) -> None:
    assert ask(loaded, message) is None
