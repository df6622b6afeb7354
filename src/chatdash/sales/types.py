"""Typed inputs and outputs of the query layer, shared by the dashboard, the chat and the test bed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from chatdash.errors import QueryError

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")


def cents_to_decimal(cents: int) -> Decimal:
    """Exact money value with two decimals (``12345 -> Decimal('123.45')``)."""
    return Decimal(int(cents)).scaleb(-2)


@dataclass(frozen=True, slots=True)
class SalesFilter:
    """Which orders a question is about. Dates are inclusive; no categories (products) means all."""

    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    """Product names (``sales_data.product_names``); the chat's questions name products."""

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise QueryError(
                f"end date {self.end.isoformat()} is before start date {self.start.isoformat()}: "
                "pick an end on or after the start"
            )
        # Normalise so that equal filters are equal (and cache keys match).
        object.__setattr__(self, "categories", tuple(sorted(set(self.categories))))
        object.__setattr__(self, "products", tuple(sorted(set(self.products))))


@dataclass(frozen=True, slots=True)
class DateRange:
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class KeyMetrics:
    total_revenue: Decimal
    orders: int
    average_order_value: Decimal | None
    """Total revenue / orders, rounded half-up to the cent; None when there are no orders."""
    top_category: str | None
    """Category with the highest revenue (ties: alphabetical first); None when there are no orders."""


@dataclass(frozen=True, slots=True)
class PeriodRevenue:
    period: dt.date
    """First day of the bucket: the day, the Monday of the ISO week, or the 1st of the month."""
    revenue: Decimal
    orders: int


@dataclass(frozen=True, slots=True)
class CategoryRevenue:
    category: str
    revenue: Decimal
    orders: int


@dataclass(frozen=True, slots=True)
class ProductRevenue:
    product_id: int
    product_name: str
    category: str
    revenue: Decimal
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Overview:
    """Key metrics, revenue by category and products ranked by revenue, from one rollup query."""

    metrics: KeyMetrics
    by_category: list[CategoryRevenue]
    products: list[ProductRevenue]

    def top_products(self, n: int = 10) -> list[ProductRevenue]:
        return self.products[:n]


@dataclass(frozen=True, slots=True)
class SalesRecord:
    order_id: int
    order_date: dt.date
    customer_id: int
    customer_name: str
    product_id: int
    product_name: str
    category: str
    quantity: int
    price: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class RowCursor:
    """Keyset position: the last (order_date, order_id) of a page. Printable for URLs."""

    order_date: dt.date
    order_id: int

    def encode(self) -> str:
        return f"{self.order_date.isoformat()}~{self.order_id}"

    @classmethod
    def decode(cls, token: str) -> RowCursor:
        try:
            day, order_id = token.split("~", 1)
            return cls(dt.date.fromisoformat(day), int(order_id))
        except ValueError:
            raise QueryError(f"invalid page cursor {token!r}: expected YYYY-MM-DD~order_id") from None


@dataclass(frozen=True, slots=True)
class RowsPage:
    rows: list[SalesRecord]
    total: int
    """Rows matching the filter (all pages)."""
    next_cursor: RowCursor | None
    """Pass as ``after`` for the next page; None on the last page."""


@dataclass(frozen=True, slots=True)
class LoadSummary:
    rows: int
    mode: Literal["replace", "append"]
    seconds: float
    date_range: DateRange | None = None
    rollup_rows: int = 0


@dataclass(frozen=True, slots=True)
class DayTotals:
    day: dt.date
    revenue_cents: int
    quantity: int
    orders: int


RawGroup = Literal["category", "product", "customer", "day", "month", "year"]


@dataclass(frozen=True, slots=True)
class OrderStats:
    """What only order rows know, for one group (``label`` "" when ungrouped)."""

    label: str
    orders: int
    customers: int
    largest: Decimal
    smallest: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    customer_id: int
    revenue_cents: int
    quantity: int
    orders: int


def average(total_cents: int, orders: int) -> Decimal | None:
    if orders == 0:
        return None
    per_order = (Decimal(total_cents) / Decimal(orders)).quantize(Decimal(1), ROUND_HALF_UP)
    return cents_to_decimal(int(per_order))
