"""The dashboard's view as URL query parameters, so that a shared link reproduces what was seen.

Pure Python (no Streamlit), so that the page and the CSV export read a link the same way and the
rules can be tested on their own. A link is never refused: a value that cannot be used (a bad
date, an unknown category or product, a date outside the data) falls back to the default or the
nearest usable value, and ``from_params`` says so in a notice the page shows. Only defaults are
left out of the URL, so the opening view's link stays short and follows the data when it grows.

Parameters: ``start``, ``end`` (YYYY-MM-DD), ``category`` and ``product`` (repeated; with both,
an order must match both), ``granularity`` (day|week|month; absent: automatic), ``chart``
(time|category|products), ``sort`` (newest|oldest) and ``rows`` (page size).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatdash.sales import GRANULARITIES, DateRange, Granularity, SalesFilter, auto_granularity

CHARTS: dict[str, str] = {
    "time": "Revenue over time",
    "category": "Revenue by category",
    "products": "Top 10 products",
}
"""Chart tab: URL value -> tab label, in tab order."""

PARAMS = ("start", "end", "category", "product", "granularity", "chart", "sort", "rows")
"""The query parameters the dashboard owns; any other parameter in a URL is left alone."""
PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 500, 1000)
DEFAULT_PAGE_SIZE = 50
DEFAULT_CHART = "time"
DEFAULT_NEWEST_FIRST = True

Params = Mapping[str, Sequence[str]]
"""Query parameters as a mapping of name -> every value given (``?category=a&category=b``)."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the data holds that a link may name: its categories and products, in the data's order."""

    categories: Sequence[str]
    products: Sequence[str]


@dataclass(frozen=True, slots=True)
class View:
    """Everything a link says about the page. ``end`` may be before ``start``: the page says so."""

    start: dt.date
    end: dt.date
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    granularity: Granularity | None = None
    """None: chosen from the date range (``auto_granularity``)."""
    chart: str = DEFAULT_CHART
    newest_first: bool = DEFAULT_NEWEST_FIRST
    page_size: int = DEFAULT_PAGE_SIZE

    def sales_filter(self) -> SalesFilter:
        """The query layer's filter; raises ``QueryError`` when the end is before the start."""
        return SalesFilter(self.start, self.end, self.categories, self.products)

    @property
    def effective_granularity(self) -> Granularity:
        return self.granularity or auto_granularity(self.start, self.end)


def default_view(span: DateRange) -> View:
    """The opening view: the data's whole date range, every category and product."""
    return View(span.start, span.end)


def from_params(params: Params, span: DateRange, known: Known) -> tuple[View, list[str]]:
    """The view a link asks for, and a notice for every value that could not be used as given."""
    notices: list[str] = []
    start = _date(params, "start", span, span.start, "the first order", notices)
    end = _date(params, "end", span, span.end, "the last order", notices)
    categories = _names(params, "category", known.categories, notices)
    products = _names(params, "product", known.products, notices)
    granularity: Granularity | None = None
    value = _one(params, "granularity")
    if value is not None and value != "auto":
        if value in GRANULARITIES:
            granularity = value
        else:
            notices.append(f"Granularity {value!r} in the link is not day, week or month: using automatic.")
    chart = _choice(params, "chart", tuple(CHARTS), DEFAULT_CHART, notices)
    sort = _choice(params, "sort", ("newest", "oldest"), _sort(DEFAULT_NEWEST_FIRST), notices)
    rows = _choice(params, "rows", tuple(map(str, PAGE_SIZES)), str(DEFAULT_PAGE_SIZE), notices)
    view = View(
        start=start,
        end=end,
        categories=categories,
        products=products,
        granularity=granularity,
        chart=chart,
        newest_first=sort == "newest",
        page_size=int(rows),
    )
    return view, notices


def to_params(view: View, span: DateRange) -> dict[str, list[str]]:
    """The query parameters of a view, leaving out every default."""
    params = filter_params(view, span)
    if view.granularity is not None:
        params["granularity"] = [view.granularity]
    if view.chart != DEFAULT_CHART:
        params["chart"] = [view.chart]
    if view.page_size != DEFAULT_PAGE_SIZE:
        params["rows"] = [str(view.page_size)]
    return params


def filter_params(view: View, span: DateRange) -> dict[str, list[str]]:
    """Only what selects and orders rows: the part of the link the CSV export needs."""
    params: dict[str, list[str]] = {}
    if view.start != span.start:
        params["start"] = [view.start.isoformat()]
    if view.end != span.end:
        params["end"] = [view.end.isoformat()]
    if view.categories:
        params["category"] = list(view.categories)
    if view.products:
        params["product"] = list(view.products)
    if view.newest_first != DEFAULT_NEWEST_FIRST:
        params["sort"] = [_sort(view.newest_first)]
    return params


def previous_period(flt: SalesFilter, span: DateRange) -> SalesFilter | None:
    """The same number of days just before the filter's range, same categories and products.

    None when that period ends before the first order: there is nothing to compare with (the
    opening view, the whole data set, is such a case).
    """
    start, end = flt.start or span.start, flt.end or span.end
    length = end - start + dt.timedelta(days=1)
    previous_end = start - dt.timedelta(days=1)
    if previous_end < span.start:
        return None
    return SalesFilter(start - length, previous_end, flt.categories, flt.products)


def clamp(day: dt.date, span: DateRange) -> dt.date:
    return min(max(day, span.start), span.end)


def _one(params: Params, name: str) -> str | None:
    values = params.get(name, ())
    return values[0] if values else None


def _names(params: Params, name: str, known: Sequence[str], notices: list[str]) -> tuple[str, ...]:
    """The known values of a repeated parameter, in the data's order; a notice for each unknown one."""
    given = params.get(name, ())
    for value in dict.fromkeys(given):
        if value not in known:
            notices.append(f"Unknown {name} {value!r} in the link was ignored.")
    return tuple(value for value in known if value in given)


def _date(
    params: Params, name: str, span: DateRange, default: dt.date, fallback: str, notices: list[str]
) -> dt.date:
    value = _one(params, name)
    if value is None:
        return default
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        notices.append(f"The {name} date {value!r} in the link is not a date (YYYY-MM-DD): using {fallback}.")
        return default
    if day != clamp(day, span):
        notices.append(
            f"The {name} date {day} in the link is outside the data "
            f"({span.start} to {span.end}): using {clamp(day, span)}."
        )
    return clamp(day, span)


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str, notices: list[str]) -> str:
    value = _one(params, name)
    if value is None:
        return default
    if value not in allowed:
        notices.append(f"{name.capitalize()} {value!r} in the link is not one of {', '.join(allowed)}.")
        return default
    return value


def _sort(newest_first: bool) -> str:
    return "newest" if newest_first else "oldest"
