"""A sales question in words -> a validated ``QuerySpec``, by rules over the data's own vocabulary.

A 135M model cannot be trusted with numbers or even with filling a schema correctly, so the question is
read by rules first: the metric from its words, categories and products from the table's own names,
dates from calendar expressions (``chatdash.sales.dates``), grouping and ranking from phrases such as
"by month", "top 5 products", "best-selling category". Anything a model proposes instead goes through
``QuerySpec.validated`` against the same vocabulary. The spec then runs
through the query layer only (``chatdash.sales.answer``): no SQL is ever built from the text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chatdash.errors import QueryError
from chatdash.sales.dates import NUMBERS, parse_dates, says_all_time
from chatdash.sales.vocabulary import Vocabulary

Metric = Literal["revenue", "orders", "average_order_value", "quantity"]
GroupBy = Literal["none", "category", "product", "day", "week", "month", "year"]
TIME_GROUPS: tuple[GroupBy, ...] = ("day", "week", "month", "year")


class QuerySpec(BaseModel):
    """One question for the query layer: what to measure, over which orders, grouped how.

    Unknown fields are refused (``extra="forbid"``) so that a model's invented keys fail validation
    instead of being ignored. Dates are inclusive; None is an open end (the data's first/last day).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Metric = "revenue"
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    group_by: GroupBy = "none"
    top_n: int | None = Field(None, ge=1, le=1000)
    """Keep the first ``top_n`` groups after ranking by the metric; time groups are then ranked too."""
    order: Literal["desc", "asc"] = "desc"
    """Ranking direction: ``desc`` (highest first, "top") or ``asc`` ("worst", "least")."""

    @model_validator(mode="after")
    def _check(self) -> QuerySpec:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.top_n is not None and self.group_by == "none":
            raise ValueError("top_n needs a group_by (category, product or a time unit)")
        return self

    def validated(self, vocabulary: Vocabulary) -> QuerySpec:
        """This spec with names in the table's spelling; ``QueryError`` naming any unknown one."""
        categories = [(name, vocabulary.canonical_category(name)) for name in self.categories]
        products = [(name, vocabulary.canonical_product(name)) for name in self.products]
        unknown = [name for name, found in [*categories, *products] if found is None]
        if unknown:
            raise QueryError(f"not in the sales data: {', '.join(unknown)}")
        return self.model_copy(
            update={
                "categories": tuple(dict.fromkeys(found for _, found in categories if found)),
                "products": tuple(dict.fromkeys(found for _, found in products if found)),
            }
        )


# -- the rules ---------------------------------------------------------------------------------

_SALES_WORDS = re.compile(
    r"\b(sales|sold|sell(?:s|ing)?|revenue|turnover|orders|aov|average\s+order|order\s+(?:value|count)|"
    r"units\s+sold|items\s+sold|best[\s-]?sell\w*|top\s+\d+|top\s+(?:products?|categor\w+))\b"
)
"""Words that make a message a sales question on their own."""
_WEAK_SALES_WORDS = re.compile(
    r"\b(sale|how\s+much|how\s+many|earn(?:ed|ings|s)?|income|made|make|quantity|units|figures?|"
    r"popular|performing|grossing|buy|bought)\b"
)
"""Words that do only with a product, a category or a date in the same message ("how many days
are in a week" is not a sales question; "how many laptops in 2019" is)."""
_AOV = re.compile(
    r"\b(aov|average\s+order(?:\s+value|\s+size)?|avg\.?\s+order(?:\s+value)?|average\s+basket)\b"
)
_QUANTITY = re.compile(
    r"\b(units?|quantity|quantities|items\s+sold|pieces|volume)\b|\bhow\s+many\b(?!\s+orders)(?=.*\b(?:sold|sell|bought|ordered)\b)"
)
_ORDERS = re.compile(r"\b(orders?|order\s+count|transactions|purchases)\b")
_GROUPS: list[tuple[re.Pattern[str], GroupBy]] = [
    (re.compile(r"\b(daily|per\s+day|by\s+day|each\s+day|day\s+by\s+day)\b"), "day"),
    (re.compile(r"\b(weekly|per\s+week|by\s+week|each\s+week|week\s+by\s+week)\b"), "week"),
    (re.compile(r"\b(monthly|per\s+month|by\s+month|each\s+month|month\s+by\s+month)\b"), "month"),
    (re.compile(r"\b(yearly|annual(?:ly)?|per\s+year|by\s+year|each\s+year|year\s+by\s+year)\b"), "year"),
    (re.compile(r"\b(?:per|by|each|every|for\s+each|across)\s+categor(?:y|ies)\b"), "category"),
    (re.compile(r"\b(?:per|by|each|every|for\s+each|across)\s+products?\b"), "product"),
]
_COUNTED = r"(\d+|" + "|".join(NUMBERS) + r")"
_RANK = re.compile(
    rf"\b(?:{_COUNTED}\s+)?(top|best|worst|bottom|highest|lowest|biggest|smallest|most|least|strongest|weakest)"
    rf"(?:[\s-]+{_COUNTED})?"
    r"(?:[\s-]+(?:selling|performing|popular|sold|grossing|earning|revenue))?"
    r"[\s-]+(products?|items?|categor(?:y|ies)|months?|years?|weeks?|days?)\b"
)
_WHICH = re.compile(r"\b(?:which|what)\s+(products?|items?|categor(?:y|ies)|months?|years?|weeks?|days?)\b")
_SUPERLATIVE = re.compile(r"\b(most|best|highest|top|biggest|largest|more)\b")
_LOW = re.compile(r"\b(least|worst|lowest|fewest|smallest|weakest|bottom)\b")
_COMPARE = re.compile(r"\b(compare[sd]?|comparison|vs\.?|versus)(?!\w)")
_ASCENDING = ("worst", "bottom", "lowest", "smallest", "least", "weakest")


def _unit(noun: str) -> GroupBy:
    if noun.startswith(("product", "item")):
        return "product"
    if noun.startswith("categor"):
        return "category"
    return noun.rstrip("s")  # type: ignore[return-value]


def parse_question(text: str, vocabulary: Vocabulary) -> QuerySpec | None:
    """The ``QuerySpec`` a sales question asks for, or None when ``text`` is not about sales.

    A message counts as a sales question when it uses a sales word (revenue, sold, orders, top N
    ...), or a weaker one (how much, how many, units) together with a product, a category or a date;
    naming a product alone ("write a poem about chairs") does not make it one.
    """
    lower = " ".join(text.lower().split())
    rank = _RANK.search(lower)
    categories = vocabulary.find_categories(lower)
    products = vocabulary.find_products(lower)
    span = None if says_all_time(lower) else parse_dates(lower, vocabulary.last)
    named = bool(categories or products)
    ranked_sales = rank is not None and (named or _unit(rank.group(4)) in ("product", "category"))
    weak_sales = _WEAK_SALES_WORDS.search(lower) is not None and (named or span is not None)
    if not (_SALES_WORDS.search(lower) or ranked_sales or weak_sales):
        return None
    metric: Metric = "revenue"
    if _AOV.search(lower):
        metric = "average_order_value"
    elif _QUANTITY.search(lower):
        metric = "quantity"
    elif _ORDERS.search(lower):
        metric = "orders"

    group_by: GroupBy = "none"
    top_n: int | None = None
    order: Literal["desc", "asc"] = "desc"
    if rank is not None:
        word, noun = rank.group(2), rank.group(4)
        count = rank.group(3) or rank.group(1)
        group_by = _unit(noun)
        plural = noun.endswith("s")
        top_n = int(count) if count and count.isdigit() else NUMBERS.get(count or "", 0) or None
        if top_n is None:
            top_n = 10 if plural else 1
        if word in _ASCENDING:
            order = "asc"
    elif which := _WHICH.search(lower):
        group_by = _unit(which.group(1))
        if _SUPERLATIVE.search(lower) or _LOW.search(lower):
            top_n = 1 if not which.group(1).endswith("s") else 10
            order = "asc" if _LOW.search(lower) and not _SUPERLATIVE.search(lower) else "desc"
    if group_by == "none":
        for pattern, unit in _GROUPS:
            if pattern.search(lower):
                group_by = unit
                break
    if group_by == "none" and _COMPARE.search(lower):
        # "Office vs Sundry", "laptops compared with desks", "2019 vs 2020": one row per thing compared.
        if len(products) > 1:
            group_by = "product"
        elif len(categories) > 1:
            group_by = "category"
        elif span and span.start and span.end and span.start.year < span.end.year:
            group_by = "year"
    fields = {
        "metric": metric,
        "start": span.start if span else None,
        "end": span.end if span else None,
        "categories": categories,
        "products": products,
        "group_by": group_by,
        "top_n": top_n,
        "order": order,
    }
    try:
        return QuerySpec.model_validate(fields)
    except ValidationError:
        # A contradictory date range ("from 2020 to 2019" is sorted, so this is rare): ask for all time.
        return QuerySpec.model_validate({**fields, "start": None, "end": None})


__all__ = ["TIME_GROUPS", "GroupBy", "Metric", "QuerySpec", "parse_question"]
