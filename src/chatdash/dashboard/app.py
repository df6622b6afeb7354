"""The script Streamlit runs for the Sales page (``streamlit run`` via ``server.py``, or AppTest).

Streamlit executes this file top to bottom on every interaction; the work is in ``page``.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import FAVICON_PATH, page

# A local file (sent inline as a data: URL): a ":material/...:" icon would be fetched from a font host.
st.set_page_config(page_title="Sales · chatdash", page_icon=FAVICON_PATH, layout="wide")
page.render()
