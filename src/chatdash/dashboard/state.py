"""The dashboard's view as URL query parameters, so that a shared link reproduces what was seen.

Pure Python (no Streamlit), so that the page and the CSV export read a link the same way and the
rules can be tested on their own. The page never refuses a link: a value that cannot be used (a
bad date, an unknown category or product, a date outside the data, an end before the start) falls
back to the default or the nearest usable value, and ``from_params`` returns a ``Notice`` that says
what the page did instead. The CSV export does refuse such a link (it must not send other rows than
the link names), with each notice's ``fix``: what to change. Only defaults are left out of the URL,
so the opening view's link stays short and follows the data when it grows.

Parameters: ``start``, ``end`` (YYYY-MM-DD), ``category`` and ``product`` (repeated, matched
without regard to case; with both, an order must match both), ``granularity`` (day|week|month;
absent: automatic), ``chart`` (time|category|products), ``sort`` (newest|oldest), ``rows`` (page
size) and ``page`` (the page of raw rows, from 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from chatdash.sales import GRANULARITIES, DateRange, Granularity, SalesFilter, auto_granularity

CHARTS: dict[str, str] = {
    "time": "Revenue over time",
    "category": "Revenue by category",
    "products": "Top 10 products",
}
"""Chart tab: URL value -> tab label, in tab order."""

PARAMS = ("start", "end", "category", "product", "granularity", "chart", "sort", "rows", "page")
"""The query parameters the dashboard owns; any other parameter in a URL is left alone."""
PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 500, 1000)
DEFAULT_PAGE_SIZE = 50
DEFAULT_CHART = "time"
DEFAULT_NEWEST_FIRST = True

Params = Mapping[str, Sequence[str]]
"""Query parameters as a mapping of name -> every value given (``?category=a&category=b``)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A value of a link that could not be used as given."""

    shown: str
    """What the page did instead, shown above it: "Unknown category 'Toys' in the link was ignored."."""
    fix: str
    """What to change in the link to use it as it is (the CSV export's refusal says this)."""

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True, slots=True)
class Known:
    """What the data holds that a link may name: its categories and products, in the data's order."""

    categories: Sequence[str]
    products: Sequence[str]


@dataclass(frozen=True, slots=True)
class View:
    """Everything a link says about the page; ``from_params`` never makes one that ends before it starts."""

    start: dt.date
    end: dt.date
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    granularity: Granularity | None = None
    """None: chosen from the date range (``auto_granularity``)."""
    chart: str = DEFAULT_CHART
    newest_first: bool = DEFAULT_NEWEST_FIRST
    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 1
    """The page of raw rows shown (from 1; the page makes it the last page when it is past it)."""

    def sales_filter(self) -> SalesFilter:
        """The query layer's filter; raises ``QueryError`` when the end is before the start."""
        return SalesFilter(self.start, self.end, self.categories, self.products)

    @property
    def effective_granularity(self) -> Granularity:
        return self.granularity or auto_granularity(self.start, self.end)


def default_view(span: DateRange) -> View:
    """The opening view: the data's whole date range, every category and product."""
    return View(span.start, span.end)


def from_params(params: Params, span: DateRange, known: Known) -> tuple[View, list[Notice]]:
    """The view a link asks for, and a notice for every value that could not be used as given."""
    notices: list[Notice] = []
    start = link_date(params, "start", span, span.start, "the first order", notices)
    end = link_date(params, "end", span, span.end, "the last order", notices)
    if end < start:
        notices.append(
            Notice(
                f"The end date {end} in the link is before the start date {start}: "
                f"showing {end} to {start} (the two dates swapped).",
                f"The end date {end} is before the start date {start}: swap them (start={end}&end={start}).",
            )
        )
        start, end = end, start
    categories = known_names(params, "category", known.categories, notices)
    products = known_names(params, "product", known.products, notices)
    granularity: Granularity | None = None
    value = one(params, "granularity")
    if value is not None and value != "auto":
        if value in GRANULARITIES:
            granularity = value
        else:
            notices.append(
                Notice(
                    f"Granularity {value!r} in the link is not day, week or month: using automatic.",
                    f"Granularity {value!r} is not day, week or month: use one of those, or leave "
                    "granularity out for the automatic one.",
                )
            )
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
        page=page_number(params, notices),
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
    if view.page != 1:
        params["page"] = [str(view.page)]
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


class Span(Protocol):
    """A first and a last day: the data's (``DateRange``) or the traces' (``quality.Days``)."""

    @property
    def start(self) -> dt.date: ...

    @property
    def end(self) -> dt.date: ...


def clamp(day: dt.date, span: Span) -> dt.date:
    return min(max(day, span.start), span.end)


# -- reading one parameter of a link: shared by every page's view (Sales, AI quality, Test bed) ---------


def one(params: Params, name: str) -> str | None:
    values = params.get(name, ())
    return values[0] if values else None


def known_names(
    params: Params, name: str, known: Sequence[str], notices: list[Notice], *, why: str = ""
) -> tuple[str, ...]:
    """The known values of a repeated parameter, spelled and ordered as ``known``; a notice for each
    unknown one (``why``: what the page adds about it). Case and surrounding spaces do not matter:
    ``category=office`` is Office."""
    spelling = {value.casefold(): value for value in known}
    chosen: set[str] = set()
    for value in dict.fromkeys(params.get(name, ())):
        match = spelling.get(value.strip().casefold())
        if match is not None:
            chosen.add(match)
            continue
        notices.append(
            Notice(
                f"Unknown {name} {value!r} in the link was ignored{f' ({why})' if why else ''}.",
                f"Unknown {name} {value!r}: use one of {', '.join(known) or 'none yet'} "
                f"(or leave {name} out for all).",
            )
        )
    return tuple(value for value in known if value in chosen)


def link_date(
    params: Params,
    name: str,
    span: Span,
    default: dt.date,
    fallback: str,
    notices: list[Notice],
    *,
    holding: str = "the data",
) -> dt.date:
    """A date parameter within ``span`` (what ``holding`` spans), else ``default`` or the nearest day."""
    value = one(params, name)
    if value is None:
        return default
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        notices.append(
            Notice(
                f"The {name} date {value!r} in the link is not a date (YYYY-MM-DD): using {fallback}.",
                f"The {name} date {value!r} is not a date: write it as YYYY-MM-DD, e.g. {name}={default}.",
            )
        )
        return default
    if day != clamp(day, span):
        notices.append(
            Notice(
                f"The {name} date {day} in the link is outside {holding} "
                f"({span.start} to {span.end}): using {clamp(day, span)}.",
                f"The {name} date {day} is outside {holding}: choose one from {span.start} to {span.end}.",
            )
        )
    return clamp(day, span)


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str, notices: list[Notice]) -> str:
    value = one(params, name)
    if value is None:
        return default
    if value not in allowed:
        notices.append(
            Notice(
                f"{name.capitalize()} {value!r} in the link is not one of {', '.join(allowed)}: "
                f"using {default}.",
                f"{name.capitalize()} {value!r} is not one of {', '.join(allowed)}: use one of those.",
            )
        )
        return default
    return value


def page_number(params: Params, notices: list[Notice]) -> int:
    """The ``page`` parameter, a whole number from 1 (1 when it is anything else)."""
    value = one(params, "page")
    if value is None:
        return 1
    if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) < 1:
        notices.append(
            Notice(
                f"Page {value!r} in the link is not a page number: showing page 1.",
                f"Page {value!r} is not a page number: use a whole number from 1.",
            )
        )
        return 1
    return int(value)


def _sort(newest_first: bool) -> str:
    return "newest" if newest_first else "oldest"
