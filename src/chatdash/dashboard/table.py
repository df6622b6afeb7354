"""Raw data: one server-side page at a time, any page by its number, and the link to the whole set as CSV.

Only the page on screen travels to the browser (the published dashboard sent every matching
row, which ``st.dataframe`` stops sorting and exporting well before 10 million). The page number
is part of the view (``page`` in the URL); Previous, Next and the page box change it, and a change
of filter, order or page size starts again at page 1 (``filters.filter_bar``). Page N is read from
a keyset cursor that ``data.page_start`` finds from the daily order counts, so page 2,000 costs
about what page 1 does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from chatdash.dashboard import data, export, filters, formatting, paging, state
from chatdash.dashboard.sections import NO_DATA
from chatdash.sales import DateRange, SalesFilter, SalesRecord

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
    """Order and page-size controls, the current page, Previous / page number / Next, and the CSV link."""
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
    number = view.page
    cursor = None
    if number > 1:
        total = sum(day.orders for day in data.series(flt, "day"))
        last = paging.page_count(total, view.page_size)
        if number > last:
            st.warning(
                f"Page {formatting.count(number)} is past the last page of these rows: "
                f"showing page {formatting.count(last)}.",
                icon=":material/last_page:",
            )
            number = st.session_state[filters.PAGE] = last
            filters.write_url(dataclasses.replace(view, page=number), span)
        cursor = data.page_start(flt, view.newest_first, (number - 1) * view.page_size)
    page = data.rows_page(flt, cursor, view.page_size, view.newest_first)
    if page.total == 0:
        st.info(NO_DATA, icon=":material/search_off:")
        return
    pages = paging.page_count(page.total, view.page_size)
    download.link_button(
        f"Download all {formatting.count(page.total)} rows (CSV)",
        export.url(base_path, view, span),
        icon=":material/download:",
        help="Streamed from the database, whatever the size.",
    )
    first = (number - 1) * view.page_size + 1
    st.dataframe(
        _columns(page.rows),
        hide_index=True,
        column_config=_COLUMNS,
        height=_ROW_HEIGHT * (min(len(page.rows), _MAX_VISIBLE_ROWS) + 1) + 3,
    )
    previous, box, following, where = st.columns([1, 1, 1, 5], vertical_alignment="bottom")
    previous.button(
        "Previous",
        key="previous_page",
        icon=":material/chevron_left:",
        disabled=number == 1,
        on_click=_turn,
        args=(-1,),
    )
    box.number_input(
        "Page",
        min_value=1,
        max_value=max(pages, number),  # the counts of the rollup and of the rows agree; if not, no crash
        step=1,
        key=filters.PAGE,
        help=f"1 to {formatting.count(pages)}; Enter goes there.",
    )
    following.button(
        "Next",
        key="next_page",
        icon=":material/chevron_right:",
        disabled=number >= pages,
        on_click=_turn,
        args=(1,),
    )
    where.caption(
        f"Rows {formatting.count(first)} to {formatting.count(first + len(page.rows) - 1)} "
        f"of {formatting.count(page.total)} · page {formatting.count(number)} "
        f"of {formatting.count(pages)}"
    )


def _turn(by: int) -> None:
    st.session_state[filters.PAGE] = max(1, st.session_state[filters.PAGE] + by)


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
