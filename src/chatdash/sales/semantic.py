"""The semantic model of ``sales_data``: its metrics and dimensions, with their names and the words people
use for them, declared once.

The question reader finds metrics and dimensions by these words, the answer computes and labels them by
these declarations, and the test bed reads the same list, so a metric added here is asked, computed,
shown and tested everywhere. Filters (categories, products) come from the table's own values
(``chatdash.sales.vocabulary``), dates from ``chatdash.sales.dates``.

Where a metric comes from matters for speed: ``rollup`` metrics are sums the daily and monthly rollups
hold (their cost does not grow with the number of orders); ``raw`` metrics need facts of single orders
and customers (distinct customers, the largest order): whole months come from the monthly customer
rollup (months x customers x products rows), only the days at the edges of a period from the order
rows, so their cost grows with the customers in the period and the orders of its edge days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["money", "count", "ratio"]
"""How a figure is exact: money (Decimal, 2 places), a count (int), a ratio (Decimal, 2 places)."""
Source = Literal["rollup", "raw"]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label: str
    kind: Kind
    source: Source
    words: str
    """A regular expression (lower-case text) that names this metric in a question."""
    definition: str
    """What exactly is computed, shown with the answer so a reader knows which figure it is."""
    additive: bool = False
    """True when the figure of a whole is the sum of its parts' (shares of a total make sense)."""

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.words)


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label: str
    words: str
    """A regular expression for "by <dimension>" / "per <dimension>" / "each <dimension>"."""

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.words)


_cache: dict[str, re.Pattern[str]] = {}


def _compiled(words: str) -> re.Pattern[str]:
    if words not in _cache:
        _cache[words] = re.compile(words)
    return _cache[words]


# Order matters where words overlap: the first metric whose words match wins ("average order value"
# before "orders", "items per order" before "items sold").
METRICS: tuple[Metric, ...] = (
    Metric(
        "items_per_order",
        "Items per order",
        "ratio",
        "rollup",
        r"\b(items|units|products|pieces)\s+(per|an|each|every)\s+order\b|\bbasket\s+size\b"
        r"|\baverage\s+(quantity|number\s+of\s+(items|units))\s+(per|in\s+an|of\s+an)\s+order\b",
        "units sold ÷ orders, to 2 decimals",
    ),
    Metric(
        "average_order_value",
        "Average order value",
        "money",
        "rollup",
        r"\b(aov|average\s+order(\s+value|\s+size|\s+amount)?|avg\.?\s+order(\s+value)?|average\s+basket"
        r"|mean\s+order(\s+value)?|(value|spend)\s+per\s+order|average\s+(spend|ticket))\b",
        "revenue ÷ orders, rounded half up to the cent",
    ),
    Metric(
        "average_unit_price",
        "Average unit price",
        "money",
        "rollup",
        r"\b(average|avg\.?|mean)\s+(unit\s+|selling\s+|sale\s+)?price\b|\bprice\s+per\s+(unit|item)\b"
        r"|\baverage\s+(item|product)\s+price\b",
        "revenue ÷ units sold (weighted by quantity), rounded half up to the cent",
    ),
    Metric(
        "largest_order",
        "Largest order",
        "money",
        "raw",
        r"\b(largest|biggest|highest|max(imum)?|most\s+expensive|priciest|costliest|top)\s+(single\s+)?([a-z]+\s+)?(order|sale|purchase)"
        r"(\s+(value|total|amount))?\b(?!\s+(count|number))",
        "the highest total of one order",
    ),
    Metric(
        "smallest_order",
        "Smallest order",
        "money",
        "raw",
        r"\b(smallest|lowest|min(imum)?|cheapest)\s+(single\s+)?([a-z]+\s+)?(order|sale|purchase)"
        r"(\s+(value|total|amount))?\b",
        "the lowest total of one order",
    ),
    Metric(
        "distinct_customers",
        "Distinct customers",
        "count",
        "raw",
        r"\b((distinct|unique|different|individual)\s+(customers?|buyers|clients)|how\s+many\s+customers"
        r"|number\s+of\s+customers|customer\s+count|count\s+of\s+customers|active\s+customers)\b",
        "customers (customer_id) with at least one order",
    ),
    Metric(
        "quantity",
        "Units sold",
        "count",
        "rollup",
        r"\b(units?|quantity|quantities|items\s+sold|pieces|volume)\b"
        r"|\bhow\s+many\b(?!\s+orders)(?=.*\b(sold|sell|bought|ordered)\b)",
        "the sum of quantity",
        additive=True,
    ),
    Metric(
        "orders",
        "Orders",
        "count",
        "rollup",
        r"\b(orders?|order\s+count|transactions|purchases)\b",
        "orders (one row of sales_data each)",
        additive=True,
    ),
    Metric(
        "revenue",
        "Revenue",
        "money",
        "rollup",
        r"\b(revenue|sales|turnover|earn(ed|ings|s)?|income|takings|money|sold|sell(s|ing)?)\b",
        "the sum of total (price x quantity), to the cent",
        additive=True,
    ),
)
METRIC = {metric.name: metric for metric in METRICS}
DEFAULT_METRIC = "revenue"

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "weekday",
        "Weekday",
        r"\b(by|per|each|which|what)\s+(day\s+of\s+(the\s+)?week|weekday)s?\b|\bdays?\s+of\s+the\s+week\b",
    ),
    Dimension(
        "day", "Day", r"\b(daily|per\s+day|by\s+day|each\s+day|day\s+by\s+day)\b(?!\s+of\s+the\s+week)"
    ),
    Dimension("week", "Week", r"\b(weekly|per\s+week|by\s+week|each\s+week|week\s+by\s+week)\b"),
    Dimension("month", "Month", r"\b(monthly|per\s+month|by\s+month|each\s+month|month\s+by\s+month)\b"),
    Dimension(
        "quarter",
        "Quarter",
        r"\b(quarterly|per\s+quarter|by\s+quarter|each\s+quarter|quarter\s+by\s+quarter)\b",
    ),
    Dimension(
        "year",
        "Year",
        r"\b(yearly|annual(ly)?|per\s+year|by\s+year|each\s+year|year\s+by\s+year|year\s+over\s+year)\b",
    ),
    Dimension("category", "Category", r"\b(per|by|each|every|for\s+each|across)\s+categor(y|ies)\b"),
    Dimension("product", "Product", r"\b(per|by|each|every|for\s+each|across)\s+products?\b"),
    Dimension("customer", "Customer", r"\b(per|by|each|every|for\s+each|across)\s+customers?\b"),
)
DIMENSION = {dimension.name: dimension for dimension in DIMENSIONS}


def find_metric(text: str) -> Metric | None:
    """The metric ``text`` (lower case) names, or None when it names none."""
    for metric in METRICS:
        if metric.pattern.search(text):
            return metric
    return None


def find_dimension(text: str) -> Dimension | None:
    """The dimension ``text`` groups by ("by month", "per category"), or None."""
    for dimension in DIMENSIONS:
        if dimension.pattern.search(text):
            return dimension
    return None
