"""Who may see the dashboard and download its CSV: in `password` mode, a signed-in user of the chat.

There is one sign-in for both. The browser sends the chat's session cookie (``chatdash.chat.sessions``)
to the dashboard too: cookies belong to a host name, whatever the port, and behind nginx the two share
an origin. The dashboard reads that cookie with the chat's own code (the same middleware, secret and
``session_version`` check), so a sign-out in the chat, `chatdash users sign-out` or a deleted account
ends the dashboard session as well, at the page's next rerun. In `open` mode there are no passwords to
protect anything with, and the dashboard stays open as before. No Streamlit here: the page and the
export route both call ``visitor``.

The AI-quality page is for admins only, in both modes (``admin``): it shows every user's messages.
So it always asks for the chat's session, even in `open` mode, where the Sales page does not; there an
admin is whoever signed in to the chat with an admin account's name, exactly as for the chat's own
admin pages (``/admin/prompts``) in that mode. Anyone else does not see the page in the navigation,
and gets a refusal if they open its URL.
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


ADMIN_SIGN_IN = (
    "The AI-quality page is for admins: sign in to the chat with an admin account (one account for "
    "both), then reload this page."
)
NOT_ADMIN = (
    "The AI-quality page is for admins only: it shows every user's messages. You are signed in as "
    "{username}, which is not an admin account; an admin can make it one "
    "(`chatdash users promote {username}`)."
)


def required(settings: Settings) -> bool:
    return settings.auth == "password"


def visitor(engine: Engine, settings: Settings, cookie: str | None) -> User | None:
    """The chat account the session cookie signs in, if it still does; None without a valid session.
    (Its ``is_admin`` is there for admin-only pages.)

    A database that is down or not initialised raises ``DatabaseUnavailable`` / ``NotInitialized``,
    which the page and the export turn into their messages."""
    if not cookie:  # nothing to read: no database query, and no session secret made for nothing
        return None
    with translate_errors(engine):
        return sessions.cookie_user(engine, settings, cookie)


def admin(engine: Engine, settings: Settings, cookie: str | None) -> User | None:
    """The signed-in account if it is an admin, in either auth mode (see the module's docstring);
    None for no valid session or an account that is not an admin. Errors as ``visitor``."""
    user = visitor(engine, settings, cookie)
    return user if user is not None and user.is_admin else None


def sign_in_url(settings: Settings) -> str:
    """The chat's sign-in page (``CHATDASH_CHAT_URL``)."""
    return settings.chat_url
