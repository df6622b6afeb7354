"""Running a ``QuerySpec`` through the query layer: exact figures, and words that say what was counted.

Everything here calls ``chatdash.sales`` functions (rollup reads with bound parameters); nothing builds
SQL from the question. Figures stay ``Decimal`` (money) or ``int`` (counts) so the chat, the dashboard
and the test bed agree to the cent, and ``SalesAnswer.description`` is the reply's source line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from chatdash.errors import QueryError
from chatdash.sales.periods import bucket, next_month
from chatdash.sales.queries import date_range, overview, revenue_over_time
from chatdash.sales.question import QuerySpec
from chatdash.sales.types import DateRange, SalesFilter, average, cents_to_decimal

Figure = Decimal | int | None
"""Money as Decimal (revenue, average order value), counts as int; None: no orders to average."""

METRIC_LABELS = {
    "revenue": "Revenue",
    "orders": "Orders",
    "average_order_value": "Average order value",
    "quantity": "Units sold",
}
MAX_PERIODS = 400
"""Per-period totals that the series grains cannot give (units per month) run one rollup read per
period; beyond this many periods the question is refused rather than made slow."""


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One group of a grouped answer: a category, a product or a period (its first day)."""

    label: str
    value: Figure
    revenue: Decimal
    orders: int
    quantity: int | None
    """None for day/week/month series of revenue, orders or AOV (their grain carries no units)."""
    period: dt.date | None = None


@dataclass(frozen=True, slots=True)
class SalesAnswer:
    """The exact answer to a ``QuerySpec``, with a description of the query to show as the source."""

    spec: QuerySpec
    value: Figure
    """The metric over every matching order (the total even when grouped)."""
    orders: int
    description: str
    rows: list[AnswerRow] = field(default_factory=list)
    span: DateRange | None = None
    """The dates actually covered: the spec's, with open ends closed by the data's first/last day."""

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS[self.spec.metric]

    def figures(self) -> str:
        """The figures as plain text, for the prompt and for clients without a table view."""
        if self.spec.group_by == "none":
            return f"{self.description}: {format_figure(self.value)}"
        lines = [f"{self.description}:"]
        lines += [f"- {row.label}: {format_figure(row.value)}" for row in self.rows]
        if not self.rows:
            lines.append("- no orders match")
        lines.append(f"{self.metric_label} over all matching orders: {format_figure(self.value)}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (figures as exact strings) for APIs and traces."""
        return {
            "metric": self.spec.metric,
            "metric_label": self.metric_label,
            "value": _json(self.value),
            "orders": self.orders,
            "description": self.description,
            "spec": self.spec.model_dump(mode="json"),
            "rows": [{"label": row.label, "value": _json(row.value)} for row in self.rows],
        }


def format_figure(value: Figure) -> str:
    if value is None:
        return "n/a (no orders)"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}"


def _json(value: Figure) -> str | int | None:
    return str(value) if isinstance(value, Decimal) else value


def _value(metric: str, revenue_cents: int, orders: int, quantity: int | None) -> Figure:
    if metric == "revenue":
        return cents_to_decimal(revenue_cents)
    if metric == "orders":
        return orders
    if metric == "average_order_value":
        return average(revenue_cents, orders)
    return quantity


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def answer(engine: Engine, spec: QuerySpec) -> SalesAnswer:
    """Run ``spec`` through the query layer. Raises ``QueryError`` for a question it cannot answer."""
    data = date_range(engine)
    span = _span(spec, data)
    flt = SalesFilter(spec.start, spec.end, spec.categories, spec.products)
    view = overview(engine, flt)
    revenue = _cents(view.metrics.total_revenue)
    quantity = sum(p.quantity for p in view.products)
    orders = view.metrics.orders
    result = SalesAnswer(
        spec=spec,
        value=_value(spec.metric, revenue, orders, quantity),
        orders=orders,
        description=describe(spec, span),
        span=span,
    )
    if spec.group_by == "none" or orders == 0:
        return result
    groups: list[tuple[str, int, int, int | None, dt.date | None]]
    if spec.group_by == "product":
        groups = [(p.product_name, _cents(p.revenue), p.orders, p.quantity, None) for p in view.products]
    elif spec.group_by == "category":
        totals: dict[str, list[int]] = {}
        for p in view.products:
            sums = totals.setdefault(p.category, [0, 0, 0])
            sums[0] += _cents(p.revenue)
            sums[1] += p.orders
            sums[2] += p.quantity
        groups = [(name, r, o, q, None) for name, (r, o, q) in totals.items()]
    elif spec.group_by != "year" and spec.metric != "quantity":
        series = revenue_over_time(engine, flt, spec.group_by)
        groups = [
            (_label(p.period, spec.group_by), _cents(p.revenue), p.orders, None, p.period) for p in series
        ]
    else:
        assert span is not None  # orders > 0, so the data has dates
        groups = []
        for first, last in _periods(span.start, span.end, spec.group_by):
            part = overview(engine, SalesFilter(first, last, spec.categories, spec.products))
            if part.metrics.orders:
                units = sum(p.quantity for p in part.products)
                cents = _cents(part.metrics.total_revenue)
                period = bucket(first, "week") if spec.group_by == "week" else first
                groups.append((_label(period, spec.group_by), cents, part.metrics.orders, units, period))
    rows = [
        AnswerRow(label, _value(spec.metric, r, o, q), cents_to_decimal(r), o, q, period)
        for label, r, o, q, period in groups
    ]
    ranked = spec.group_by in ("category", "product") or spec.top_n is not None
    if ranked:
        rows = _rank(rows, descending=spec.order == "desc")
    if spec.top_n is not None:
        rows = rows[: spec.top_n]
    return SalesAnswer(
        spec=spec,
        value=result.value,
        orders=orders,
        description=result.description,
        rows=rows,
        span=span,
    )


def _rank(rows: list[AnswerRow], *, descending: bool) -> list[AnswerRow]:
    """By value (highest first unless ascending), ties by label; rows without a value last."""
    valued = [row for row in rows if row.value is not None]
    valued.sort(key=lambda row: row.label)
    valued.sort(key=lambda row: row.value, reverse=descending)  # type: ignore[arg-type, return-value]
    return valued + [row for row in rows if row.value is None]


def _span(spec: QuerySpec, data: DateRange | None) -> DateRange | None:
    if data is None:
        return None
    start = max(spec.start, data.start) if spec.start else data.start
    end = min(spec.end, data.end) if spec.end else data.end
    return DateRange(start, end) if start <= end else None


def _periods(start: dt.date, end: dt.date, unit: str) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive calendar periods covering ``start..end``, clipped to it."""
    if unit == "year":
        count = end.year - start.year + 1
    elif unit == "month":
        count = (end.year - start.year) * 12 + end.month - start.month + 1
    else:
        count = (end - start).days // (7 if unit == "week" else 1) + 2
    if count > MAX_PERIODS:
        raise QueryError(
            f"units sold per {unit} over {count} {unit}s is too many periods (at most {MAX_PERIODS}); "
            "ask for a shorter range or a coarser grouping"
        )
    if unit == "year":
        first = dt.date(start.year, 1, 1)
    elif unit == "month":
        first = start.replace(day=1)
    else:
        first = bucket(start, "week" if unit == "week" else "day")
    while first <= end:
        if unit == "year":
            after = dt.date(first.year + 1, 1, 1)
        elif unit == "month":
            after = next_month(first)
        else:
            after = first + dt.timedelta(days=7 if unit == "week" else 1)
        yield max(first, start), min(after - dt.timedelta(days=1), end)
        first = after


def _label(period: dt.date, unit: str) -> str:
    if unit == "year":
        return str(period.year)
    if unit == "month":
        return period.strftime("%Y-%m")
    if unit == "week":
        return f"week of {period.isoformat()}"
    return period.isoformat()


def _grouping(spec: QuerySpec) -> str:
    by = {"day": "per day", "week": "per week (Monday to Sunday)", "month": "per month", "year": "per year"}
    text = by.get(spec.group_by, f"by {spec.group_by}")
    if spec.top_n is not None:
        direction = "highest" if spec.order == "desc" else "lowest"
        text += f", {direction} {spec.top_n}"
    return text


def describe(spec: QuerySpec, span: DateRange | None) -> str:
    """The query in words, e.g. "Revenue, 2019-01-01 to 2019-12-31, category Office, per month"."""
    parts = [METRIC_LABELS[spec.metric]]
    if span is not None:
        dates = f"{span.start.isoformat()} to {span.end.isoformat()}"
        parts.append(dates if spec.start or spec.end else f"all dates ({dates})")
    else:
        requested = f"{spec.start or 'the first day'} to {spec.end or 'the last day'}"
        parts.append(f"{requested} (no orders in the data for these dates)")
    if spec.categories:
        label = "category" if len(spec.categories) == 1 else "categories"
        parts.append(f"{label} {', '.join(spec.categories)}")
    if spec.products:
        label = "product" if len(spec.products) == 1 else "products"
        parts.append(f"{label} {', '.join(spec.products)}")
    if spec.group_by != "none":
        parts.append(_grouping(spec))
    return ", ".join(parts)


__all__ = ["METRIC_LABELS", "AnswerRow", "Figure", "SalesAnswer", "answer", "describe", "format_figure"]
