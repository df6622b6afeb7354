"""Running a ``QuerySpec`` through the query layer: exact figures, the sentence that answers with them,
and the query in words.

Everything here calls ``chatdash.sales`` query functions (rollup reads, and order-row reads for what
only the rows know) with bound parameters; nothing builds SQL from the question. Figures stay
``Decimal`` (money, ratios) or ``int`` (counts) so the chat, the dashboard and the test bed agree to
the cent. ``SalesAnswer.sentence`` is the first line a user reads: it is rendered from the result,
never from a model.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine

from chatdash.errors import QueryError
from chatdash.sales.periods import bucket, month_end
from chatdash.sales.queries import customer_totals, daily_totals, date_range, order_stats, overview
from chatdash.sales.semantic import DIMENSION, METRIC, Metric
from chatdash.sales.spec import QuerySpec
from chatdash.sales.types import DateRange, SalesFilter, average, cents_to_decimal

Figure = Decimal | int | None
"""Money and ratios as Decimal, counts as int; None: nothing to average (no orders)."""

CUSTOMER_ROWS = 10
"""Customers shown when a question groups by customer without saying how many (there are hundreds)."""
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Totals:
    """The sums a group's figures come from (``customers``/``largest``/``smallest``: raw metrics only)."""

    revenue_cents: int = 0
    quantity: int = 0
    orders: int = 0
    customers: int | None = None
    largest: Decimal | None = None
    smallest: Decimal | None = None

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.revenue_cents + other.revenue_cents,
            self.quantity + other.quantity,
            self.orders + other.orders,
        )


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One group of a grouped answer: a category, a product, a customer or a period."""

    label: str
    value: Figure
    revenue: Decimal
    orders: int
    quantity: int | None
    period: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """From the first row to the second: the difference and the percentage (None from zero)."""

    before: str
    after: str
    absolute: Decimal | int
    percent: Decimal | None


@dataclass(frozen=True, slots=True)
class Share:
    part: Figure
    whole: Figure
    percent: Decimal | None


@dataclass(frozen=True, slots=True)
class SalesAnswer:
    """The exact answer to a ``QuerySpec``."""

    spec: QuerySpec
    value: Figure
    """The metric over every matching order (the total even when grouped; None for a comparison)."""
    orders: int
    description: str
    rows: list[AnswerRow] = field(default_factory=list)
    span: DateRange | None = None
    """The dates actually covered: the spec's, with open ends closed by the data's first/last day."""
    change: Change | None = None
    share: Share | None = None
    notes: tuple[str, ...] = ()
    """What the reader corrected or carried over, shown with the answer."""

    @property
    def metric(self) -> Metric:
        return METRIC[self.spec.metric]

    @property
    def metric_label(self) -> str:
        return self.metric.label

    def sentence(self) -> str:
        """The answer as one sentence with its exact figure(s): the reply's first line."""
        label, scope = self.metric_label, _scope(self.spec, self.span)
        if self.share is not None:
            names = _and(self.spec.categories + self.spec.products)
            percent = "n/a" if self.share.percent is None else f"{self.share.percent}%"
            return (
                f"{names} made {percent} of {label.lower()} {_period_words(self.spec, self.span)}: "
                f"{format_figure(self.share.part)} of {format_figure(self.share.whole)}."
            )
        if self.change is not None and len(self.rows) == 2:
            first, second = self.rows
            change = self.change
            percent = "from zero" if change.percent is None else f"{change.percent:+}%"
            sign = "+" if change.absolute > 0 else ""
            summed = self.metric.additive and self.value is not None and not self.spec.periods
            together = f"; together {format_figure(self.value)}" if summed else ""
            where = (
                _names_words(self.spec)
                if self.spec.periods or self.spec.group_by in ("year", "month")
                else (" " + scope)
            )
            return (
                f"{label}{where.rstrip()}: {format_figure(first.value)} for {first.label} and "
                f"{format_figure(second.value)} for {second.label}, a change of "
                f"{sign}{format_figure(change.absolute)} ({percent}){together}."
            )
        if self.spec.group_by == "none":
            return f"{label} {scope}: {format_figure(self.value)}."
        if not self.rows:
            return f"No orders match: {self.description}."
        dimension = DIMENSION[self.spec.group_by].label.lower()
        top = self.rows[0]
        if self.spec.top_n == 1:
            which = "lowest" if self.spec.order == "asc" else "highest"
            figure = format_figure(top.value)
            return f"The {dimension} with the {which} {label.lower()} {scope} is {top.label}: {figure}."
        total = f"; over all of them: {format_figure(self.value)}" if self.metric.additive else ""
        if self.spec.top_n is not None or self.spec.group_by in ("category", "product", "customer"):
            listed = "; ".join(f"{row.label}: {format_figure(row.value)}" for row in self.rows[:5])
            more = f" (and {len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            return f"{label} {scope} by {dimension}: {listed}{more}{total}."
        return f"{label} {scope} by {dimension}: {len(self.rows)} {dimension}s{total}."

    def figures(self) -> str:
        """The figures as plain text, for the prompt and for clients without a table view."""
        if self.spec.group_by == "none" and not self.rows:
            return f"{self.description}: {format_figure(self.value)}"
        lines = [f"{self.description}:"]
        lines += [f"- {row.label}: {format_figure(row.value)}" for row in self.rows]
        if not self.rows:
            lines.append("- no orders match")
        if not self.spec.periods:
            lines.append(f"{self.metric_label} over all matching orders: {format_figure(self.value)}")
        return "\n".join(lines)

    def all_figures(self) -> list[Figure]:
        """Every figure the answer shows (for the figure check of a model's commentary)."""
        shown: list[Figure] = [self.value, *(row.value for row in self.rows)]
        if self.change is not None:
            shown += [self.change.absolute, self.change.percent]
        if self.share is not None:
            shown += [self.share.part, self.share.whole, self.share.percent]
        return [value for value in shown if value is not None]

    def dates(self) -> list[dt.date]:
        """The dates the answer speaks of (its period, each row's period, compared periods)."""
        days = [self.span.start, self.span.end] if self.span else []
        days += [row.period for row in self.rows if row.period is not None]
        days += [day for p in self.spec.periods for day in (p.start, p.end)]
        return days

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (figures as exact strings) for APIs, the stored reply and traces."""
        return {
            "sentence": self.sentence(),
            "metric": self.spec.metric,
            "metric_label": self.metric_label,
            "definition": self.metric.definition,
            "value": _json(self.value),
            "orders": self.orders,
            "description": self.description,
            "period": {"start": self.span.start.isoformat(), "end": self.span.end.isoformat()}
            if self.span
            else None,
            "filters": {"categories": list(self.spec.categories), "products": list(self.spec.products)},
            "group_by": self.spec.group_by,
            "rows": [
                {
                    "label": row.label,
                    "value": _json(row.value),
                    "period": row.period and row.period.isoformat(),
                }
                for row in self.rows
            ],
            "change": None
            if self.change is None
            else {"absolute": _json(self.change.absolute), "percent": _json(self.change.percent)},
            "share": None
            if self.share is None
            else {
                "part": _json(self.share.part),
                "whole": _json(self.share.whole),
                "percent": _json(self.share.percent),
            },
            "notes": list(self.notes),
            "spec": self.spec.model_dump(mode="json"),
            "dashboard": dashboard_params(self),
        }


def format_figure(value: Figure) -> str:
    if value is None:
        return "n/a (no orders)"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}"


def dashboard_url(base: str, params: dict[str, list[str]] | None) -> str | None:
    """The dashboard at ``base`` (``CHATDASH_DASHBOARD_URL``) showing the view ``params`` describe."""
    if not params:
        return None
    return base.rstrip("/") + "/?" + urllib.parse.urlencode(params, doseq=True)


def dashboard_params(result: SalesAnswer) -> dict[str, list[str]] | None:
    """The dashboard view of the same orders: its URL parameters, ``category`` and ``product``
    repeated (an order matches both, as in the answer). None when the answer has no period of
    orders to show (``span`` is None)."""
    if result.span is None:
        return None
    params = {"start": [result.span.start.isoformat()], "end": [result.span.end.isoformat()]}
    if result.spec.categories:
        params["category"] = list(result.spec.categories)
    if result.spec.products:
        params["product"] = list(result.spec.products)
    if result.spec.group_by in ("day", "week", "month"):
        params["granularity"] = [result.spec.group_by]
    elif result.spec.group_by in ("category", "product"):  # the dashboard's chart of the same grouping
        params["chart"] = ["category" if result.spec.group_by == "category" else "products"]
    return params


def answer(engine: Engine, spec: QuerySpec, notes: Iterable[str] = ()) -> SalesAnswer:
    """Run ``spec`` through the query layer. ``QueryError`` for a question it cannot answer."""
    data = date_range(engine)
    metric = METRIC[spec.metric]
    if spec.periods:
        return _compare_periods(engine, spec, data, tuple(notes))
    span = _span(spec.start, spec.end, data)
    flt = SalesFilter(spec.start, spec.end, spec.categories, spec.products)
    whole = _totals(engine, flt, metric)
    rows = _rows(engine, spec, flt, metric) if spec.group_by != "none" and whole.orders else []
    change = _change(rows) if len(rows) == 2 and spec.top_n is None else None
    share = None
    if spec.share:
        if not metric.additive:
            raise QueryError(f"a share of a total makes sense for sums, not for {metric.label.lower()}")
        everything = _totals(engine, SalesFilter(spec.start, spec.end), metric)
        part, total = _value(metric, whole), _value(metric, everything)
        share = Share(part, total, _percent(part, total))
    return SalesAnswer(
        spec=spec,
        value=_value(metric, whole),
        orders=whole.orders,
        description=describe(spec, span),
        rows=rows,
        span=span,
        change=change,
        share=share,
        notes=tuple(notes),
    )


def _compare_periods(
    engine: Engine, spec: QuerySpec, data: DateRange | None, notes: tuple[str, ...]
) -> SalesAnswer:
    metric = METRIC[spec.metric]
    rows = []
    orders = 0
    for period in spec.periods:
        flt = SalesFilter(period.start, period.end, spec.categories, spec.products)
        totals = _totals(engine, flt, metric)
        orders += totals.orders
        rows.append(_row(_period_label(period.start, period.end), metric, totals, period.start))
    first, last = min(p.start for p in spec.periods), max(p.end for p in spec.periods)
    span = _span(first, last, data)
    return SalesAnswer(
        spec=spec,
        value=None,
        orders=orders,
        description=describe(spec, span),
        rows=rows,
        span=span,
        change=_change(rows) if len(rows) == 2 else None,
        notes=notes,
    )


# -- figures -------------------------------------------------------------------------------------


def _totals(engine: Engine, flt: SalesFilter, metric: Metric) -> Totals:
    if metric.source == "raw":
        stats = order_stats(engine, flt)
        if not stats:
            return Totals()
        s = stats[0]
        return Totals(0, s.quantity, s.orders, s.customers, s.largest, s.smallest)
    view = overview(engine, flt)
    revenue = sum(int(p.revenue.scaleb(2)) for p in view.products)
    return Totals(revenue, sum(p.quantity for p in view.products), view.metrics.orders)


def _value(metric: Metric, totals: Totals) -> Figure:
    name = metric.name
    if name == "revenue":
        return cents_to_decimal(totals.revenue_cents)
    if name == "orders":
        return totals.orders
    if name == "quantity":
        return totals.quantity
    if totals.orders == 0:
        return None
    if name == "average_order_value":
        return average(totals.revenue_cents, totals.orders)
    if name == "average_unit_price":
        return average(totals.revenue_cents, totals.quantity)
    if name == "items_per_order":
        return (Decimal(totals.quantity) / Decimal(totals.orders)).quantize(CENT, ROUND_HALF_UP)
    if name == "distinct_customers":
        return totals.customers
    if name == "largest_order":
        return totals.largest
    if name == "smallest_order":
        return totals.smallest
    raise QueryError(f"no way to compute {name}")


def _row(label: str, metric: Metric, totals: Totals, period: dt.date | None = None) -> AnswerRow:
    return AnswerRow(
        label,
        _value(metric, totals),
        cents_to_decimal(totals.revenue_cents),
        totals.orders,
        totals.quantity,
        period,
    )


def _rows(engine: Engine, spec: QuerySpec, flt: SalesFilter, metric: Metric) -> list[AnswerRow]:
    group = spec.group_by
    if metric.source == "raw":
        if group not in ("category", "product", "customer", "day", "month", "year"):
            raise QueryError(
                f"{metric.label.lower()} per {group} is not something I can compute yet; ask for it per "
                "day, month or year, or by category, product or customer"
            )
        rows = []
        for s in order_stats(engine, flt, group):
            totals = Totals(0, s.quantity, s.orders, s.customers, s.largest, s.smallest)
            if group in ("day", "month", "year"):
                period = dt.date.fromisoformat(s.label)
                rows.append(_row(_label(period, group), metric, totals, period))
            else:
                rows.append(_row(_customer(s.label) if group == "customer" else s.label, metric, totals))
    elif group in ("category", "product"):
        sums: dict[str, Totals] = {}
        for p in overview(engine, flt).products:
            key = p.category if group == "category" else p.product_name
            sums[key] = sums.get(key, Totals()) + Totals(int(p.revenue.scaleb(2)), p.quantity, p.orders)
        rows = [_row(name, metric, totals) for name, totals in sums.items()]
    elif group == "customer":
        rows = [
            _row(_customer(str(c.customer_id)), metric, Totals(c.revenue_cents, c.quantity, c.orders))
            for c in customer_totals(engine, flt)
        ]
    else:
        rows = _time_rows(engine, flt, metric, group)
    ranked = group in ("category", "product", "customer") or spec.top_n is not None
    if ranked:
        rows = _rank(rows, descending=spec.order == "desc")
    limit = spec.top_n or (CUSTOMER_ROWS if group == "customer" else None)
    return rows[:limit] if limit else rows


def _time_rows(engine: Engine, flt: SalesFilter, metric: Metric, group: str) -> list[AnswerRow]:
    key: Callable[[dt.date], Any] = _PERIOD_KEYS[group]
    sums: dict[Any, Totals] = {}
    for day in daily_totals(engine, flt):
        k = key(day.day)
        sums[k] = sums.get(k, Totals()) + Totals(day.revenue_cents, day.quantity, day.orders)
    if group == "weekday":
        return [_row(WEEKDAYS[k], metric, sums[k]) for k in sorted(sums)]
    return [_row(_label(k, group), metric, sums[k], k) for k in sorted(sums)]


_PERIOD_KEYS: dict[str, Callable[[dt.date], Any]] = {
    "day": lambda d: d,
    "week": lambda d: bucket(d, "week"),
    "month": lambda d: d.replace(day=1),
    "quarter": lambda d: dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1),
    "year": lambda d: dt.date(d.year, 1, 1),
    "weekday": lambda d: d.weekday(),
}


def _change(rows: list[AnswerRow]) -> Change | None:
    first, second = rows
    if first.value is None or second.value is None:
        return None
    absolute = second.value - first.value
    return Change(first.label, second.label, absolute, _percent(absolute, first.value))


def _percent(part: Figure, whole: Figure) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)


def _rank(rows: list[AnswerRow], *, descending: bool) -> list[AnswerRow]:
    """By value (highest first unless ascending), ties by label; rows without a value last."""
    valued = [row for row in rows if row.value is not None]
    valued.sort(key=lambda row: row.label)
    valued.sort(key=lambda row: row.value, reverse=descending)  # type: ignore[arg-type, return-value]
    return valued + [row for row in rows if row.value is None]


def _json(value: Figure) -> str | int | None:
    return str(value) if isinstance(value, Decimal) else value


def _customer(customer_id: str) -> str:
    return f"customer {customer_id}"


# -- words ---------------------------------------------------------------------------------------


def _span(start: dt.date | None, end: dt.date | None, data: DateRange | None) -> DateRange | None:
    if data is None:
        return None
    first = max(start, data.start) if start else data.start
    last = min(end, data.end) if end else data.end
    return DateRange(first, last) if first <= last else None


def _label(period: dt.date, unit: str) -> str:
    if unit == "year":
        return str(period.year)
    if unit == "quarter":
        return f"{period.year} Q{(period.month - 1) // 3 + 1}"
    if unit == "month":
        return period.strftime("%Y-%m")
    if unit == "week":
        return f"week of {period.isoformat()}"
    return period.isoformat()


def _period_label(start: dt.date, end: dt.date) -> str:
    """A period in the words a person would use: "2019", "2019 Q2", "March 2019", or "A to B"."""
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    if start.day == 1 and end == month_end(start):
        return start.strftime("%B %Y")
    if start.day == 1 and start.month % 3 == 1 and end == month_end(dt.date(start.year, start.month + 2, 1)):
        return _label(start, "quarter")
    if start == end:
        return start.isoformat()
    return f"{start.isoformat()} to {end.isoformat()}"


def _period_words(spec: QuerySpec, span: DateRange | None) -> str:
    if span is None:
        return "in no period with orders"
    if not (spec.start or spec.end):
        return f"over all dates ({span.start.isoformat()} to {span.end.isoformat()})"
    label = _period_label(span.start, span.end)
    if " to " in label:
        return f"from {label}"
    return f"on {label}" if span.start == span.end else f"in {label}"


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _names_words(spec: QuerySpec) -> str:
    names = spec.categories + spec.products
    return f" of {_and(names)}" if names else ""


def _scope(spec: QuerySpec, span: DateRange | None) -> str:
    return f"{_names_words(spec).strip()} {_period_words(spec, span)}".strip()


def _grouping(spec: QuerySpec) -> str:
    by = {
        "day": "per day",
        "week": "per week (Monday to Sunday)",
        "month": "per month",
        "quarter": "per quarter",
        "year": "per year",
        "weekday": "per day of the week",
    }
    text = by.get(spec.group_by, f"by {spec.group_by}")
    top_n = spec.top_n or (CUSTOMER_ROWS if spec.group_by == "customer" else None)
    if top_n is not None:
        direction = "highest" if spec.order == "desc" else "lowest"
        text += f", {direction} {top_n}"
    return text


def describe(spec: QuerySpec, span: DateRange | None) -> str:
    """The query in words, e.g. "Revenue, 2019-01-01 to 2019-12-31, category Office, per month"."""
    parts = [METRIC[spec.metric].label]
    if spec.periods:
        parts.append(" against ".join(_period_label(p.start, p.end) for p in spec.periods))
    elif span is not None:
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
    if spec.share:
        parts.append("as a share of all categories and products")
    return ", ".join(parts)


__all__ = [
    "AnswerRow",
    "Change",
    "Figure",
    "SalesAnswer",
    "Share",
    "answer",
    "dashboard_url",
    "describe",
    "format_figure",
]
