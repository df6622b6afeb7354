"""The script Streamlit runs (``streamlit run`` via ``server.py``, or AppTest): the dashboard's pages.

Streamlit executes this file top to bottom on every interaction. It sets what every page shares and
hands over to ``st.navigation``, which runs the page the URL names (the Sales page by default); which
pages there are and who sees them is ``navigation``'s business.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import FAVICON_PATH, navigation

# A local file (sent inline as a data: URL): a ":material/...:" icon would be fetched from a font host.
st.set_page_config(page_title="chatdash", page_icon=FAVICON_PATH, layout="wide")
st.navigation(navigation.pages(navigation.visitor_is_admin()), position="top").run()
