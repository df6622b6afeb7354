"""The Sales page: filters, key metrics, charts, raw data — and its error edge.

chatdash errors become messages that say what to do (run `chatdash init`, check
``CHATDASH_DATABASE_URL``), never a traceback. Anything else is a bug and Streamlit shows it.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import data, filters, sections, state, table
from chatdash.errors import ChatdashError, ConfigError, DatabaseUnavailable, NotInitialized, QueryError

INIT_HINT = "Run `chatdash init` to create the tables and load sample orders."


def render() -> None:
    st.title("Sales")
    try:
        _render()
    except NotInitialized as exc:
        st.error(f"The database has no chatdash tables yet. {INIT_HINT}", icon=":material/database:")
        st.caption(str(exc))
    except DatabaseUnavailable as exc:
        st.error(
            "The database does not answer. Check `CHATDASH_DATABASE_URL` and that the server is "
            f"running (for a new installation: `chatdash init`).\n\n{exc}",
            icon=":material/cloud_off:",
        )
    except ConfigError as exc:
        st.error(f"The settings are not valid: {exc}", icon=":material/settings:")
    except QueryError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except ChatdashError as exc:
        st.error(str(exc))


def _render() -> None:
    span = data.span()
    if span is None:
        st.warning(
            "There are no orders in `sales_data` yet. Run `chatdash init` to load sample orders, "
            "or `chatdash data load FILE` for your own.",
            icon=":material/inbox:",
        )
        return
    known = state.Known(data.categories(), data.products())
    st.caption(f"Orders from {span.start} to {span.end}.")
    for notice in filters.seed(span, known):
        st.warning(notice, icon=":material/link_off:")
    view = filters.filter_bar(span, known)
    if view is None:
        st.info("Pick the end date of the range.", icon=":material/date_range:")
        return
    flt = view.sales_filter()  # end before start: QueryError, shown by render(), no query
    filters.write_url(view, span)
    summary = sections.key_metrics(flt, span)
    sections.chart_tabs(view, flt, summary)
    table.raw_data(view, flt, span, st.get_option("server.baseUrlPath") or "")
