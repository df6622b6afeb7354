"""The script ``st.navigation`` runs for the Test bed page (``<dashboard URL>/testbed``).

Registered for everyone (hidden from the navigation of anyone but an admin), so that opening its URL
without being an admin shows the page's own refusal rather than Streamlit's "page not found".
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard.testbed import page

st.set_page_config(page_title="Test bed · chatdash")
page.render()
