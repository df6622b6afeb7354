"""The script Streamlit runs for the Sales page (``streamlit run`` via ``server.py``, or AppTest).

Streamlit executes this file top to bottom on every interaction; the work is in ``page``.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import page

st.set_page_config(page_title="Sales · chatdash", page_icon=":material/bar_chart:", layout="wide")
page.render()
