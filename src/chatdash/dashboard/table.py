"""Raw data: one server-side page at a time, and the link to the whole set as CSV.

Only the page on screen travels to the browser (the published dashboard sent every matching
row, which ``st.dataframe`` stops sorting and exporting well before 10 million). Pages are keyset
pages of the query layer: Next pushes the page's cursor on a stack kept in Session State,
Previous pops it, so every page costs the same however deep it is. The stack belongs to one
filter, order and page size; any change starts again at the first page.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from chatdash.dashboard import data, export, filters, formatting, state
from chatdash.dashboard.sections import NO_DATA
from chatdash.sales import DateRange, RowCursor, SalesFilter, SalesRecord

_STACK = "raw_cursors"
_ROW_HEIGHT = 35
_MAX_VISIBLE_ROWS = 15
_COLUMNS = {
    "order_id": st.column_config.NumberColumn("Order", format="%d"),
    "order_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
    "customer_id": st.column_config.NumberColumn("Customer id", format="%d"),
    "customer_name": st.column_config.TextColumn("Customer"),
    "product_id": st.column_config.NumberColumn("Product id", format="%d"),
    "product_name": st.column_config.TextColumn("Product"),
    "category": st.column_config.TextColumn("Category"),
    "quantity": st.column_config.NumberColumn("Quantity", format="%d"),
    # Money as exact text (see _columns), aligned like the numbers it is.
    "price": st.column_config.TextColumn("Price", alignment="right"),
    "total": st.column_config.TextColumn("Total", alignment="right"),
}


def raw_data(view: state.View, flt: SalesFilter, span: DateRange, base_path: str) -> None:
    """Order and page-size controls, the current page, Previous/Next, and the CSV link."""
    st.subheader("Raw data")
    order, size, download = st.columns([2, 1, 2], vertical_alignment="bottom")
    order.radio(
        "Order",
        (True, False),
        key=filters.NEWEST_FIRST,
        format_func=lambda newest: "Newest first" if newest else "Oldest first",
        horizontal=True,
    )
    size.selectbox("Rows per page", state.PAGE_SIZES, key=filters.PAGE_SIZE)
    cursors = _cursors((flt, view.newest_first, view.page_size))
    page = data.rows_page(flt, cursors[-1], view.page_size, view.newest_first)
    if page.total == 0:
        st.info(NO_DATA, icon=":material/search_off:")
        return
    download.link_button(
        f"Download all {formatting.count(page.total)} rows (CSV)",
        export.url(base_path, view, span),
        icon=":material/download:",
        help="Streamed from the database, whatever the size.",
    )
    first = (len(cursors) - 1) * view.page_size + 1
    st.dataframe(
        _columns(page.rows),
        hide_index=True,
        column_config=_COLUMNS,
        height=_ROW_HEIGHT * (min(len(page.rows), _MAX_VISIBLE_ROWS) + 1) + 3,
    )
    previous, following, where = st.columns([1, 1, 6], vertical_alignment="center")
    previous.button(
        "Previous",
        key="previous_page",
        icon=":material/chevron_left:",
        disabled=len(cursors) == 1,
        on_click=_back,
    )
    following.button(
        "Next",
        key="next_page",
        icon=":material/chevron_right:",
        disabled=page.next_cursor is None,
        on_click=_forward,
        args=(page.next_cursor,),
    )
    where.caption(
        f"Rows {formatting.count(first)} to {formatting.count(first + len(page.rows) - 1)} "
        f"of {formatting.count(page.total)} · page {formatting.count(len(cursors))} "
        f"of {formatting.count(math.ceil(page.total / view.page_size))}"
    )


def _cursors(owner: tuple[SalesFilter, bool, int]) -> list[RowCursor | None]:
    """The stack for this filter/order/size: ``[None]`` (the first page) after any change."""
    kept = st.session_state.get(_STACK)
    if kept is None or kept[0] != owner:
        first_page: list[RowCursor | None] = [None]
        kept = (owner, first_page)
        st.session_state[_STACK] = kept
    stack: list[RowCursor | None] = kept[1]
    return stack


def _forward(cursor: RowCursor | None) -> None:
    if cursor is not None:
        st.session_state[_STACK][1].append(cursor)


def _back() -> None:
    stack = st.session_state[_STACK][1]
    if len(stack) > 1:
        stack.pop()


def _columns(rows: list[SalesRecord]) -> dict[str, list[Any]]:
    """Column-wise data for ``st.dataframe``; money as exact text with two decimals."""
    return {
        "order_id": [r.order_id for r in rows],
        "order_date": [r.order_date for r in rows],
        "customer_id": [r.customer_id for r in rows],
        "customer_name": [r.customer_name for r in rows],
        "product_id": [r.product_id for r in rows],
        "product_name": [r.product_name for r in rows],
        "category": [r.category for r in rows],
        "quantity": [r.quantity for r in rows],
        "price": [formatting.money(r.price) for r in rows],
        "total": [formatting.money(r.total) for r in rows],
    }
