"""What every page of the dashboard does around its content: turn chatdash errors into messages a
person can act on, and (for the admin pages) let only a signed-in admin in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from chatdash.config import get_settings
from chatdash.dashboard import auth, navigation
from chatdash.dashboard import data as sales_data
from chatdash.db.models import User
from chatdash.errors import ChatdashError, ConfigError, DatabaseUnavailable, NotInitialized, QueryError

INIT_HINT = "Run `chatdash init` to create the tables and load sample orders."


@contextmanager
def errors_shown() -> Iterator[None]:
    """A database that is down or not initialised, bad settings, a query that cannot run: a message
    saying what to do, never a traceback."""
    try:
        yield
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


def signed_in_admin(sign_in: str = auth.ADMIN_SIGN_IN, not_admin: str = auth.NOT_ADMIN) -> User | None:
    """The signed-in admin, or None after showing how to sign in (``sign_in``), or the refusal
    (``not_admin``, formatted with the ``username``): each admin page says what it shows."""
    settings = get_settings()
    user = auth.visitor(sales_data.engine(), settings, st.context.cookies.get(auth.COOKIE))
    if user is None:
        st.info(sign_in, icon=":material/lock:")
        st.link_button("Sign in", auth.sign_in_url(settings), icon=":material/login:", type="primary")
        return None
    if not user.is_admin:
        st.error(not_admin.format(username=user.username), icon=":material/block:")
        st.page_link(navigation.SALES_SCRIPT, label="Go to the Sales page", icon=":material/bar_chart:")
        return None
    return user
