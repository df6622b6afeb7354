"""``QuerySpec``: one question for the query layer, validated, whoever wrote it (the rules or a model)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatdash.errors import QueryError
from chatdash.sales.vocabulary import Vocabulary

MetricName = Literal[
    "revenue",
    "orders",
    "quantity",
    "average_order_value",
    "distinct_customers",
    "average_unit_price",
    "items_per_order",
    "largest_order",
    "smallest_order",
]
GroupBy = Literal[
    "none", "category", "product", "customer", "day", "week", "month", "quarter", "year", "weekday"
]


class Period(BaseModel):
    """One period of a comparison ("March 2019 vs March 2020"), inclusive, with its words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date
    label: str

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class QuerySpec(BaseModel):
    """What to measure, over which orders, grouped how.

    Unknown fields are refused (``extra="forbid"``) so that a model's invented keys fail validation
    instead of being ignored. Dates are inclusive; None is an open end (the data's first/last day).
    ``periods`` (two or more) compares those periods, each a row; ``share`` gives the filtered figure
    as a percentage of the same metric over every category and product of the same dates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: MetricName = "revenue"
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    group_by: GroupBy = "none"
    top_n: int | None = Field(None, ge=1, le=1000)
    """Keep the first ``top_n`` groups after ranking by the metric; time groups are then ranked too."""
    order: Literal["desc", "asc"] = "desc"
    """Ranking direction: ``desc`` (highest first, "top") or ``asc`` ("worst", "least")."""
    periods: tuple[Period, ...] = ()
    share: bool = False

    @model_validator(mode="after")
    def _check(self) -> QuerySpec:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.top_n is not None and self.group_by == "none":
            raise ValueError("top_n needs a group_by (category, product or a time unit)")
        if len(self.periods) == 1:
            raise ValueError("periods compares two or more periods")
        if self.periods and self.group_by != "none":
            raise ValueError("a comparison of periods is not grouped further")
        if self.share and not (self.categories or self.products):
            raise ValueError("a share needs a category or product to take the share of")
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
