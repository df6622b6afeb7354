"""The AI-quality page: how the chat's replies fare, from the traces (``chatdash.tracing.quality``).

For admins only (``chatdash.dashboard.auth.admin``): the traces hold every user's messages. Built
like the Sales page, from the bottom up:

- ``view``: the page's view (dates, prompt versions, models, pipelines, users, chart tab, page of
  traces, the trace drilled into) <-> URL query parameters; pure.
- ``format``: latencies, rates and scores as the page shows them; pure.
- ``data``: cached calls into the query module (``st.cache_data`` with the Sales page's TTL).
- ``charts``: Plotly figures (over time, per prompt version); pure.
- ``traces``: the table of traces, a page at a time, and the drill-down into one trace's spans.
- ``page``: the sign-in / admin check, the filter bar, the key metrics and the chart tabs, and the
  error edge; ``chatdash/dashboard/quality_app.py`` is the script ``st.navigation`` runs for it.

Importing this package does not import Streamlit.
"""
