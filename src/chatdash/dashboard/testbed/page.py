"""The Test bed page: admin check, the four tabs (Runs, Compare, Manual queue, Production), the link
— and its error edge.

Only an admin's session of the chat opens it, in either auth mode (``auth.admin``), as the AI-quality
page: runs hold every case's input and output, production traces every user's messages. The view
(the open tab, the open run, the two compared runs) is seeded from the URL when the widgets have no
state yet, and written back on every run, so the URL always holds it. chatdash errors become messages.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import data as sales_data
from chatdash.dashboard import guard
from chatdash.dashboard.state import Notice
from chatdash.dashboard.testbed import compare, data, production, queue, runs
from chatdash.dashboard.testbed import format as fmt
from chatdash.dashboard.testbed import view as tview
from chatdash.db.models import User

TITLE = "Test bed"
TAB = "t_tab"
KEPT = "t_view"
"""The view as of the last run (not a widget's state, so it outlives the closed tabs' widgets)."""
SIGN_IN = (
    "The Test bed page is for admins: sign in to the chat with an admin account (one account for both), "
    "then reload this page."
)
NOT_ADMIN = (
    "The Test bed page is for admins only: it shows every test case and every user's rated messages. "
    "You are signed in as {username}, which is not an admin account; an admin can make it one "
    "(`chatdash users promote {username}`)."
)


def render() -> None:
    st.title(TITLE)
    with guard.errors_shown():
        admin = guard.signed_in_admin(SIGN_IN, NOT_ADMIN)
        if admin is not None:
            _render(admin)


def _render(admin: User) -> None:
    listed = data.runs()
    scenarios = len({r.scenario for r in listed})
    top, refresh = st.columns([6, 1], vertical_alignment="center")
    top.caption(
        f"{fmt.plural(len(listed), 'run')} of {fmt.plural(scenarios, 'scenario')} · signed in as "
        f"{admin.username}. "
        "Runs come from `chatdash eval run`; every figure is the one `chatdash eval report` prints."
    )
    refresh.button(
        "Refresh",
        key="t_refresh",
        on_click=data.clear,
        icon=":material/refresh:",
        help=f"Figures are cached for up to {int(sales_data.TTL.total_seconds())} s; this reloads them now.",
    )
    for notice in seed():
        st.warning(notice.shown, icon=":material/link_off:")
    write_url(current())
    engine = sales_data.engine()
    tabs = st.tabs(list(tview.TABS.values()), key=TAB, on_change="rerun")
    for tab, name in zip(tabs, tview.TABS, strict=True):
        with tab:
            if not tab.open:
                continue
            if name == "runs":
                runs.tab(listed)
            elif name == "compare":
                compare.tab(listed)
            elif name == "queue":
                queue.tab(engine, admin.id)
            else:
                production.tab(engine, admin.id)


def seed() -> list[Notice]:
    """Give each widget without state its value: on arrival the URL's, later the view kept from the
    last run (a widget that a run does not draw, on a closed tab, loses its state); returns what was
    wrong in the URL."""
    notices: list[Notice] = []
    arriving = TAB not in st.session_state  # the tabs are drawn on every run of this page
    if arriving:
        params = {name: st.query_params.get_all(name) for name in st.query_params}
        kept, notices = tview.from_params(params)
    else:
        kept = st.session_state.get(KEPT, tview.TestbedView())
    values: dict[str, object] = {
        TAB: tview.TABS[kept.tab],
        runs.RUN: kept.run or runs.NONE,
        compare.A: kept.a,
        compare.B: kept.b,
    }
    for key, value in values.items():
        if arriving or key not in st.session_state:
            st.session_state[key] = value
    return notices


def current() -> tview.TestbedView:
    """The view the widgets hold now, kept for the runs that do not draw some of them."""
    tab = next(
        (name for name, text in tview.TABS.items() if text == st.session_state[TAB]), tview.DEFAULT_TAB
    )
    chosen = tview.TestbedView(
        tab, st.session_state[runs.RUN] or None, st.session_state[compare.A], st.session_state[compare.B]
    )
    st.session_state[KEPT] = chosen
    return chosen


def write_url(chosen: tview.TestbedView) -> None:
    """Make the URL say ``chosen``, touching only parameters that change."""
    wanted = tview.to_params(chosen)
    for name in tview.PARAMS:
        if name in wanted:
            if st.query_params.get_all(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]
