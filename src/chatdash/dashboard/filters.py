"""The filter bar, and the round trip between the widgets and the URL.

Every widget of the view has a key in ``st.session_state``. A key with no state yet (a new
visit, or a widget the last run did not draw, e.g. after a database error) is seeded from the
URL; once the view is valid, ``write_url`` puts it back in the URL. So the URL always holds the
view (a shared link reproduces it) and the widgets never take a value we did not give them.
Widgets are created without a ``value``/``default`` argument: Session State is their only source.

Typed dates apply on Enter too (``ENTER_APPLIES_DATES``): Streamlit's date field commits what was typed
only when the focus leaves it, and Enter would otherwise do nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import streamlit as st

from chatdash.dashboard import data, state
from chatdash.sales import GRANULARITIES, DateRange, Granularity, auto_granularity

DATES = "dates"
CATEGORIES = "categories"
PRODUCTS = "products"
GRANULARITY = "granularity"
CHART = "chart"
NEWEST_FIRST = "newest_first"
PAGE_SIZE = "page_size"
PAGE = "page"
AUTO = "auto"
"""The granularity widget's value for "chosen from the date range" (a None option would read as unset)."""
_PAGED = "paged_rows"
"""What the page number counts through (filter, order, page size): when it changes, back to page 1."""
ENTER_APPLIES_DATES = """<script>
(() => {
  // Streamlit's date field commits typed dates when the focus moves to another element (a blur to
  // nowhere is ignored): on Enter, move it to a throwaway element outside the field.
  if (window.__chatdashEnterAppliesDates) return;
  window.__chatdashEnterAppliesDates = true;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    const target = event.target;
    if (!(target instanceof Element) || !target.closest('[data-testid="stDateInputField"]')) return;
    event.preventDefault();
    const sink = document.createElement("span");
    sink.tabIndex = -1;
    document.body.append(sink);
    sink.focus({ preventScroll: true });
    sink.remove();
  }, true);
})();
</script>"""


def seed(span: DateRange, known: state.Known) -> list[state.Notice]:
    """Give each widget without state the URL's value; returns what was wrong in the URL."""
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    linked, notices = state.from_params(params, span, known)
    values: dict[str, object] = {
        DATES: (linked.start, linked.end),
        CATEGORIES: list(linked.categories),
        PRODUCTS: list(linked.products),
        GRANULARITY: linked.granularity or AUTO,
        CHART: state.CHARTS[linked.chart],
        NEWEST_FIRST: linked.newest_first,
        PAGE_SIZE: linked.page_size,
        PAGE: linked.page,
    }
    for key, value in values.items():
        if key not in st.session_state:
            st.session_state[key] = value
    _keep_within(span, known)
    return notices


def _keep_within(span: DateRange, known: state.Known) -> None:
    """After a Refresh the data's range, categories or products may have changed under the widgets."""
    dates = st.session_state[DATES]
    bounded = tuple(state.clamp(day, span) for day in dates)
    if bounded != tuple(dates):
        st.session_state[DATES] = bounded
    for key, names in ((CATEGORIES, known.categories), (PRODUCTS, known.products)):
        chosen = st.session_state[key]
        if any(name not in names for name in chosen):
            st.session_state[key] = [name for name in chosen if name in names]


def filter_bar(span: DateRange, known: state.Known) -> state.View | None:
    """Dates, categories, products, granularity and Refresh in one row; the view, or None mid-selection.

    ``st.date_input`` in range mode returns a one-element tuple after the first click of a new
    range: that is not a view yet, so there is nothing to query until the end date is picked.
    """
    dates_column, categories_column, products_column, granularity_column, refresh_column = st.columns(
        [3, 3, 3.5, 2, 1.5], vertical_alignment="bottom"
    )
    dates = _complete_range(
        dates_column.date_input(
            "Dates", min_value=span.start, max_value=span.end, format="YYYY-MM-DD", key=DATES
        )
    )
    categories_column.multiselect(
        "Categories", known.categories, key=CATEGORIES, placeholder="All categories"
    )
    products_column.multiselect(
        "Products",
        known.products,
        key=PRODUCTS,
        placeholder="All products",
        help="With categories chosen too, an order must match both.",
    )
    automatic = f"auto ({auto_granularity(*dates)})" if dates else "auto"
    granularity_column.selectbox(
        "Granularity",
        (AUTO, *GRANULARITIES),
        key=GRANULARITY,
        format_func=lambda value: automatic if value == AUTO else value,
        help="Time step of the revenue chart. Automatic: days up to a quarter, weeks up to two years.",
    )
    refresh_column.button(
        "Refresh",
        key="refresh",
        on_click=data.clear,
        icon=":material/refresh:",
        help=f"Figures are cached for up to {int(data.TTL.total_seconds())} s; this reloads them now.",
    )
    if dates is None:
        return None
    chosen_granularity = st.session_state[GRANULARITY]
    granularity: Granularity | None = None if chosen_granularity == AUTO else chosen_granularity
    start, end = sorted(dates)  # the field orders a typed range itself; a set value may not be
    view = state.View(
        start=start,
        end=end,
        categories=_in_data_order(known.categories, st.session_state[CATEGORIES]),
        products=_in_data_order(known.products, st.session_state[PRODUCTS]),
        granularity=granularity,
        chart=chart_of(st.session_state[CHART]),
        newest_first=st.session_state[NEWEST_FIRST],
        page_size=st.session_state[PAGE_SIZE],
        page=st.session_state[PAGE],
    )
    return _first_page_after_a_change(view)


def _first_page_after_a_change(view: state.View) -> state.View:
    """Back to page 1 when the rows paged through change (filter, order, page size); a linked page
    number holds on the first run."""
    paged = (view.sales_filter(), view.newest_first, view.page_size)
    before = st.session_state.get(_PAGED)
    st.session_state[_PAGED] = paged
    if before is not None and before != paged and view.page != 1:
        st.session_state[PAGE] = 1  # before the page box is drawn this run
        return dataclasses.replace(view, page=1)
    return view


def _in_data_order(known: Sequence[str], chosen: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for name in known if name in chosen)


def _complete_range(value: object) -> tuple[dt.date, dt.date] | None:
    """Both ends of the picked range, or None while only the first one has been clicked."""
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1]
    return None


def chart_of(label: str) -> str:
    """Tab label -> its URL value."""
    return next((key for key, text in state.CHARTS.items() if text == label), state.DEFAULT_CHART)


def write_url(view: state.View, span: DateRange) -> None:
    """Make the URL say ``view``, touching only parameters that change."""
    wanted = state.to_params(view, span)
    for name in state.PARAMS:
        if name in wanted:
            if st.query_params.get_all(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]
