"""The Test bed page: the quality test bed's runs, comparisons, manual scores and the production
feedback that becomes new test cases (``chatdash.evals``: its ``queries`` and ``manual`` modules).

For admins only (``chatdash.dashboard.auth.admin``), as the AI-quality page. From the bottom up:

- ``view``: the page's view (tab, open run, compared runs) <-> URL query parameters; pure.
- ``format``: scores, shares, variants and run labels as the page shows them; pure.
- ``data``: cached calls into ``chatdash.evals`` (``st.cache_data`` with the Sales page's TTL).
- ``charts``: Plotly figures (scores per scenario over time, a run's histogram, feedback per
  pipeline per day); pure.
- ``runs``, ``compare``, ``queue``, ``production``: the four tabs.
- ``page``: the sign-in / admin check, the tabs, the link and the error edge;
  ``chatdash/dashboard/testbed_app.py`` is the script ``st.navigation`` runs for it.

Importing this package does not import Streamlit.
"""
