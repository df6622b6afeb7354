"""What `chatdash dashboard` hands to `streamlit run`: the Sales page plus the CSV export route.

``st.App`` is Streamlit's ASGI application: the page, its websocket and ``/_stcore/health`` as
usual, with our extra routes beside them. Streamlit puts its own routes under
``server.baseUrlPath`` (``--base-path``); the export route is put under it here, read from the
configuration `streamlit run` has loaded before it imports this module.
"""

from __future__ import annotations

from streamlit import config
from streamlit.starlette import App

from chatdash.dashboard import APP_PATH
from chatdash.dashboard.export import routes

app = App(APP_PATH, routes=routes(config.get_option("server.baseUrlPath")))
