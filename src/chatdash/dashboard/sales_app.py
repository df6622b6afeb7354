"""The script ``st.navigation`` runs for the Sales page (the default page: the dashboard's bare URL)."""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import page

st.set_page_config(page_title="Sales · chatdash")
page.render()
