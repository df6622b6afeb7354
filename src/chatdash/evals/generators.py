"""Built-in case generators: a scenario's ``generate: NAME`` makes its cases when the run starts.

``sales`` asks the chat hundreds of sales questions, written here in the varied ways people type them
(several phrasings per kind), over the metrics, periods, names, rankings, comparisons and shares the
question reader understands. Each question's meaning is written by hand next to its text (an
``_Ask``), and its expected answer is computed from that meaning by SQL written here over the raw
``sales_data`` rows, never through ``chatdash.sales``, so the test bed checks the reader and the query
layer together. The questions are built from what the loaded table holds (its years, categories and
products), and relative dates ("last year", "the last 30 days") count from its last order date, the
product's rule. A case id names the kind, then the question's details: ``revenue-year-2019``,
``units-product-laptop-2019-01`` (units of Laptop in January 2019), ``customers-last-30-days``,
``top-products-revenue-2019-5``, ``compare-years-revenue-2016-2017``; the same data gives the same
cases, in the same order.

The expected answers cost one to three queries per question (about 350 questions), each over the
rows of its period: a second or two on the 100,000 rows of ``chatdash init``.

Every case's ``expected`` has one shape, ``{"value": "2008648.41", "terms": ["revenue", "2019"]}``:

- ``value`` is the figure ``SalesAnswer.as_dict()["value"]`` holds, as an exact string (money to the
  cent, counts and customers as whole numbers): the metric over every order the question selects,
  which for a ranking, a grouping or a comparison is the total over all of them, and for a share the
  named part (its percentage is a term);
- ``terms`` are words a right reply contains, case aside: the metric, the period, the names asked
  about, the winners of a ranking (in the answer's labels: ``2019-07``, ``2019 Q3``, ``customer 512``),
  the percentage of a share (``23.45%``) and the change of a comparison of years (``+4.12%``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, distinct, extract, func, select

from chatdash.db.models import SalesRow
from chatdash.errors import InvalidInput
from chatdash.evals.types import Case

MetricName = Literal[
    "revenue", "orders", "quantity", "average_order_value", "distinct_customers", "average_unit_price"
]
Group = Literal["none", "category", "product", "customer", "month", "quarter", "year"]
Figure = Decimal | int | None
T = TypeVar("T")

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
METRIC_WORD: dict[str, str] = {
    "revenue": "revenue",
    "orders": "orders",
    "quantity": "units",
    "average_order_value": "average order value",
    "distinct_customers": "customers",
    "average_unit_price": "unit price",
}
"""The word of each metric a reply names it by (every label the answer gives contains it)."""
KIND: dict[str, str] = {
    "revenue": "revenue",
    "orders": "orders",
    "quantity": "units",
    "average_order_value": "aov",
    "distinct_customers": "customers",
    "average_unit_price": "unit-price",
}
"""Each metric in case ids."""
LISTED = 5
"""Rows a ranked answer names in its sentence."""

_SALES = SalesRow.__table__.c


@dataclass(frozen=True, slots=True)
class _Ask:
    """What a question means, written by hand: the orders it selects (inclusive dates, None an open
    end), the metric, a grouping with its ranking, and whether it asks a share or a change."""

    metric: MetricName = "revenue"
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    group: Group = "none"
    top: int | None = None
    ascending: bool = False
    share: bool = False
    change: bool = False
    """Two periods compared: the percentage change from the first to the second is a term."""
    terms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Sums:
    cents: int = 0
    orders: int = 0
    units: int = 0
    customers: int | None = None
    """Distinct customers; None where sums of groups were merged (they cannot be added)."""

    def __add__(self, other: _Sums) -> _Sums:
        return _Sums(self.cents + other.cents, self.orders + other.orders, self.units + other.units)


# -- the data's own words ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Data:
    """What the loaded table holds, read from it directly: the words the questions are made of."""

    first: dt.date
    last: dt.date
    categories: tuple[str, ...]
    products: tuple[str, ...]

    @property
    def years(self) -> list[int]:
        return list(range(self.first.year, self.last.year + 1))

    def year(self, k: int) -> int:
        """The ``k``-th of a spread over the data's years (each year once, then again)."""
        return _spread(self.years, k, 5, 3)

    def category(self, k: int) -> str:
        return _spread(self.categories, k, 1, 0)

    def product(self, k: int) -> str:
        return _spread(self.products, k, 7, 4)

    def day(self, k: int) -> dt.date:
        """A day of the data, spread over its years and months (days 1-28 exist in every month)."""
        return dt.date(self.year(k), (k * 7) % 12 + 1, (k * 11) % 28 + 1)


def _spread(items: Sequence[T], k: int, step: int, offset: int) -> T:
    """``items[(k * step + offset) % n]``, the step made prime to ``n`` so every item comes up."""
    while math.gcd(step, len(items)) != 1:
        step += 1
    return items[(k * step + offset) % len(items)]


def _read_data(conn: Connection) -> _Data:
    count, first, last = conn.execute(
        select(func.count(_SALES.order_id), func.min(_SALES.order_date), func.max(_SALES.order_date))
    ).one()
    if not count:
        raise InvalidInput("the sales table is empty: load data first: chatdash init")
    categories = conn.scalars(select(_SALES.categories).distinct().order_by(_SALES.categories)).all()
    products = conn.scalars(select(_SALES.product_names).distinct().order_by(_SALES.product_names)).all()
    return _Data(first, last, tuple(categories), tuple(products))


def _plural(name: str) -> str:
    """How a question writes several of a product: "laptops", "plastic cups", "paper"."""
    word = name.lower()
    if word.endswith("s") or word in ("paper",):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _year(y: int) -> tuple[dt.date, dt.date]:
    return dt.date(y, 1, 1), dt.date(y, 12, 31)


def _month(y: int, m: int) -> tuple[dt.date, dt.date]:
    following = dt.date(y + m // 12, m % 12 + 1, 1)
    return dt.date(y, m, 1), following - dt.timedelta(days=1)


def _quarter(y: int, q: int) -> tuple[dt.date, dt.date]:
    return _month(y, 3 * q - 2)[0], _month(y, 3 * q)[1]


def _months_back(day: dt.date, n: int) -> dt.date:
    """The first of the month ``n`` calendar months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


# -- the questions -----------------------------------------------------------------------------


class _Book:
    """The questions in the order they are written, each with an id ``KIND-DETAIL`` (made unique
    with ``-2``, ``-3`` ...); a question already asked (data with few years or names repeats some)
    is asked once."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, _Ask]] = []
        self._ids: set[str] = set()
        self._texts: set[str] = set()

    def add(self, kind: str, detail: object, text: str, ask: _Ask) -> None:
        if text.lower() in self._texts:
            return
        self._texts.add(text.lower())
        base = f"{kind}-{_slug(str(detail))}".rstrip("-")
        case_id, n = base, 1
        while case_id in self._ids:
            n += 1
            case_id = f"{base}-{n}"
        self._ids.add(case_id)
        self.entries.append((case_id, text, ask))


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


ORDINALS = ("first", "second", "third", "fourth")


def _fill(d: _Data, n: int, text: str) -> tuple[str, _Ask, str, str]:
    """A question of the simple kinds: ``text`` with its placeholders filled for the ``n``-th case,
    what it means, its scope (``year``, ``quarter``, ``month``, ``half``, ``category``, ``product``)
    and the detail of its id. The placeholders say what is asked: ``{c}`` a category, ``{p}``/``{pl}``
    /``{lp}`` a product (as named, in the plural, in lower case), ``{q}``/``{o}`` a quarter (number,
    ordinal), ``{month}``/``{mm}`` a month, "first/second half" or "H1/H2" a half, else the year ``{y}``."""
    c, p, y, q, m = d.category(n), d.product(n), d.year(n), n % 4 + 1, (n * 5) % 12 + 1
    categories = (c,) if "{c}" in text or "{lc}" in text else ()
    products = (p,) if any(f in text for f in ("{p}", "{pl}", "{lp}")) else ()
    when: tuple[str, ...]
    if "{q}" in text or "{o}" in text:
        (start, end), when, scope = _quarter(y, q), (str(y), f"Q{q}"), "quarter"
    elif "{month}" in text or "{mm" in text:
        (start, end), when, scope = _month(y, m), (f"{MONTHS[m - 1]} {y}",), "month"
    elif "first half" in text or "H1" in text:
        (start, end), when, scope = (dt.date(y, 1, 1), dt.date(y, 6, 30)), (str(y),), "half"
    elif "second half" in text or "H2" in text:
        (start, end), when, scope = (dt.date(y, 7, 1), dt.date(y, 12, 31)), (str(y),), "half"
    else:
        (start, end), when, scope = _year(y), (str(y),), "year"
    words = text.format(
        c=c, lc=c.lower(), p=p, pl=_plural(p), lp=p.lower(), y=y, q=q, o=ORDINALS[q - 1],
        month=MONTHS[m - 1], mm=m,
    )  # fmt: skip
    names = (*categories, *products)
    ask = _Ask("revenue", start, end, categories, products, terms=(*names, *when))
    detail = "-".join((*names, str(y), *((f"q{q}",) if scope == "quarter" else ())))
    if scope == "month":
        detail += f"-{m:02d}"
    elif scope == "half":
        detail += "-h1" if start.month == 1 else "-h2"
    return words, ask, ("category" if categories else "product" if products else scope), detail


SIMPLE: tuple[tuple[MetricName, int, tuple[str, ...]], ...] = (
    # (metric, passes: how many times each phrasing is asked, with other names and dates; phrasings)
    (
        "revenue",
        2,
        (
            "What was our total revenue in {y}?",
            "How much did we sell in {y}?",
            "revenue {y}",
            "Total sales for {y}",
            "turnover in {y}",
            "How much money did we make in {y}?",
            "Show me the revenue for {y}",
            "how much revenue did we bring in during {y}",
            "What were total sales in {y}?",
            "What was the turnover for {y}?",
            "How much did we earn in {y}",
            "Revenue in Q{q} {y}",
            "How much did we sell in the {o} quarter of {y}?",
            "Q{q} {y} sales",
            "What was revenue in {y} Q{q}?",
            "What was the revenue in Q{q} of {y}?",
            "Revenue in {month} {y}",
            "How much did we sell in {month} {y}?",
            "{month} {y} revenue",
            "What were sales in {month} {y}?",
            "sales {y}-{mm:02d}",
            "Revenue in the first half of {y}",
            "H2 {y} sales",
            "sales in the second half of {y}",
        ),
    ),
    (
        "revenue",
        2,
        (
            "How much revenue did {c} bring in during {y}?",
            "{lc} sales {y}",
            "What were {c}'s {y} sales?",
            "{c} revenue in {y}",
            "How much did the {c} category sell in {y}?",
            "revenue from {c} in {y}",
            "How much did we make from {c} products in {y}?",
            "sales of the {c} category in Q{q} {y}",
            "{c} revenue in {month} {y}",
            "How much did {c} sell in the second half of {y}?",
            "How much money did we make from {pl} in {y}?",
            "{p} revenue in {y}",
            "total sales of {pl} in {y}",
            "revenue for {pl} in {y}",
            "What was the revenue from {pl} in {y}?",
            "{lp} sales {y}",
            "How much revenue came from {pl} in {y}?",
            "{p} sales in Q{q} {y}",
            "revenue from {pl} in {month} {y}",
            "How much did {pl} bring in during {y}?",
        ),
    ),
    (
        "orders",
        2,
        (
            "How many orders did we get in {y}?",
            "Number of orders for {c} in {y}",
            "order count for {pl} in {y}",
            "How many orders were placed in {month} {y}?",
            "Orders in Q{q} {y} for the {c} category",
            "how many transactions in {y}",
            "{p} orders {y}",
            "number of orders of {pl} in {y}",
            "How many orders in the first half of {y}?",
            "{c} orders in {y}",
            "How many orders did {c} have in {y}?",
            "How many orders for {pl} in {y}?",
            "total number of orders in Q{q} {y}",
            "order count {y}",
            "How many purchases of {pl} were there in {y}?",
            "how many orders were there in {month} {y}",
        ),
    ),
    (
        "quantity",
        2,
        (
            "How many units did we sell in {y}?",
            "How many {pl} were sold in {y}?",
            "units sold of {pl} in {y}",
            "Quantity of {lp} sold in Q{q} {y}",
            "How many {pl} did we sell in {month} {y}?",
            "total units for {c} in {y}",
            "How many items were sold in {y}?",
            "{pl} sold in {y}",
            "units of {lp} sold in {y}",
            "units sold in {month} {y}",
            "How many {c} units did we sell in {y}?",
            "number of units sold in Q{q} {y}",
            "How many {pl} did we sell during {y}?",
            "quantity sold for {c} in the first half of {y}",
            "How many items did we sell in {y}?",
            "{c} units sold {y}",
        ),
    ),
    (
        "average_order_value",
        1,
        (
            "Average order value in {y}",
            "What was the AOV for {c} in {y}?",
            "What's the average spend per order in Q{q} {y}?",
            "mean order value of {c} in {y}",
            "avg order value {y}",
            "How much did an average order bring in during {y}?",
            "What was the average order value for {pl} in {y}?",
            "AOV {month} {y}",
            "average order value of {c} in Q{q} {y}",
            "What was our average order size in {y}?",
            "average order value for {pl} in the first half of {y}",
            "aov for {c} in {y}",
        ),
    ),
    (
        "distinct_customers",
        1,
        (
            "How many customers did we have in {y}?",
            "How many unique customers bought {pl} in {y}?",
            "number of distinct customers for {c} in {y}",
            "How many different customers ordered in {month} {y}?",
            "customer count {y}",
            "How many customers bought from the {c} category in Q{q} {y}?",
            "How many unique customers did we have in Q{q} {y}?",
            "number of customers in {month} {y}",
            "How many distinct customers bought {c} products in {y}?",
            "unique customers for {pl} in {y}",
            "How many individual customers ordered in {y}?",
            "how many customers bought {pl} in the first half of {y}",
        ),
    ),
    (
        "average_unit_price",
        1,
        (
            "What was the average unit price in {y}?",
            "average price of a {lp} in {y}",
            "average selling price for {c} in {y}",
            "price per unit of {pl} in {y}",
            "average unit price of {c} products in {y}",
            "What was the mean price of {pl} in Q{q} {y}?",
            "average unit price in {month} {y}",
            "What was the average price per item in {y}?",
            "avg unit price for {pl} in {y}",
            "average selling price of {c} in Q{q} {y}",
            "What was the average sale price of {pl} in {y}?",
            "mean unit price {y}",
        ),
    ),
)
"""The simple kinds: one metric over one period, of everything, a category or a product."""


def _simple(b: _Book, d: _Data) -> None:
    n = 0
    for metric, passes, texts in SIMPLE:
        for r in range(passes):
            for text in texts:
                n += 1
                words, ask, scope, detail = _fill(d, n + 3 * r, text)
                ask = _Ask(metric, ask.start, ask.end, ask.categories, ask.products, terms=ask.terms)
                b.add(f"{KIND[metric]}-{scope}", detail, words, ask)


def _dates(b: _Book, d: _Data) -> None:
    """Revenue over written date ranges and days, and of all time."""
    for k, text in enumerate(
        (
            "Revenue between {a:%B} {a.day}, {a.year} and {b:%B} {b.day}, {b.year}",
            "sales from {a:%Y-%m-%d} to {b:%Y-%m-%d}",
            "How much did we sell from {a.day} {a:%B} {a.year} to {b.day} {b:%B} {b.year}?",
            "revenue from {a:%B} {a.day}, {a.year} through {b:%B} {b.day}, {b.year}",
            "total sales between {a:%Y-%m-%d} and {b:%Y-%m-%d}",
            "How much revenue did we make between {a.day} {a:%B} {a.year} and {b.day} {b:%B} {b.year}?",
            "orders from {a:%B} {a.day}, {a.year} to {b:%B} {b.day}, {b.year}",
            "units sold between {a.month}/{a.day}/{a.year} and {b.month}/{b.day}/{b.year}",
        )
    ):
        a = d.day(k + 1)
        end = a + dt.timedelta(days=9 + 5 * k)
        metric = _metric_in(text)
        ask = _Ask(metric, a, end, terms=(str(a.year),))
        b.add(f"{KIND[metric]}-range", f"{a}-{end}", text.format(a=a, b=end), ask)
    if len(d.years) > 2:
        for k, text in enumerate(("Sales between {a} and {z}", "revenue from {a} to {z}")):
            y = d.years[(3 * k + 1) % (len(d.years) - 2)]
            ask = _Ask("revenue", _year(y)[0], _year(y + 1 + k)[1], terms=(str(y), str(y + 1 + k)))
            b.add("revenue-range", f"{y}-{y + 1 + k}", text.format(a=y, z=y + 1 + k), ask)
    for k, text in enumerate(
        (
            "Revenue on {a:%B} {a.day}, {a.year}",
            "What were sales on {a.day} {a:%B} {a.year}?",
            "How much did we sell on {a.month}/{a.day}/{a.year}?",
            "revenue {a:%Y-%m-%d}",
            "How many orders on {a.day} {a:%B} {a.year}?",
            "units sold on {a:%B} {a.day}, {a.year}",
        )
    ):
        a = d.day(k + 11)
        metric = _metric_in(text)
        b.add(f"{KIND[metric]}-day", a, text.format(a=a), _Ask(metric, a, a, terms=(str(a.year),)))
    for text in (
        "Total revenue of all time",
        "What is our all-time revenue?",
        "How many orders have we had in total?",
        "all-time units sold",
    ):
        metric = _metric_in(text)
        b.add(f"{KIND[metric]}-all-time", "", text, _Ask(metric))


def _metric_in(text: str) -> MetricName:
    """The metric of a question of the date kinds: orders, units, else revenue."""
    return "orders" if "orders" in text else "quantity" if "units" in text else "revenue"


def _relative(b: _Book, d: _Data) -> None:
    """Periods counted from the data's last order date, as the product counts them: calendar years,
    quarters and months before the one holding it, N days up to it, N months ending with its month."""
    last = d.last
    month = _months_back(last, 1)
    quarter = _months_back(last, (last.month - 1) % 3 + 3)
    since = _months_back(last, 8)
    periods: dict[str, tuple[dt.date, dt.date | None, tuple[str, ...]]] = {
        "last-year": (*_year(last.year - 1), (str(last.year - 1),)),
        "ytd": (dt.date(last.year, 1, 1), last, (str(last.year),)),
        "last-month": (*_month(month.year, month.month), (f"{MONTHS[month.month - 1]} {month.year}",)),
        "last-quarter": (*_quarter(quarter.year, (quarter.month + 2) // 3), (str(quarter.year),)),
        "last-7-days": (last - dt.timedelta(days=6), last, (str(last.year),)),
        "last-14-days": (last - dt.timedelta(days=13), last, (str(last.year),)),
        "last-30-days": (last - dt.timedelta(days=29), last, (str(last.year),)),
        "last-90-days": (last - dt.timedelta(days=89), last, (str(last.year),)),
        "last-3-months": (_months_back(last, 2), last, (str(last.year),)),
        "last-6-months": (_months_back(last, 5), last, (str(last.year),)),
        "last-12-months": (_months_back(last, 11), last, (str(last.year),)),
        "since": (since, None, (str(since.year),)),
    }
    since_words = f"{MONTHS[since.month - 1]} {since.year}"
    rows: list[tuple[str, MetricName, str]] = [
        ("What was the turnover last year?", "revenue", "last-year"),
        ("revenue last year", "revenue", "last-year"),
        ("How many orders did we get last year?", "orders", "last-year"),
        ("units sold last year", "quantity", "last-year"),
        ("average order value last year", "average_order_value", "last-year"),
        ("How many customers did we have last year?", "distinct_customers", "last-year"),
        ("Revenue year to date", "revenue", "ytd"),
        ("YTD orders", "orders", "ytd"),
        ("How much have we sold this year so far?", "revenue", "ytd"),
        ("units sold so far this year", "quantity", "ytd"),
        ("What's our YTD revenue?", "revenue", "ytd"),
        ("How many orders this year?", "orders", "ytd"),
        ("Revenue last month", "revenue", "last-month"),
        ("How many orders did we get last month?", "orders", "last-month"),
        ("units sold last month", "quantity", "last-month"),
        ("What were sales last quarter?", "revenue", "last-quarter"),
        ("orders in the previous quarter", "orders", "last-quarter"),
        ("Revenue in the last 30 days", "revenue", "last-30-days"),
        ("orders in the past 7 days", "orders", "last-7-days"),
        ("revenue in the last two weeks", "revenue", "last-14-days"),
        ("How many orders in the past 90 days?", "orders", "last-90-days"),
        ("How many unique customers did we have in the last 30 days?", "distinct_customers", "last-30-days"),
        ("How many units did we sell in the last 3 months?", "quantity", "last-3-months"),
        ("sales over the last 6 months", "revenue", "last-6-months"),
        ("last 12 months revenue", "revenue", "last-12-months"),
        (f"Revenue since {since_words}", "revenue", "since"),
        (f"How many orders since {since_words}?", "orders", "since"),
    ]
    for text, metric, key in rows:
        start, end, terms = periods[key]
        b.add(f"{KIND[metric]}-{key}", "", text, _Ask(metric, start, end, terms=terms))


def _rankings(b: _Book, d: _Data) -> None:
    """Top and bottom N products, categories and customers; the best month, quarter and year."""
    prior = d.last.year - 1
    products: list[tuple[str, MetricName, int, bool]] = [
        ("Top 5 products by revenue in {y}", "revenue", 5, False),
        ("top 3 products by units sold in {y}", "quantity", 3, False),
        ("worst 2 products by orders in {y}", "orders", 2, True),
        ("Bottom 3 products by revenue in {y}", "revenue", 3, True),
        ("Which product had the highest revenue in {y}?", "revenue", 1, False),
        ("What was the best-selling product in {y}?", "revenue", 1, False),
        ("lowest selling product by units in {y}", "quantity", 1, True),
        ("top 4 products by average unit price in {y}", "average_unit_price", 4, False),
        ("Which product had the highest average order value in {y}?", "average_order_value", 1, False),
        ("top 3 products by number of customers in {y}", "distinct_customers", 3, False),
        ("What were the 5 best selling products by revenue in {y}?", "revenue", 5, False),
        ("Which product sold the most units in {y}?", "quantity", 1, False),
        ("top 2 products by orders in {y}", "orders", 2, False),
        ("the three worst selling products in {y}", "revenue", 3, True),
        ("Which product had the most orders in {y}?", "orders", 1, False),
        ("best 3 products by revenue in {y}", "revenue", 3, False),
    ]
    for k, (text, metric, top, low) in enumerate(products):
        y = d.year(k + 5)
        ask = _Ask(metric, *_year(y), group="product", top=top, ascending=low, terms=(str(y),))
        kind = "bottom-products" if low else "top-products"
        b.add(kind, f"{KIND[metric]}-{y}-{top}", text.format(y=y), ask)
    b.add(
        "top-products",
        f"revenue-last-year-{prior}",
        "What were our 5 best selling products by revenue last year?",
        _Ask("revenue", *_year(prior), group="product", top=5, terms=(str(prior),)),
    )
    categories: list[tuple[str, MetricName, int, bool]] = [
        ("What is the best-selling category in {y}?", "revenue", 1, False),
        ("worst category by orders in {y}", "orders", 1, True),
        ("top 2 categories by units sold in {y}", "quantity", 2, False),
        ("Which category sold the fewest units in {y}?", "quantity", 1, True),
        ("Which category had the lowest revenue in {y}?", "revenue", 1, True),
        ("bottom 2 categories by average order value in {y}", "average_order_value", 2, True),
        ("Which category had the most distinct customers in {y}?", "distinct_customers", 1, False),
        ("highest grossing category in {y}", "revenue", 1, False),
        ("Which category had the most orders in {y}?", "orders", 1, False),
        ("top category by revenue in {y}", "revenue", 1, False),
        ("Which category had the highest average unit price in {y}?", "average_unit_price", 1, False),
        ("top 3 categories by revenue in {y}", "revenue", 3, False),
    ]
    for k, (text, metric, top, low) in enumerate(categories):
        y = d.year(k + 8)
        ask = _Ask(metric, *_year(y), group="category", top=top, ascending=low, terms=(str(y),))
        kind = "bottom-categories" if low else "top-categories"
        b.add(kind, f"{KIND[metric]}-{y}-{top}", text.format(y=y), ask)
    customers: list[tuple[str, MetricName, int]] = [
        ("Top 5 customers by revenue in {y}", "revenue", 5),
        ("Which customer spent the most in {y}?", "revenue", 1),
        ("top 3 customers by revenue for {pl} in {y}", "revenue", 3),
        ("Who were our top 5 customers by units in {y}?", "quantity", 5),
    ]
    for k, (text, metric, top) in enumerate(customers):
        y, p = d.year(k + 10), d.product(k + 3)
        products_ = (p,) if "{pl}" in text else ()
        terms = (*products_, str(y))
        ask = _Ask(metric, *_year(y), products=products_, group="customer", top=top, terms=terms)
        b.add("top-customers", f"{KIND[metric]}-{y}-{top}", text.format(y=y, pl=_plural(p)), ask)
    periods: list[tuple[str, MetricName, Group, bool]] = [
        ("Which month had the highest revenue in {y}?", "revenue", "month", False),
        ("Which quarter of {y} had the most orders?", "orders", "quarter", False),
        ("Which month of {y} had the lowest revenue?", "revenue", "month", True),
        ("Which quarter had the most units sold in {y}?", "quantity", "quarter", False),
        ("What was the best month for {c} in {y}?", "revenue", "month", False),
        ("Which month had the most orders in {y}?", "orders", "month", False),
    ]
    for k, (text, metric, group, low) in enumerate(periods):
        y, c = d.year(k + 12), d.category(k + 1)
        categories_ = (c,) if "{c}" in text else ()
        ask = _Ask(
            metric, *_year(y), categories_, group=group, top=1, ascending=low, terms=(*categories_, str(y))
        )
        b.add(f"{'bottom' if low else 'top'}-{group}", f"{KIND[metric]}-{y}", text.format(y=y, c=c), ask)
    for text in (
        "Which year had the highest revenue?",
        "Which year had the most orders?",
        "In which year did we sell the most units?",
    ):
        metric = _metric_in(text)
        b.add("top-year", KIND[metric], text, _Ask(metric, group="year", top=1))


def _groupings(b: _Book, d: _Data) -> None:
    """Figures by category, product, month, quarter and year (the answer's value is their total)."""
    rows: list[tuple[str, MetricName, Group, str]] = [
        ("Revenue by category in {y}", "revenue", "category", ""),
        ("How much did each category sell in {y}?", "revenue", "category", ""),
        ("units sold for each category in {y}", "quantity", "category", ""),
        ("orders per category in {y}", "orders", "category", ""),
        ("Break down {y} revenue across categories", "revenue", "category", ""),
        ("average order value by category in {y}", "average_order_value", "category", ""),
        ("Revenue by product in {y}", "revenue", "product", ""),
        ("units sold per product in {y}", "quantity", "product", ""),
        ("revenue by product for {c} in {y}", "revenue", "product", "c"),
        ("How many customers bought each product in {y}?", "distinct_customers", "product", ""),
        ("Revenue by month in {y}", "revenue", "month", ""),
        ("Monthly orders for {c} in {y}", "orders", "month", "c"),
        ("units sold each month in {y}", "quantity", "month", ""),
        ("Quarterly revenue for {y}", "revenue", "quarter", ""),
        ("revenue by quarter in {y} for {c}", "revenue", "quarter", "c"),
        ("Units sold each quarter in {y}", "quantity", "quarter", ""),
        ("Yearly revenue for {c}", "revenue", "year", "c"),
        ("units sold by year for {pl}", "quantity", "year", "p"),
        ("annual orders", "orders", "year", ""),
    ]
    for k, (text, metric, group, name) in enumerate(rows):
        y, c, p = d.year(k + 13), d.category(k + 2), d.product(k + 6)
        categories = (c,) if name == "c" else ()
        products = (p,) if name == "p" else ()
        dated = "{y}" in text
        start, end = _year(y) if dated else (None, None)
        terms = (*categories, *products, *((str(y),) if dated else ()))
        ask = _Ask(metric, start, end, categories, products, group=group, terms=terms)
        detail = "-".join((KIND[metric], *categories, *products, *((str(y),) if dated else ())))
        b.add(f"by-{group}", detail, text.format(y=y, c=c, pl=_plural(p)), ask)


def _comparisons(b: _Book, d: _Data) -> None:
    """Two consecutive years (the change is a term); two categories; two products."""
    if len(d.years) < 2:
        return
    years: list[tuple[str, MetricName, bool]] = [
        ("Compare revenue in {a} vs {b}", "revenue", False),
        ("Revenue {a} versus {b}", "revenue", False),
        ("How did orders change from {a} to {b}?", "orders", False),
        ("Did revenue grow from {a} to {b}?", "revenue", False),
        ("{c} revenue {a} compared to {b}", "revenue", True),
        ("units sold in {a} vs {b}", "quantity", False),
        ("{a} vs {b} sales", "revenue", False),
        ("Compare orders in {a} and {b}", "orders", False),
        ("How did {c} sales change from {a} to {b}?", "revenue", True),
        ("average order value {a} vs {b}", "average_order_value", False),
        ("How many customers did we have in {a} vs {b}?", "distinct_customers", False),
        ("revenue growth from {a} to {b}", "revenue", False),
    ]
    for k, (text, metric, named) in enumerate(years):
        a = d.years[(k * 5 + 2) % (len(d.years) - 1)]
        c = d.category(k + 3)
        categories = (c,) if named else ()
        terms = (*categories, str(a), str(a + 1))
        ask = _Ask(metric, _year(a)[0], _year(a + 1)[1], categories, group="year", change=True, terms=terms)
        detail = "-".join((KIND[metric], *categories, str(a), str(a + 1)))
        b.add("compare-years", detail, text.format(a=a, b=a + 1, c=c), ask)
    categories_: list[tuple[str, MetricName]] = [
        ("{c} vs {d} revenue in {y}", "revenue"),
        ("Compare {c} and {d} orders in {y}", "orders"),
        ("How did {c} sales compare with {d} in {y}?", "revenue"),
        ("units sold: {c} versus {d} in {y}", "quantity"),
        ("{c} versus {d} revenue for {y}", "revenue"),
    ]
    for k, (text, metric) in enumerate(categories_):
        y, c, other = d.year(k + 4), d.category(k), d.category(k + 1 + k % 2)
        if c == other:
            continue
        ask = _Ask(metric, *_year(y), (c, other), group="category", terms=(str(y),))
        detail = "-".join((KIND[metric], c, other, str(y)))
        b.add("compare-categories", detail, text.format(c=c, d=other, y=y), ask)
    products_: list[tuple[str, MetricName]] = [
        ("{p} vs {q} units sold in {y}", "quantity"),
        ("revenue of {p} compared with {q} in {y}", "revenue"),
        ("Compare {p} and {q} revenue in {y}", "revenue"),
        ("{p} versus {q} orders in {y}", "orders"),
        ("sales of {p} vs {q} in {y}", "revenue"),
    ]
    for k, (text, metric) in enumerate(products_):
        y, p, q = d.year(k + 7), d.product(k), d.product(k + 1)
        if p == q:
            continue
        ask = _Ask(metric, *_year(y), products=(p, q), group="product", terms=(str(y),))
        detail = "-".join((KIND[metric], p, q, str(y)))
        b.add("compare-products", detail, text.format(p=_plural(p), q=_plural(q), y=y), ask)


def _shares(b: _Book, d: _Data) -> None:
    """A category's or a product's share of a period's total (the percentage is a term)."""
    rows: list[tuple[str, MetricName, str]] = [
        ("What percentage of {y} revenue came from {c}?", "revenue", "c"),
        ("What share of revenue in {y} came from {c}?", "revenue", "c"),
        ("{pl} as a percentage of {y} revenue", "revenue", "p"),
        ("What proportion of orders in {y} were for {c}?", "orders", "c"),
        ("{c}'s share of units sold in {y}", "quantity", "c"),
        ("What fraction of {y} revenue came from {pl}?", "revenue", "p"),
        ("What % of {y} sales was {c}?", "revenue", "c"),
        ("What percentage of units sold in {y} were {pl}?", "quantity", "p"),
        ("share of {c} in {y} revenue", "revenue", "c"),
        ("What percentage of orders in {y} were for {pl}?", "orders", "p"),
        ("What percent of {y} sales came from {c}?", "revenue", "c"),
        ("{c} share of {y} orders", "orders", "c"),
        ("What share of the units sold in {y} were {pl}?", "quantity", "p"),
        ("How much of {y} revenue came from {c}, as a percentage?", "revenue", "c"),
    ]
    for k, (text, metric, name) in enumerate(rows):
        y, c, p = d.year(k + 9), d.category(k + 2), d.product(k + 8)
        categories, products = ((c,), ()) if name == "c" else ((), (p,))
        ask = _Ask(
            metric, *_year(y), categories, products, share=True, terms=(*categories, *products, str(y))
        )
        detail = "-".join((KIND[metric], *categories, *products, str(y)))
        b.add(
            f"share-{'category' if name == 'c' else 'product'}",
            detail,
            text.format(y=y, c=c, pl=_plural(p)),
            ask,
        )


# -- the expected answers, from the raw rows -----------------------------------------------------


def _where(ask: _Ask, *, everything: bool = False) -> list[ColumnElement[bool]]:
    """The orders ``ask`` selects; ``everything``: every category and product of its dates."""
    conditions: list[ColumnElement[bool]] = []
    if ask.start is not None:
        conditions.append(_SALES.order_date >= ask.start)
    if ask.end is not None:
        conditions.append(_SALES.order_date <= ask.end)
    if not everything and ask.categories:
        conditions.append(_SALES.categories.in_(ask.categories))
    if not everything and ask.products:
        conditions.append(_SALES.product_names.in_(ask.products))
    return conditions


_AGGREGATES = (
    func.sum(_SALES.total),
    func.count(_SALES.order_id),
    func.sum(_SALES.quantity),
    func.count(distinct(_SALES.customer_id)),
)


def _sums(row: Sequence[Any]) -> _Sums:
    total, orders, units, customers = row
    cents = int(Decimal(total).scaleb(2)) if total is not None else 0  # Money: Decimal on both databases
    return _Sums(cents, int(orders or 0), int(units or 0), int(customers or 0))


def _totals(conn: Connection, ask: _Ask, *, everything: bool = False) -> _Sums:
    return _sums(conn.execute(select(*_AGGREGATES).where(*_where(ask, everything=everything))).one())


def _keys(group: Group) -> tuple[list[ColumnElement[Any]], Callable[[Sequence[Any]], str]]:
    """The SQL grouping of ``group`` and the label the answer gives each group."""
    year, month = extract("year", _SALES.order_date), extract("month", _SALES.order_date)
    if group == "category":
        return [_SALES.categories], lambda k: str(k[0])
    if group == "product":
        return [_SALES.product_names], lambda k: str(k[0])
    if group == "customer":
        return [_SALES.customer_id], lambda k: f"customer {int(k[0])}"
    if group == "year":
        return [year], lambda k: str(int(k[0]))
    if group == "month":
        return [year, month], lambda k: f"{int(k[0]):04d}-{int(k[1]):02d}"
    # Quarters are summed from their months.
    return [year, month], lambda k: f"{int(k[0])} Q{(int(k[1]) - 1) // 3 + 1}"


def _groups(conn: Connection, ask: _Ask) -> list[tuple[str, Figure]]:
    """(label, figure) per group, in the order the answer gives them."""
    if ask.group == "quarter" and ask.metric == "distinct_customers":
        raise ValueError("distinct customers cannot be summed from months into quarters")
    keys, label = _keys(ask.group)
    stmt = select(*keys, *_AGGREGATES).where(*_where(ask)).group_by(*keys).order_by(*keys)
    sums: dict[str, _Sums] = {}
    for row in conn.execute(stmt):
        name, found = label(row[: len(keys)]), _sums(row[len(keys) :])
        sums[name] = sums[name] + found if name in sums else found
    rows = [(name, _value(ask.metric, s)) for name, s in sums.items()]
    if ask.group in ("category", "product", "customer") or ask.top is not None:
        # The answer ranks by the figure (highest first unless ascending), ties by label, None last.
        valued = sorted((r for r in rows if r[1] is not None), key=lambda r: r[0])
        valued.sort(key=lambda r: r[1], reverse=not ask.ascending)  # type: ignore[arg-type, return-value]
        rows = valued + [r for r in rows if r[1] is None]
    return rows[: ask.top] if ask.top else rows


def _value(metric: MetricName, s: _Sums) -> Figure:
    if metric == "revenue":
        return Decimal(s.cents).scaleb(-2)
    if metric == "orders":
        return s.orders
    if metric == "quantity":
        return s.units
    if s.orders == 0:
        return None
    if metric == "average_order_value":
        return _hundredths(s.cents, s.orders)
    if metric == "average_unit_price":
        return _hundredths(s.cents, s.units)
    return s.customers


def _hundredths(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator / 100 to two places, halves up, exactly (cents per order)."""
    return Decimal((2 * numerator + denominator) // (2 * denominator)).scaleb(-2)


def _percent(part: Figure, whole: Figure) -> Decimal | None:
    """part * 100 / whole to two places, halves away from zero, exactly."""
    if part is None or not whole:
        return None
    exact = Fraction(part) * 100 / Fraction(whole)
    hundredths = int(abs(exact) * 100 + Fraction(1, 2))
    return Decimal(hundredths if exact >= 0 else -hundredths).scaleb(-2)


def _expected(conn: Connection, ask: _Ask) -> dict[str, Any] | None:
    """``{"value", "terms"}`` for ``ask``; None when the data has no figure to check (no orders)."""
    whole = _totals(conn, ask)
    value = _value(ask.metric, whole)
    if whole.orders == 0 or value is None:
        return None
    terms = [METRIC_WORD[ask.metric], *ask.terms]
    if ask.share:
        percent = _percent(value, _value(ask.metric, _totals(conn, ask, everything=True)))
        if percent is None:
            return None  # a share of nothing
        terms.append(f"{percent}%")
    if ask.change:
        rows = _groups(conn, ask)
        first, second = (rows[0][1], rows[1][1]) if len(rows) == 2 else (None, None)
        change = None if first is None or second is None else _percent(second - first, first)
        if change is None:
            return None  # a year without orders (or a zero figure): the answer gives no percentage
        terms.append(f"{change:+}%")
    elif ask.top is not None or ask.group in ("category", "product", "customer"):
        # A ranking's sentence names its winner, or its first rows.
        terms += [label for label, _ in _groups(conn, ask)[: 1 if ask.top == 1 else LISTED]]
    return {"value": str(value), "terms": list(dict.fromkeys(terms))}


def sales_cases(engine: Engine) -> list[Case]:
    """The sales questions with their expected answers, computed now from the loaded ``sales_data``.

    Deterministic for the same data. ``InvalidInput`` when the table is empty. A question whose
    figure does not exist in this data (an average over no orders) is left out.
    """
    with engine.connect() as conn:
        data = _read_data(conn)
        book = _Book()
        for section in (_simple, _dates, _relative, _rankings, _groupings, _comparisons, _shares):
            section(book, data)
        cases = []
        for case_id, text, ask in book.entries:
            expected = _expected(conn, ask)
            if expected is not None:
                cases.append(Case(id=case_id, input=text, expected=expected))
    return cases


GENERATORS: dict[str, Callable[[Engine], list[Case]]] = {"sales": sales_cases}
"""``generate: NAME`` in a scenario file: the function that makes its cases from the database."""
