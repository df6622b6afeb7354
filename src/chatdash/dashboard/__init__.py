"""The Streamlit dashboard, served by `chatdash dashboard`: the Sales page and, for admins, AI quality
and the Test bed.

Sales reads the data only through the query layer (`chatdash.sales`), so every figure on the page is
the one the chat and the test bed see; AI quality reads the traces only through
``chatdash.tracing.quality`` (its page lives in ``quality/``); the Test bed reads the test bed's runs
through ``chatdash.evals`` (``testbed/``). The Sales modules, from the bottom up:

- ``state``: the view (filters, chart tab, table order, page of rows) <-> URL query parameters; pure.
- ``formatting``: money and counts as the page shows them (exact Decimals, two places).
- ``auth``: who may see the page and the export (`password` mode: a signed-in user of the chat).
- ``paging``: any page of raw rows by its number, from the daily order counts; pure.
- ``data``: cached calls into the query layer (``st.cache_data`` with a short TTL).
- ``charts``: Plotly figures from query results; pure.
- ``export``: the CSV download, streamed from the database batch by batch (a Starlette route).
- ``filters``, ``sections``, ``table``: the page's parts; ``page`` puts them together, asks for a
  sign-in and turns chatdash errors into messages; ``sales_app`` and ``quality_app`` are the pages'
  scripts and ``app`` the navigation between them (``navigation``: who sees which), the script
  Streamlit runs.
- ``server``: what `streamlit run` serves: the page plus the export route.

Importing this package does not import Streamlit: the paths below are all the CLI needs.
"""

from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
"""The Streamlit script of the dashboard: the navigation between its pages, Sales and AI quality."""

FAVICON_PATH = Path(__file__).with_name("favicon.svg")
"""The tab's icon, shipped with the package: the page loads nothing from the internet."""
SERVER_PATH = Path(__file__).with_name("server.py")
"""The file `streamlit run` is given: an ``st.App`` serving ``APP_PATH`` plus the CSV export."""
