"""The dashboard's pages, and who sees which in the navigation.

Sales is the default page (the dashboard's bare URL, so the chat's links to a sales view keep
working) and opens as it always did (``page``). AI quality (``/quality``) and Test bed (``/testbed``)
show in the navigation only for an admin's session of the chat (``auth.admin``); for anyone else they
are registered but hidden, so their URLs still reach the pages, which refuse them themselves. The
navigation is drawn only when more than one page is visible: a visitor who is not an admin sees the
Sales page as before.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from chatdash.config import get_settings
from chatdash.dashboard import auth, data
from chatdash.errors import ChatdashError

SALES_SCRIPT = Path(__file__).with_name("sales_app.py")
QUALITY_SCRIPT = Path(__file__).with_name("quality_app.py")
QUALITY_URL_PATH = "quality"
TESTBED_SCRIPT = Path(__file__).with_name("testbed_app.py")
TESTBED_URL_PATH = "testbed"


def pages(admin: bool) -> list[st.Page]:
    """Sales, then AI quality and Test bed (visible in the navigation for an admin only)."""
    return [
        st.Page(SALES_SCRIPT, title="Sales", icon=":material/bar_chart:", default=True),
        st.Page(
            QUALITY_SCRIPT,
            title="AI quality",
            icon=":material/monitoring:",
            url_path=QUALITY_URL_PATH,
            visibility="visible" if admin else "hidden",
        ),
        st.Page(
            TESTBED_SCRIPT,
            title="Test bed",
            icon=":material/science:",
            url_path=TESTBED_URL_PATH,
            visibility="visible" if admin else "hidden",
        ),
    ]


def visitor_is_admin() -> bool:
    """Whether the browser's chat session is an admin's. False when it cannot be told (no session, a
    database that does not answer): the page the visitor opens then says why."""
    try:
        cookie = st.context.cookies.get(auth.COOKIE)
        return auth.admin(data.engine(), get_settings(), cookie) is not None
    except ChatdashError:
        return False
