"""Who may see the dashboard and download its CSV: in `password` mode, a signed-in user of the chat.

There is one sign-in for both. The browser sends the chat's session cookie (``chatdash.chat.sessions``)
to the dashboard too: cookies belong to a host name, whatever the port, and behind nginx the two share
an origin. The dashboard reads that cookie with the chat's own code (the same middleware, secret and
``session_version`` check), so a sign-out in the chat, `chatdash users sign-out` or a deleted account
ends the dashboard session as well, at the page's next rerun. In `open` mode there are no passwords to
protect anything with, and the dashboard stays open as before. No Streamlit here: the page and the
export route both call ``visitor``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from chatdash.chat import sessions
from chatdash.config import Settings
from chatdash.db.engine import translate_errors
from chatdash.db.models import User

COOKIE = sessions.COOKIE
SIGN_IN = (
    "The sales dashboard is for signed-in users of the chat: sign in there (one account for both), "
    "then reload this page."
)


def required(settings: Settings) -> bool:
    return settings.auth == "password"


def visitor(engine: Engine, settings: Settings, cookie: str | None) -> User | None:
    """The chat account the session cookie signs in, if it still does; None without a valid session.
    (Its ``is_admin`` is there for admin-only pages.)

    A database that is down or not initialised raises ``DatabaseUnavailable`` / ``NotInitialized``,
    which the page and the export turn into their messages."""
    with translate_errors(engine):
        return sessions.cookie_user(engine, settings, cookie)


def sign_in_url(settings: Settings) -> str:
    """The chat's sign-in page (``CHATDASH_CHAT_URL``)."""
    return settings.chat_url
