"""The Sales page: sign-in, filters, key metrics, charts, raw data — and its error edge.

In `password` mode the page shows nothing but a way to sign in until the visitor has a session of
the chat (``auth``). chatdash errors become messages that say what to do (run `chatdash init`, check
``CHATDASH_DATABASE_URL``), never a traceback. Anything else is a bug and Streamlit shows it.
"""

from __future__ import annotations

import streamlit as st

from chatdash.config import get_settings
from chatdash.dashboard import auth, data, filters, guard, sections, state, table


def render() -> None:
    st.title("Sales")
    with guard.errors_shown():
        visitor = _visitor()
        if visitor is not None:
            _render(visitor)
    st.html(filters.ENTER_APPLIES_DATES, unsafe_allow_javascript=True)  # last: its empty block goes unseen


def _visitor() -> str | None:
    """Who sees the page: the signed-in username, ``""`` in `open` mode (no accounts asked for), or
    None after showing how to sign in (and nothing else)."""
    settings = get_settings()
    if not auth.required(settings):
        return ""
    user = auth.visitor(data.engine(), settings, st.context.cookies.get(auth.COOKIE))
    if user is not None:
        return user.username
    st.info(auth.SIGN_IN, icon=":material/lock:")
    st.link_button("Sign in", auth.sign_in_url(settings), icon=":material/login:", type="primary")
    return None


def _render(visitor: str) -> None:
    span = data.span()
    if span is None:
        st.warning(
            "There are no orders in `sales_data` yet. Run `chatdash init` to load sample orders, "
            "or `chatdash data load FILE` for your own.",
            icon=":material/inbox:",
        )
        return
    known = state.Known(data.categories(), data.products())
    st.caption(f"Orders from {span.start} to {span.end}." + (f" Signed in as {visitor}." if visitor else ""))
    for notice in filters.seed(span, known):
        st.warning(notice.shown, icon=":material/link_off:")
    view = filters.filter_bar(span, known)
    if view is None:
        st.info("Pick the end date of the range.", icon=":material/date_range:")
        return
    flt = view.sales_filter()
    filters.write_url(view, span)
    summary = sections.key_metrics(flt, span)
    sections.chart_tabs(view, flt, summary)
    table.raw_data(view, flt, span, st.get_option("server.baseUrlPath") or "")
