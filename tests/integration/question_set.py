"""A set of sales questions in words, each with its meaning written by hand, and a scorer that asks
the product (``read_conversation`` then ``answer``) and compares its figures with ones computed
independently with Polars over the raw rows.

Every question has an ``Intent``: what a person who typed it means (metric, dates, names, grouping,
ranking, compared periods, share), written here, never taken from the reader. The expected figures
come from that intent and the generated rows alone (integer cents, half-up rounding as the semantic
model defines each metric), so the reader and the query layer are both measured. Relative dates
("last 30 days", "year to date") count from the data's last order date, as the product promises.

A question ends in one of three outcomes:

- ``exact``: every figure the kind asks for equals the expected one to the cent (for a question that
  must be declined: it was declined);
- ``declined``: the reader declined or asked back, the query layer refused (``QueryError``), or the
  message was not seen as a sales question ("not read");
- ``wrong``: a figure differs, a misspelling was corrected without saying so, a question that must be
  declined got figures, or the product raised something other than ``QueryError``.

The set is deterministic: no randomness, every question and date is written in code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl
from sqlalchemy import Engine

from chatdash.errors import QueryError
from chatdash.sales import Vocabulary, answer, read_conversation
from chatdash.sales.answer import SalesAnswer

D = dt.date
Dates = tuple[dt.date | None, dt.date | None]
Figure = Decimal | int | None
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CUSTOMER_ROWS = 10
"""Customers listed when a question groups by customer without saying how many (the product's rule)."""


# -- what a question means -----------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """What a question asks, written by hand.

    ``compare`` marks a comparison of two things (its rows, the change from the first to the second);
    ``periods`` are compared periods, rows in the order asked, whatever form the reader gives them (a
    comparison of periods or a grouping by year). ``corrected`` are names a note must say a misspelt
    word was read as. ``decline``: the only right answer is no figure.
    """

    metric: str = "revenue"
    dates: Dates = (None, None)
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    group_by: str = "none"
    top_n: int | None = None
    order: str = "desc"
    periods: tuple[tuple[dt.date, dt.date], ...] = ()
    share: bool = False
    compare: bool = False
    corrected: tuple[str, ...] = ()
    decline: bool = False

    def words(self) -> str:
        if self.decline:
            return "must be declined"
        parts = [self.metric]
        if self.periods:
            parts.append(" vs ".join(f"{s}..{e}" for s, e in self.periods))
        else:
            start, end = self.dates
            parts.append(f"{start or 'first'}..{end or 'last'}" if start or end else "all dates")
        if self.categories:
            parts.append("categories " + ",".join(self.categories))
        if self.products:
            parts.append("products " + ",".join(self.products))
        if self.group_by != "none":
            parts.append(f"by {self.group_by}")
        if self.top_n is not None:
            parts.append(f"{'top' if self.order == 'desc' else 'bottom'} {self.top_n}")
        if self.share:
            parts.append("share of all")
        if self.corrected:
            parts.append("note corrects to " + ",".join(self.corrected))
        return "; ".join(parts)


@dataclass(frozen=True)
class Question:
    kind: str
    messages: tuple[str, ...]
    intent: Intent

    @property
    def text(self) -> str:
        return " -> ".join(repr(m) for m in self.messages)


def year(y: int) -> Dates:
    return D(y, 1, 1), D(y, 12, 31)


def month(y: int, m: int) -> Dates:
    nxt = D(y + m // 12, m % 12 + 1, 1)
    return D(y, m, 1), nxt - dt.timedelta(days=1)


def quarter(y: int, q: int) -> Dates:
    return month(y, 3 * q - 2)[0], month(y, 3 * q)[1]


def half(y: int, h: int) -> Dates:
    return (D(y, 1, 1), D(y, 6, 30)) if h == 1 else (D(y, 7, 1), D(y, 12, 31))


def day(y: int, m: int, d: int) -> Dates:
    return D(y, m, d), D(y, m, d)


def span(start: Dates, end: Dates) -> Dates:
    return start[0], end[1]


def months_back(last: dt.date, n: int) -> dt.date:
    """The first of the month ``n`` calendar months before ``last``'s."""
    index = last.year * 12 + last.month - 1 - n
    return D(index // 12, index % 12 + 1, 1)


def periods(*dates: Dates) -> tuple[tuple[dt.date, dt.date], ...]:
    found = []
    for start, end in dates:
        assert start is not None and end is not None
        found.append((start, end))
    return tuple(found)


class _Set:
    def __init__(self) -> None:
        self.questions: list[Question] = []

    def add(self, kind: str, messages: str | tuple[str, ...], intent: Intent) -> None:
        self.questions.append(Question(kind, (messages,) if isinstance(messages, str) else messages, intent))


I = Intent  # noqa: E741 - short, read as "intent" in the tables below

# -- the questions, kind by kind -----------------------------------------------------------------


def _metrics(q: _Set, last: dt.date) -> None:
    k = "metric: revenue"
    for cat, y in (("Office", 2019), ("Electronics", 2014), ("Sundry", 2021)):
        i = I(dates=year(y), categories=(cat,))
        q.add(k, f"How much revenue did {cat} bring in during {y}?", i)
        q.add(k, f"{cat.lower()} sales {y}", i)
        q.add(k, f"What were {cat}'s {y} sales?", i)
    q.add(k, "What was our total revenue in 2015?", I(dates=year(2015)))
    q.add(k, "How much money did we make from laptops in 2021?", I(dates=year(2021), products=("Laptop",)))
    q.add(k, "total sales of chairs in March 2017", I(dates=month(2017, 3), products=("Chair",)))
    q.add(k, "turnover in 2022", I(dates=year(2022)))
    q.add(k, "How much did we sell in December 2020?", I(dates=month(2020, 12)))
    q.add(k, "Total revenue of all time", I())

    k = "metric: orders"
    q.add(k, "How many orders did we get in 2018?", I("orders", year(2018)))
    q.add(k, "Number of orders for Sundry in 2016", I("orders", year(2016), ("Sundry",)))
    q.add(k, "order count for printers in 2020", I("orders", year(2020), products=("Printer",)))
    q.add(k, "How many orders were placed in July 2014?", I("orders", month(2014, 7)))
    q.add(k, "Orders in Q4 2019 for the Office category", I("orders", quarter(2019, 4), ("Office",)))
    q.add(k, "how many transactions in 2011", I("orders", year(2011)))
    q.add(k, "How many orders for monitors in 2015?", I("orders", year(2015), products=("Monitor",)))
    q.add(k, "Stationery orders 2013", I("orders", year(2013), ("Stationery",)))
    for name, plural, y in (("Desk", "desks", 2017), ("Notebook", "notebooks", 2010)):
        i = I("orders", year(y), products=(name,))
        q.add(k, f"How many orders for {plural} in {y}?", i)
        q.add(k, f"{name} orders {y}", i)
        q.add(k, f"number of orders of {plural} in {y}", i)

    k = "metric: units"
    q.add(k, "How many units did we sell in 2019?", I("quantity", year(2019)))
    q.add(k, "How many laptops were sold in 2018?", I("quantity", year(2018), products=("Laptop",)))
    q.add(k, "units sold of pens in 2020", I("quantity", year(2020), products=("Pen",)))
    q.add(k, "Quantity of paper sold in Q1 2015", I("quantity", quarter(2015, 1), products=("Paper",)))
    q.add(k, "How many chairs did we sell in June 2016?", I("quantity", month(2016, 6), products=("Chair",)))
    q.add(k, "total units for Electronics in 2021", I("quantity", year(2021), ("Electronics",)))
    q.add(k, "How many items were sold in 2013?", I("quantity", year(2013)))
    for name, plural, y in (("Monitor", "monitors", 2011), ("Cabinet", "cabinets", 2023)):
        i = I("quantity", year(y), products=(name,))
        q.add(k, f"How many {plural} did we sell in {y}?", i)
        q.add(k, f"{plural} sold in {y}", i)
        q.add(k, f"units of {name.lower()} sold in {y}", i)
    q.add(
        k,
        "How many plastic cups did we sell during 2022?",
        I("quantity", year(2022), products=("Plastic Cups",)),
    )

    k = "metric: average order value"
    q.add(k, "Average order value in 2019", I("average_order_value", year(2019)))
    q.add(k, "What was the AOV for Office in 2017?", I("average_order_value", year(2017), ("Office",)))
    q.add(k, "What's the average spend per order in Q3 2016?", I("average_order_value", quarter(2016, 3)))
    q.add(k, "mean order value of Stationery in 2014", I("average_order_value", year(2014), ("Stationery",)))
    q.add(k, "avg order value 2012", I("average_order_value", year(2012)))
    q.add(k, "How much did an average order bring in during 2015?", I("average_order_value", year(2015)))
    q.add(
        k,
        "average order value for Sundry last year",
        I("average_order_value", year(last.year - 1), ("Sundry",)),
    )
    q.add(
        k,
        "What was the average order value for smartphones in 2020?",
        I("average_order_value", year(2020), products=("Smartphone",)),
    )

    k = "metric: distinct customers"
    q.add(
        k,
        "How many unique customers did we have in the last 30 days?",
        I("distinct_customers", (last - dt.timedelta(days=29), last)),
    )
    q.add(k, "How many customers did we have in 2019?", I("distinct_customers", year(2019)))
    q.add(
        k,
        "How many unique customers bought laptops in 2020?",
        I("distinct_customers", year(2020), products=("Laptop",)),
    )
    q.add(
        k,
        "number of distinct customers for Sundry in 2015",
        I("distinct_customers", year(2015), ("Sundry",)),
    )
    q.add(k, "How many different customers ordered in March 2018?", I("distinct_customers", month(2018, 3)))
    q.add(k, "customer count 2013", I("distinct_customers", year(2013)))
    q.add(
        k,
        "How many customers bought from the Office category in Q2 2021?",
        I("distinct_customers", quarter(2021, 2), ("Office",)),
    )

    k = "metric: average unit price"
    q.add(k, "What was the average unit price in 2019?", I("average_unit_price", year(2019)))
    q.add(k, "average price of a laptop in 2018", I("average_unit_price", year(2018), products=("Laptop",)))
    q.add(
        k,
        "average selling price for Stationery in 2016",
        I("average_unit_price", year(2016), ("Stationery",)),
    )
    q.add(k, "price per unit of chairs in 2020", I("average_unit_price", year(2020), products=("Chair",)))
    q.add(
        k, "average unit price of Office products in 2013", I("average_unit_price", year(2013), ("Office",))
    )
    q.add(
        k,
        "What was the mean price of monitors in Q4 2017?",
        I("average_unit_price", quarter(2017, 4), products=("Monitor",)),
    )

    k = "metric: items per order"
    q.add(k, "How many items per order did we average in 2019?", I("items_per_order", year(2019)))
    q.add(k, "average basket size in 2017", I("items_per_order", year(2017)))
    q.add(k, "units per order for Office in 2020", I("items_per_order", year(2020), ("Office",)))
    q.add(k, "items per order in March 2016", I("items_per_order", month(2016, 3)))
    q.add(k, "average number of items per order in Q1 2022", I("items_per_order", quarter(2022, 1)))
    q.add(
        k, "How many pieces per order for pens in 2015?", I("items_per_order", year(2015), products=("Pen",))
    )

    k = "metric: largest order"
    q.add(k, "What was the largest order in 2019?", I("largest_order", year(2019)))
    q.add(k, "biggest single order of 2016", I("largest_order", year(2016)))
    q.add(k, "highest order value for Electronics in 2020", I("largest_order", year(2020), ("Electronics",)))
    q.add(
        k,
        "What was the most expensive purchase of a desk in 2014?",
        I("largest_order", year(2014), products=("Desk",)),
    )
    q.add(k, "max order total in March 2021", I("largest_order", month(2021, 3)))
    q.add(k, "largest laptop order in 2019", I("largest_order", year(2019), products=("Laptop",)))

    k = "metric: smallest order"
    q.add(k, "What was the smallest order in 2019?", I("smallest_order", year(2019)))
    q.add(k, "lowest order value in 2015", I("smallest_order", year(2015)))
    q.add(k, "smallest order for Sundry in 2022", I("smallest_order", year(2022), ("Sundry",)))
    q.add(k, "cheapest sale of Stationery in 2018", I("smallest_order", year(2018), ("Stationery",)))
    q.add(
        k,
        "minimum order amount for printers in 2012",
        I("smallest_order", year(2012), products=("Printer",)),
    )
    q.add(k, "smallest single purchase in Q2 2020", I("smallest_order", quarter(2020, 2)))


def _time(q: _Set, last: dt.date) -> None:
    k = "by day"
    q.add(
        k,
        "Daily revenue from 2020-02-10 to 2020-02-20",
        I(dates=(D(2020, 2, 10), D(2020, 2, 20)), group_by="day"),
    )
    q.add(
        k,
        "Orders each day between March 1, 2019 and March 7, 2019",
        I("orders", (D(2019, 3, 1), D(2019, 3, 7)), group_by="day"),
    )
    q.add(
        k,
        "Day by day sales for Office from 2021-06-01 to 2021-06-10",
        I(dates=(D(2021, 6, 1), D(2021, 6, 10)), categories=("Office",), group_by="day"),
    )
    q.add(
        k,
        "daily units sold between 1 May 2018 and 14 May 2018",
        I("quantity", (D(2018, 5, 1), D(2018, 5, 14)), group_by="day"),
    )
    q.add(
        k,
        "Revenue per day over the last 7 days",
        I(dates=(last - dt.timedelta(days=6), last), group_by="day"),
    )
    q.add(
        k,
        "How many orders per day in the last 2 weeks?",
        I("orders", (last - dt.timedelta(days=13), last), group_by="day"),
    )

    k = "by week"
    q.add(k, "Weekly revenue in March 2020", I(dates=month(2020, 3), group_by="week"))
    q.add(k, "orders per week in February 2019", I("orders", month(2019, 2), group_by="week"))
    q.add(
        k,
        "Units sold by week for laptops in Q1 2021",
        I("quantity", quarter(2021, 1), products=("Laptop",), group_by="week"),
    )
    q.add(
        k,
        "week by week revenue for Sundry in June 2017",
        I(dates=month(2017, 6), categories=("Sundry",), group_by="week"),
    )
    q.add(
        k,
        "weekly sales over the last 4 weeks",
        I(dates=(last - dt.timedelta(days=27), last), group_by="week"),
    )
    q.add(k, "revenue per week in H1 2016", I(dates=half(2016, 1), group_by="week"))

    k = "by month"
    q.add(k, "Revenue by month in 2019", I(dates=year(2019), group_by="month"))
    q.add(
        k,
        "Monthly orders for Electronics in 2020",
        I("orders", year(2020), ("Electronics",), group_by="month"),
    )
    q.add(k, "units sold each month in 2016", I("quantity", year(2016), group_by="month"))
    q.add(k, "What were monthly sales in 2018?", I(dates=year(2018), group_by="month"))
    q.add(k, "Average order value per month in 2021", I("average_order_value", year(2021), group_by="month"))
    q.add(k, "Which month had the highest revenue in 2019?", I(dates=year(2019), group_by="month", top_n=1))
    q.add(k, "monthly revenue H1 2015", I(dates=half(2015, 1), group_by="month"))
    q.add(k, "unique customers per month in 2020", I("distinct_customers", year(2020), group_by="month"))

    k = "by quarter"
    q.add(k, "Quarterly revenue for 2019", I(dates=year(2019), group_by="quarter"))
    q.add(
        k,
        "revenue by quarter in 2020 for Office",
        I(dates=year(2020), categories=("Office",), group_by="quarter"),
    )
    q.add(
        k,
        "orders per quarter between 2018 and 2019",
        I("orders", span(year(2018), year(2019)), group_by="quarter"),
    )
    q.add(k, "Units sold each quarter in 2014", I("quantity", year(2014), group_by="quarter"))
    q.add(
        k, "Which quarter of 2017 had the most orders?", I("orders", year(2017), group_by="quarter", top_n=1)
    )
    q.add(
        k,
        "quarter by quarter average order value in 2022",
        I("average_order_value", year(2022), group_by="quarter"),
    )

    k = "by year"
    q.add(k, "Yearly revenue", I(group_by="year"))
    q.add(k, "Revenue per year since 2018", I(dates=(D(2018, 1, 1), None), group_by="year"))
    q.add(
        k,
        "annual orders for Stationery between 2012 and 2015",
        I("orders", span(year(2012), year(2015)), ("Stationery",), group_by="year"),
    )
    q.add(k, "units sold by year for monitors", I("quantity", products=("Monitor",), group_by="year"))
    q.add(k, "Which year had the highest revenue?", I(group_by="year", top_n=1))
    q.add(
        k,
        "average order value by year for desks",
        I("average_order_value", products=("Desk",), group_by="year"),
    )
    q.add(k, "revenue each year from 2010 to 2013", I(dates=span(year(2010), year(2013)), group_by="year"))

    k = "by weekday"
    q.add(k, "Revenue by day of the week in 2019", I(dates=year(2019), group_by="weekday"))
    q.add(k, "Which weekday has the most orders?", I("orders", group_by="weekday", top_n=1))
    q.add(k, "orders per weekday in 2020", I("orders", year(2020), group_by="weekday"))
    q.add(
        k,
        "sales by weekday for Office in 2018",
        I(dates=year(2018), categories=("Office",), group_by="weekday"),
    )
    q.add(
        k,
        "Which day of the week had the highest revenue in 2021?",
        I(dates=year(2021), group_by="weekday", top_n=1),
    )
    q.add(k, "units sold per weekday in 2017", I("quantity", year(2017), group_by="weekday"))


def _names(q: _Set, last: dt.date) -> None:
    k = "by category"
    q.add(k, "Revenue by category in 2019", I(dates=year(2019), group_by="category"))
    q.add(k, "orders per category in Q3 2020", I("orders", quarter(2020, 3), group_by="category"))
    q.add(k, "How much did each category sell in 2017?", I(dates=year(2017), group_by="category"))
    q.add(k, "units sold for each category in 2015", I("quantity", year(2015), group_by="category"))
    q.add(
        k,
        "average order value by category in 2021",
        I("average_order_value", year(2021), group_by="category"),
    )
    q.add(k, "Break down 2016 revenue across categories", I(dates=year(2016), group_by="category"))
    q.add(k, "revenue per category for 2022", I(dates=year(2022), group_by="category"))

    k = "by product"
    q.add(k, "Revenue by product in 2019", I(dates=year(2019), group_by="product"))
    q.add(k, "units sold per product in 2020", I("quantity", year(2020), group_by="product"))
    q.add(k, "orders for each product in March 2018", I("orders", month(2018, 3), group_by="product"))
    q.add(k, "average unit price by product in 2021", I("average_unit_price", year(2021), group_by="product"))
    q.add(
        k,
        "revenue by product for Electronics in 2020",
        I(dates=year(2020), categories=("Electronics",), group_by="product"),
    )
    q.add(k, "largest order per product in 2016", I("largest_order", year(2016), group_by="product"))
    q.add(
        k,
        "How many customers bought each product in 2022?",
        I("distinct_customers", year(2022), group_by="product"),
    )

    k = "top customers"
    q.add(k, "Top 5 customers by revenue in 2019", I(dates=year(2019), group_by="customer", top_n=5))
    q.add(
        k,
        "Who were our top 10 customers by orders in 2020?",
        I("orders", year(2020), group_by="customer", top_n=10),
    )
    q.add(k, "Which customer spent the most in 2018?", I(dates=year(2018), group_by="customer", top_n=1))
    q.add(
        k,
        "best 3 customers by number of orders in 2017",
        I("orders", year(2017), group_by="customer", top_n=3),
    )
    q.add(
        k,
        "top 3 customers by revenue for laptops in 2021",
        I(dates=year(2021), products=("Laptop",), group_by="customer", top_n=3),
    )
    q.add(k, "Who bought the most units in 2016?", I("quantity", year(2016), group_by="customer", top_n=1))
    q.add(k, "Top 5 customers of all time by revenue", I(group_by="customer", top_n=5))

    k = "top/bottom products"
    q.add(k, "Top 5 products by revenue in 2019", I(dates=year(2019), group_by="product", top_n=5))
    q.add(k, "top 3 products by units sold in 2020", I("quantity", year(2020), group_by="product", top_n=3))
    q.add(
        k,
        "worst 2 products by orders in 2018",
        I("orders", year(2018), group_by="product", top_n=2, order="asc"),
    )
    q.add(
        k,
        "Bottom 3 products by revenue in Q1 2017",
        I(dates=quarter(2017, 1), group_by="product", top_n=3, order="asc"),
    )
    q.add(
        k,
        "Which product had the highest average order value in 2019?",
        I("average_order_value", year(2019), group_by="product", top_n=1),
    )
    q.add(
        k,
        "top 4 products by average unit price in 2015",
        I("average_unit_price", year(2015), group_by="product", top_n=4),
    )
    q.add(
        k,
        "Which product had the largest single order in 2021?",
        I("largest_order", year(2021), group_by="product", top_n=1),
    )
    q.add(
        k,
        "lowest selling product by units in 2014",
        I("quantity", year(2014), group_by="product", top_n=1, order="asc"),
    )
    q.add(
        k,
        "top 3 products by number of customers in 2020",
        I("distinct_customers", year(2020), group_by="product", top_n=3),
    )
    q.add(
        k,
        "What were our 5 best selling products by revenue last year?",
        I(dates=year(last.year - 1), group_by="product", top_n=5),
    )

    k = "top/bottom categories"
    q.add(k, "What is the best-selling category in 2020?", I(dates=year(2020), group_by="category", top_n=1))
    q.add(
        k,
        "worst category by orders in 2016",
        I("orders", year(2016), group_by="category", top_n=1, order="asc"),
    )
    q.add(
        k, "top 2 categories by units sold in 2019", I("quantity", year(2019), group_by="category", top_n=2)
    )
    q.add(
        k,
        "Which category sold the fewest units in 2011?",
        I("quantity", year(2011), group_by="category", top_n=1, order="asc"),
    )
    q.add(
        k,
        "Which category had the lowest revenue in 2013?",
        I(dates=year(2013), group_by="category", top_n=1, order="asc"),
    )
    q.add(
        k,
        "bottom 2 categories by average order value in 2022",
        I("average_order_value", year(2022), group_by="category", top_n=2, order="asc"),
    )
    q.add(
        k,
        "Which category had the most distinct customers in 2018?",
        I("distinct_customers", year(2018), group_by="category", top_n=1),
    )
    q.add(
        k, "highest grossing category last year", I(dates=year(last.year - 1), group_by="category", top_n=1)
    )


def _dates(q: _Set, last: dt.date) -> None:
    k = "single day"
    june26 = day(2011, 6, 26)
    q.add(k, "Revenue on June 26, 2011", I(dates=june26))
    q.add(k, "What were sales on 26 June 2011?", I(dates=june26))
    q.add(k, "orders on 2011-06-26", I("orders", june26))
    q.add(k, "How much did we sell on 6/26/2011?", I(dates=june26))
    q.add(k, "units sold on March 3, 2015", I("quantity", day(2015, 3, 3)))
    q.add(k, "How many orders on 3 March 2015?", I("orders", day(2015, 3, 3)))
    q.add(k, "revenue 2015-03-03", I(dates=day(2015, 3, 3)))
    q.add(k, "How many orders were there on 12/24/2019?", I("orders", day(2019, 12, 24)))
    q.add(k, "Office revenue on December 24, 2019", I(dates=day(2019, 12, 24), categories=("Office",)))
    q.add(k, "What did we sell on 1 January 2020?", I(dates=day(2020, 1, 1)))
    q.add(k, "How much did we sell on Jan 5, 2018?", I(dates=day(2018, 1, 5)))
    q.add(k, "Average order value on 2016-07-04", I("average_order_value", day(2016, 7, 4)))
    aug9 = day(2022, 8, 9)
    q.add(k, "orders on August 9, 2022", I("orders", aug9))
    q.add(k, "orders on 9 August 2022", I("orders", aug9))
    q.add(k, "orders on 2022-08-09", I("orders", aug9))
    q.add(k, "orders on 8/9/2022", I("orders", aug9))

    k = "date range"
    q.add(k, "Revenue between June 26, 2011 and July 24, 2011", I(dates=(D(2011, 6, 26), D(2011, 7, 24))))
    q.add(k, "orders from 1 March 2016 to 15 April 2016", I("orders", (D(2016, 3, 1), D(2016, 4, 15))))
    q.add(k, "sales from 2019-02-01 to 2019-02-14", I(dates=(D(2019, 2, 1), D(2019, 2, 14))))
    q.add(k, "units sold between 3/1/2020 and 3/31/2020", I("quantity", month(2020, 3)))
    q.add(
        k,
        "How much did Office sell between January 10, 2018 and February 20, 2018?",
        I(dates=(D(2018, 1, 10), D(2018, 2, 20)), categories=("Office",)),
    )
    q.add(k, "revenue from May 5, 2013 through June 5, 2013", I(dates=(D(2013, 5, 5), D(2013, 6, 5))))
    q.add(
        k,
        "How many orders from 10 October 2021 until 20 November 2021?",
        I("orders", (D(2021, 10, 10), D(2021, 11, 20))),
    )
    q.add(
        k, "AOV between 2022-01-01 and 2022-03-15", I("average_order_value", (D(2022, 1, 1), D(2022, 3, 15)))
    )

    k = "half year"
    q.add(k, "Revenue in the first half of 2016", I(dates=half(2016, 1)))
    q.add(k, "H1 2016 orders", I("orders", half(2016, 1)))
    q.add(k, "sales in the second half of 2019", I(dates=half(2019, 2)))
    q.add(k, "H2 2020 revenue for Electronics", I(dates=half(2020, 2), categories=("Electronics",)))
    q.add(k, "How many units did we sell in the first half of 2012?", I("quantity", half(2012, 1)))
    q.add(k, "average order value in H2 2018", I("average_order_value", half(2018, 2)))
    q.add(k, "Laptop revenue in the 1st half of 2021", I(dates=half(2021, 1), products=("Laptop",)))
    q.add(k, "H1 2019 units sold", I("quantity", half(2019, 1)))
    q.add(
        k,
        "How many orders did Sundry get in the second half of 2013?",
        I("orders", half(2013, 2), ("Sundry",)),
    )

    k = "quarter"
    q.add(k, "Revenue in Q3 2021", I(dates=quarter(2021, 3)))
    q.add(k, "How much did we sell in the second quarter of 2013?", I(dates=quarter(2013, 2)))
    q.add(k, "Q1 2019 orders for Office", I("orders", quarter(2019, 1), ("Office",)))
    q.add(k, "units in 2017 Q4", I("quantity", quarter(2017, 4)))
    q.add(k, "sales in the fourth quarter of 2015", I(dates=quarter(2015, 4)))
    q.add(k, "What was the revenue in Q2 of 2020?", I(dates=quarter(2020, 2)))
    q.add(k, "Stationery orders in the third quarter of 2014", I("orders", quarter(2014, 3), ("Stationery",)))
    for number, ordinal, y in ((1, "first", 2012), (4, "fourth", 2022)):
        i = I(dates=quarter(y, number))
        q.add(k, f"Q{number} {y} sales", i)
        q.add(k, f"sales in the {ordinal} quarter of {y}", i)
        q.add(k, f"What was revenue in Q{number} {y}?", i)

    k = "last N days/weeks/months"

    def days(n: int) -> Dates:
        return last - dt.timedelta(days=n - 1), last

    def months(n: int) -> Dates:
        """``n`` calendar months, the last one the month of the last order (as "last 3 months")."""
        return months_back(last, n - 1), last

    q.add(k, "Revenue in the last 30 days", I(dates=days(30)))
    q.add(k, "orders in the past 7 days", I("orders", days(7)))
    q.add(k, "How many units did we sell in the last 3 months?", I("quantity", months(3)))
    q.add(k, "sales over the last 6 months", I(dates=months(6)))
    q.add(k, "revenue in the last two weeks", I(dates=days(14)))
    q.add(k, "How many orders in the past 90 days?", I("orders", days(90)))
    q.add(k, "last 12 months revenue", I(dates=months(12)))
    q.add(k, "Electronics revenue in the last 2 months", I(dates=months(2), categories=("Electronics",)))
    q.add(k, "How many customers ordered in the last 6 weeks?", I("distinct_customers", days(42)))

    k = "year to date"
    ytd = (D(last.year, 1, 1), last)
    q.add(k, "Revenue year to date", I(dates=ytd))
    q.add(k, "YTD orders", I("orders", ytd))
    q.add(k, "How much have we sold this year so far?", I(dates=ytd))
    q.add(k, "year-to-date sales for Office", I(dates=ytd, categories=("Office",)))
    q.add(k, "units sold so far this year", I("quantity", ytd))
    q.add(k, "What's our YTD revenue?", I(dates=ytd))
    q.add(k, "laptops sold year to date", I("quantity", ytd, products=("Laptop",)))

    k = "since month"
    q.add(k, "Revenue since March 2019", I(dates=(D(2019, 3, 1), None)))
    q.add(k, "How many orders since June 2022?", I("orders", (D(2022, 6, 1), None)))
    q.add(k, "sales of laptops since January 2021", I(dates=(D(2021, 1, 1), None), products=("Laptop",)))
    q.add(k, "units sold since Oct 2020", I("quantity", (D(2020, 10, 1), None)))
    q.add(k, "Office revenue since September 2018", I(dates=(D(2018, 9, 1), None), categories=("Office",)))
    q.add(k, "average order value since April 2023", I("average_order_value", (D(2023, 4, 1), None)))
    q.add(
        k,
        "How many units of paper since November 2021?",
        I("quantity", (D(2021, 11, 1), None), products=("Paper",)),
    )


def _comparisons(q: _Set) -> None:
    k = "compare years"

    def years(a: int, b: int, metric: str = "revenue", categories: tuple[str, ...] = ()) -> Intent:
        return I(metric, categories=categories, periods=periods(year(a), year(b)), compare=True)

    q.add(k, "Compare revenue in 2016 vs 2017", years(2016, 2017))
    q.add(k, "Revenue 2018 versus 2019", years(2018, 2019))
    q.add(k, "How did orders change from 2015 to 2016?", years(2015, 2016, "orders"))
    q.add(k, "2012 vs 2020 sales", years(2012, 2020))
    q.add(k, "Compare units sold in 2014 and 2021", years(2014, 2021, "quantity"))
    q.add(k, "Did revenue grow from 2019 to 2020?", years(2019, 2020))
    q.add(k, "Office revenue 2020 compared to 2021", years(2020, 2021, categories=("Office",)))
    q.add(k, "AOV in 2013 vs 2018", years(2013, 2018, "average_order_value"))

    k = "compare months"

    def months(a: Dates, b: Dates, metric: str = "revenue", categories: tuple[str, ...] = ()) -> Intent:
        return I(metric, categories=categories, periods=periods(a, b), compare=True)

    q.add(k, "March 2019 vs March 2020 revenue", months(month(2019, 3), month(2020, 3)))
    q.add(k, "Compare orders in June 2018 and June 2019", months(month(2018, 6), month(2019, 6), "orders"))
    q.add(
        k,
        "How did sales in December 2021 compare with December 2022?",
        months(month(2021, 12), month(2022, 12)),
    )
    q.add(
        k,
        "units sold in January 2017 versus January 2020",
        months(month(2017, 1), month(2020, 1), "quantity"),
    )
    q.add(
        k,
        "Electronics revenue in May 2015 vs May 2016",
        months(month(2015, 5), month(2016, 5), categories=("Electronics",)),
    )
    q.add(k, "revenue in Q1 2018 vs Q1 2019", months(quarter(2018, 1), quarter(2019, 1)))
    q.add(
        k,
        "Office orders: April 2014 vs April 2021",
        months(month(2014, 4), month(2021, 4), "orders", ("Office",)),
    )
    q.add(
        k,
        "compare average order value in July 2012 with July 2013",
        months(month(2012, 7), month(2013, 7), "average_order_value"),
    )

    k = "category vs category"

    def names(
        metric: str, dates: Dates, categories: tuple[str, ...] = (), products: tuple[str, ...] = ()
    ) -> Intent:
        by = "category" if categories else "product"
        return I(metric, dates, categories, products, group_by=by, compare=True)

    q.add(k, "Office vs Sundry revenue in 2019", names("revenue", year(2019), ("Office", "Sundry")))
    q.add(
        k,
        "Compare Electronics and Stationery orders in 2020",
        names("orders", year(2020), ("Electronics", "Stationery")),
    )
    q.add(
        k,
        "How did Office sales compare with Stationery in 2018?",
        names("revenue", year(2018), ("Office", "Stationery")),
    )
    q.add(
        k,
        "laptops vs smartphones units sold in 2020",
        names("quantity", year(2020), products=("Laptop", "Smartphone")),
    )
    q.add(
        k,
        "units sold: Electronics versus Office in Q1 2021",
        names("quantity", quarter(2021, 1), ("Electronics", "Office")),
    )
    q.add(
        k,
        "revenue of desks compared with chairs in 2017",
        names("revenue", year(2017), products=("Desk", "Chair")),
    )

    k = "share of total"
    q.add(
        k,
        "What percentage of 2012 revenue came from Sundry?",
        I(dates=year(2012), categories=("Sundry",), share=True),
    )
    q.add(
        k,
        "What share of revenue in 2019 came from Office?",
        I(dates=year(2019), categories=("Office",), share=True),
    )
    q.add(k, "laptops as a percentage of 2020 revenue", I(dates=year(2020), products=("Laptop",), share=True))
    q.add(
        k,
        "What proportion of orders in 2016 were for Stationery?",
        I("orders", year(2016), ("Stationery",), share=True),
    )
    q.add(
        k, "Electronics' share of units sold in 2021", I("quantity", year(2021), ("Electronics",), share=True)
    )
    q.add(
        k,
        "What fraction of Q2 2018 revenue came from chairs?",
        I(dates=quarter(2018, 2), products=("Chair",), share=True),
    )
    q.add(k, "What % of 2017 sales was Office?", I(dates=year(2017), categories=("Office",), share=True))
    q.add(
        k,
        "What percentage of units sold in 2015 were pens?",
        I("quantity", year(2015), products=("Pen",), share=True),
    )


def _misspellings(q: _Set) -> None:
    k = "misspelt name"
    q.add(
        k,
        "stationary revenue in 2019",
        I(dates=year(2019), categories=("Stationery",), corrected=("Stationery",)),
    )
    q.add(
        k,
        "How many orders did electroncs have in 2020?",
        I("orders", year(2020), ("Electronics",), corrected=("Electronics",)),
    )
    q.add(
        k,
        "How many labtops did we sell in 2018?",
        I("quantity", year(2018), products=("Laptop",), corrected=("Laptop",)),
    )
    q.add(
        k,
        "revenue from smartphnes in 2017",
        I(dates=year(2017), products=("Smartphone",), corrected=("Smartphone",)),
    )
    q.add(k, "monitr sales 2016", I(dates=year(2016), products=("Monitor",), corrected=("Monitor",)))
    q.add(k, "offfice orders in 2014", I("orders", year(2014), ("Office",), corrected=("Office",)))
    q.add(k, "printrs revenue 2013", I(dates=year(2013), products=("Printer",), corrected=("Printer",)))
    q.add(k, "notebok sales in 2019", I(dates=year(2019), products=("Notebook",), corrected=("Notebook",)))
    q.add(
        k,
        "Revenue by month for stationary in 2015",
        I(dates=year(2015), categories=("Stationery",), group_by="month", corrected=("Stationery",)),
    )
    q.add(
        k,
        "How many chiars did we sell in 2020?",
        I("quantity", year(2020), products=("Chair",), corrected=("Chair",)),
    )


def _follow_ups(q: _Set) -> None:
    k = "follow-up"
    office = "How many orders did Office have in 2019?"
    q.add(k, (office, "and in 2020?"), I("orders", year(2020), ("Office",)))
    q.add(k, (office, "what about Sundry?"), I("orders", year(2019), ("Sundry",)))
    q.add(k, (office, "same in units"), I("quantity", year(2019), ("Office",)))
    q.add(k, (office, "by month instead"), I("orders", year(2019), ("Office",), group_by="month"))
    q.add(k, (office, "and the year before?"), I("orders", year(2018), ("Office",)))
    q.add(
        k,
        (office, "and in 2020?", "by quarter instead"),
        I("orders", year(2020), ("Office",), group_by="quarter"),
    )
    laptops = "Revenue for laptops in 2021"
    q.add(k, (laptops, "what about desks?"), I(dates=year(2021), products=("Desk",)))
    q.add(k, (laptops, "and in Q1 2022?"), I(dates=quarter(2022, 1), products=("Laptop",)))
    q.add(
        k,
        ("Top 5 products by revenue in 2019", "and in 2020?"),
        I(dates=year(2020), group_by="product", top_n=5),
    )
    q.add(
        k,
        ("Revenue by month in 2019", "what about Electronics?"),
        I(dates=year(2019), categories=("Electronics",), group_by="month"),
    )
    q.add(
        k,
        ("How many units did we sell in March 2020?", "and the month before?"),
        I("quantity", month(2020, 2)),
    )
    q.add(
        k,
        ("Revenue in 2018", "what about Stationery?", "same in orders"),
        I("orders", year(2018), ("Stationery",)),
    )
    q.add(
        k,
        ("Average order value in 2017", "and for Electronics?"),
        I("average_order_value", year(2017), ("Electronics",)),
    )
    q.add(
        k,
        ("Sales of chairs in Q2 2016", "and the year before?"),
        I(dates=quarter(2015, 2), products=("Chair",)),
    )
    q.add(
        k,
        ("Revenue by category in 2020", "same in orders", "and in 2021?"),
        I("orders", year(2021), group_by="category"),
    )
    q.add(
        k, ("How many orders did we get in July 2014?", "and in September 2014?"), I("orders", month(2014, 9))
    )
    q.add(
        k,
        ("What was the average order value in 2016?", "what about laptops?"),
        I("average_order_value", year(2016), products=("Laptop",)),
    )


def _declines(q: _Set) -> None:
    no = I(decline=True)
    for text in (
        "How much did we sell of Toys in 2019?",
        "revenue from the Gaming category",
        "How many tablets did we sell in 2020?",
        "sales of Furniture in 2018",
        "orders for headphones last year",
        "What was the revenue of the Garden category in 2017?",
        "top 5 products in the Kitchen category by revenue",
        "how many printer cartridges did we sell in 2016?",
    ):
        q.add("decline: unknown name", text, no)
    for text in (
        "sales in spring 2016",
        "revenue in March",
        "orders during Christmas 2019",
        "How much did we sell last summer?",
        "revenue on Black Friday 2018",
        "units sold in the holidays",
        "How many orders on June 26?",
        "revenue in the early 2010s",
        "sales around Easter 2021",
    ):
        q.add("decline: unreadable date", text, no)
    for text in (
        "profit margin in 2019",
        "revenue by region",
        "which sales rep sold most",
        "What was our profit in 2020?",
        "sales by country in 2018",
        "How many returns did we have in 2019?",
        "revenue by store in 2021",
        "shipping revenue in 2018",
        "revenue per salesperson",
        "sales by payment method in 2019",
        "How many orders were refunded in 2017?",
        "average delivery time of orders in 2020",
    ):
        q.add("decline: not in the data", text, no)


def build(last: dt.date) -> list[Question]:
    """The whole set; relative dates count from ``last``, the data's last order date."""
    q = _Set()
    _metrics(q, last)
    _time(q, last)
    _names(q, last)
    _dates(q, last)
    _comparisons(q)
    _misspellings(q)
    _follow_ups(q)
    _declines(q)
    return q.questions


# -- the expected figures, from the raw rows ------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    value: Figure
    rows: list[tuple[str, Figure]]
    change: tuple[Figure, Decimal | None] | None = None
    share: tuple[Figure, Figure, Decimal | None] | None = None


def _hundredths(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator / 100 (both >= 0) to 2 decimals, halves up, exactly: cents / orders
    gives money to the cent, units * 100 / orders a ratio to 2 decimals."""
    return Decimal((2 * numerator + denominator) // (2 * denominator)).scaleb(-2)


def _percent(part: Figure, whole: Figure) -> Decimal | None:
    """part * 100 / whole to 2 decimals, halves away from zero (Decimal's ROUND_HALF_UP)."""
    if part is None or whole is None or whole == 0:
        return None
    exact = Fraction(part) * 100 / Fraction(whole)
    cents = int(abs(exact) * 100 + Fraction(1, 2))
    return Decimal(cents if exact >= 0 else -cents).scaleb(-2)


_AGGREGATES = (
    pl.col("total_cents").sum().alias("cents"),
    pl.len().alias("orders"),
    pl.col("quantity").sum().alias("units"),
    pl.col("customer_id").n_unique().alias("customers"),
    pl.col("total_cents").max().alias("largest"),
    pl.col("total_cents").min().alias("smallest"),
)


def _value(metric: str, sums: dict[str, Any]) -> Figure:
    orders = int(sums["orders"] or 0)
    cents, units = int(sums["cents"] or 0), int(sums["units"] or 0)
    if metric == "revenue":
        return Decimal(cents).scaleb(-2)
    if metric == "orders":
        return orders
    if metric == "quantity":
        return units
    if orders == 0:
        return None
    if metric == "average_order_value":
        return _hundredths(cents, orders)
    if metric == "average_unit_price":
        return _hundredths(cents, units)
    if metric == "items_per_order":
        return _hundredths(units * 100, orders)
    if metric == "distinct_customers":
        return int(sums["customers"])
    if metric == "largest_order":
        return Decimal(int(sums["largest"])).scaleb(-2)
    if metric == "smallest_order":
        return Decimal(int(sums["smallest"])).scaleb(-2)
    raise ValueError(f"no expectation for the metric {metric!r}")


def _rows_of(frame: pl.DataFrame, dates: Dates, intent: Intent, everything: bool = False) -> pl.DataFrame:
    start, end = dates
    if start is not None:
        frame = frame.filter(pl.col("order_date") >= start)
    if end is not None:
        frame = frame.filter(pl.col("order_date") <= end)
    if not everything and intent.categories:
        frame = frame.filter(pl.col("categories").is_in(list(intent.categories)))
    if not everything and intent.products:
        frame = frame.filter(pl.col("product_names").is_in(list(intent.products)))
    return frame


def _totals(rows: pl.DataFrame) -> dict[str, Any]:
    return rows.select(*_AGGREGATES).row(0, named=True)


_KEYS: dict[str, tuple[pl.Expr, Callable[[Any], str]]] = {
    "day": (pl.col("order_date"), lambda k: k.isoformat()),
    "week": (pl.col("order_date").dt.truncate("1w"), lambda k: f"week of {k.isoformat()}"),
    "month": (pl.col("order_date").dt.truncate("1mo"), lambda k: k.strftime("%Y-%m")),
    "quarter": (pl.col("order_date").dt.truncate("1q"), lambda k: f"{k.year} Q{(k.month - 1) // 3 + 1}"),
    "year": (pl.col("order_date").dt.year(), str),
    "weekday": (pl.col("order_date").dt.weekday(), lambda k: WEEKDAYS[k - 1]),
    "category": (pl.col("categories"), str),
    "product": (pl.col("product_names"), str),
    "customer": (pl.col("customer_id"), lambda k: f"customer {k}"),
}


def _ranked(rows: list[tuple[str, Figure]], descending: bool) -> list[tuple[str, Figure]]:
    """By value (highest first unless ascending), ties by label; groups without a value last."""
    valued = sorted((row for row in rows if row[1] is not None), key=lambda row: row[0])
    valued.sort(key=lambda row: row[1], reverse=descending)  # type: ignore[arg-type, return-value]
    return valued + [row for row in rows if row[1] is None]


def expected(frame: pl.DataFrame, intent: Intent) -> Expected:
    """The figures ``intent`` asks for, from the raw rows of ``frame`` alone."""
    if intent.periods:
        rows = [
            (start.isoformat(), _value(intent.metric, _totals(_rows_of(frame, (start, end), intent))))
            for start, end in intent.periods
        ]
        return Expected(None, rows, _change(rows))
    selected = _rows_of(frame, intent.dates, intent)
    totals = _totals(selected)
    value = _value(intent.metric, totals)
    share = None
    if intent.share:
        whole = _value(intent.metric, _totals(_rows_of(frame, intent.dates, intent, everything=True)))
        share = (value, whole, _percent(value, whole))
    if intent.group_by == "none" or selected.height == 0:
        return Expected(value, [], None, share)
    key, label = _KEYS[intent.group_by]
    groups = selected.group_by(key.alias("key")).agg(*_AGGREGATES).sort("key")
    found = [(label(g["key"]), _value(intent.metric, g)) for g in groups.iter_rows(named=True)]
    if intent.group_by in ("category", "product", "customer") or intent.top_n is not None:
        found = _ranked(found, descending=intent.order == "desc")
    limit = intent.top_n or (CUSTOMER_ROWS if intent.group_by == "customer" else None)
    if limit:
        found = found[:limit]
    return Expected(value, found, _change(found) if intent.compare else None, share)


def _change(rows: list[tuple[str, Figure]]) -> tuple[Figure, Decimal | None] | None:
    if len(rows) != 2 or rows[0][1] is None or rows[1][1] is None:
        return None
    first, second = rows[0][1], rows[1][1]
    absolute = second - first
    return absolute, _percent(absolute, first)


# -- scoring ---------------------------------------------------------------------------------------

EXACT, DECLINED, WRONG = "exact", "declined", "wrong"


@dataclass(frozen=True)
class Outcome:
    question: Question
    result: str
    reading: str
    """What the product made of it: the spec and its figures, or why it declined."""
    problems: tuple[str, ...] = ()
    expected: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def _spec_words(spec: Any) -> str:
    return str(spec.model_dump(mode="json", exclude_defaults=True))


def _got(result: SalesAnswer, by_period: bool) -> list[tuple[str, Figure]]:
    rows = []
    for row in result.rows:
        label = row.period.isoformat() if by_period and row.period is not None else row.label
        rows.append((label, row.value))
    return rows


def _short(rows: list[tuple[str, Figure]], limit: int = 6) -> str:
    shown = ", ".join(f"{label}={value}" for label, value in rows[:limit])
    return f"[{shown}{', ...' if len(rows) > limit else ''}] ({len(rows)} rows)"


def _compare(intent: Intent, want: Expected, result: SalesAnswer, notes: tuple[str, ...]) -> list[str]:
    problems = []
    if not intent.periods and result.value != want.value:
        problems.append(f"value {result.value} != expected {want.value}")
    got = _got(result, by_period=bool(intent.periods))
    if got != want.rows:
        problems.append(f"rows {_short(got)} != expected {_short(want.rows)}")
    if intent.compare:
        change = None if result.change is None else (result.change.absolute, result.change.percent)
        if change != want.change:
            problems.append(f"change {change} != expected {want.change}")
    if intent.share:
        share = (
            None if result.share is None else (result.share.part, result.share.whole, result.share.percent)
        )
        if share != want.share:
            problems.append(f"share {share} != expected {want.share}")
    said = " ".join(notes)
    problems += [
        f"no note says the misspelling was read as {name}" for name in intent.corrected if name not in said
    ]
    return problems


def score(question: Question, vocabulary: Vocabulary, engine: Engine, frame: pl.DataFrame) -> Outcome:
    """Ask the product ``question`` and judge its answer against the intent's figures."""
    intent = question.intent
    want = None if intent.decline else expected(frame, intent)
    wanted = intent.words()
    if want is not None:
        wanted += f" => value {want.value}, rows {_short(want.rows)}"
        if want.change is not None:
            wanted += f", change {want.change}"
        if want.share is not None:
            wanted += f", share {want.share}"
    try:
        reading = read_conversation(list(question.messages), vocabulary)
        if not reading.about_sales:
            declined: str | None = "not read (not seen as a sales question)"
        elif reading.spec is None:
            declined = f"declined: {reading.declined}"
        else:
            declined = None
        result = None
        if reading.spec is not None:
            try:
                result = answer(engine, reading.spec, reading.notes)
                result.sentence()
            except QueryError as exc:
                declined = f"QueryError: {exc} (spec {_spec_words(reading.spec)})"
    except Exception as exc:  # a bug of the product is a wrong answer, and the run goes on
        return Outcome(question, WRONG, f"raised {type(exc).__name__}: {exc}", (), wanted)
    if declined is not None:
        return Outcome(question, EXACT if intent.decline else DECLINED, declined, (), wanted, reading.notes)
    assert result is not None and reading.spec is not None
    shown = f"spec {_spec_words(reading.spec)} => value {result.value}, rows {_short(_got(result, False))}"
    if result.change is not None:
        shown += f", change ({result.change.absolute}, {result.change.percent})"
    if result.share is not None:
        shown += f", share ({result.share.part}, {result.share.whole}, {result.share.percent})"
    if reading.notes:
        shown += f"; notes {list(reading.notes)}"
    if want is None:
        return Outcome(question, WRONG, shown, ("answered a question that must be declined",), wanted)
    problems = _compare(intent, want, result, reading.notes)
    return Outcome(question, WRONG if problems else EXACT, shown, tuple(problems), wanted, reading.notes)


def run(
    questions: Iterable[Question], vocabulary: Vocabulary, engine: Engine, frame: pl.DataFrame
) -> list[Outcome]:
    return [score(question, vocabulary, engine, frame) for question in questions]


# -- reports ---------------------------------------------------------------------------------------


def table(outcomes: list[Outcome], title: str = "") -> str:
    """Per-kind counts (exact / declined / wrong), in the order the kinds come, and the totals."""
    kinds = list(dict.fromkeys(o.question.kind for o in outcomes))
    counts = {kind: Counter(o.result for o in outcomes if o.question.kind == kind) for kind in kinds}
    width = max(len(kind) for kind in kinds) + 2
    lines = [title] if title else []
    lines.append(f"{'kind':<{width}}{'n':>5}{'exact':>7}{'declined':>10}{'wrong':>7}")
    for kind in kinds:
        c = counts[kind]
        lines.append(f"{kind:<{width}}{c.total():>5}{c[EXACT]:>7}{c[DECLINED]:>10}{c[WRONG]:>7}")
    total = Counter(o.result for o in outcomes)
    lines.append(f"{'all':<{width}}{total.total():>5}{total[EXACT]:>7}{total[DECLINED]:>10}{total[WRONG]:>7}")
    answerable = [o for o in outcomes if not o.question.intent.decline]
    exact = sum(o.result == EXACT for o in answerable)
    share = 100 * exact / len(answerable)
    lines.append(f"exact over the {len(answerable)} answerable questions: {exact} ({share:.1f} %)")
    return "\n".join(lines)


def failures(outcomes: list[Outcome]) -> str:
    """Every question not answered exactly: its text, what the product made of it, what was expected."""
    lines = []
    for o in outcomes:
        if o.result == EXACT:
            continue
        lines.append(f"[{o.result}] ({o.question.kind}) {o.question.text}")
        lines.append(f"    got:      {o.reading}")
        for problem in o.problems:
            lines.append(f"    problem:  {problem}")
        lines.append(f"    expected: {o.expected}")
    return "\n".join(lines)
