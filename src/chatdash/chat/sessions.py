"""Signed web sessions: the cookie the chat's pages set, and who it signs in, for the pages and the dashboard.

One sign-in serves both. The pages write the session with Starlette's ``SessionMiddleware`` (an
itsdangerous-signed cookie, ``COOKIE``, valid ``MAX_AGE`` seconds, signed with ``session_secret``); the
browser sends that cookie to every port of the same host, and behind nginx the two share an origin. The
dashboard reads it back with ``read_session`` — the same middleware, the same secret, name and age, so
there is one cookie format and one parser — and both ask ``session_user`` whether the session still
holds: a sign-out anywhere (or `chatdash users sign-out`) raises the account's ``session_version`` and
ends every session signed in before it, and a deleted account ends its sessions with it.

Nothing here imports FastAPI; Starlette is imported only when a cookie is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from chatdash.chat import users
from chatdash.config import Settings
from chatdash.db.models import User

COOKIE = "chatdash_session"
MAX_AGE = 14 * 24 * 3600
"""Seconds a session cookie is valid after it was last written (Starlette's signed timestamp)."""
SECRET_FILE = "session_secret"


def session_secret(settings: Settings) -> str:
    """``CHATDASH_SESSION_SECRET``, or (development) a random key kept in ``<VAR_DIR>/session_secret``.

    Every process that reads sessions with the same ``VAR_DIR`` shares the file: `chatdash serve`, its
    replicas and `chatdash dashboard`. The first one to need it creates it, atomically (written to a
    private temporary file, then linked into place), so two processes starting together still agree.
    """
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.var_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{SECRET_FILE}.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # another process was first: use its key
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def read_session(cookie: str | None, secret: str) -> dict[str, Any]:
    """What a ``COOKIE`` value holds, read by Starlette's ``SessionMiddleware`` exactly as the pages
    read it; ``{}`` for no cookie, a forged or expired one, or one signed with another secret."""
    if not cookie:
        return {}
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.types import Message, Receive, Scope, Send

    try:
        header = f"{COOKIE}={cookie}".encode("latin-1")
    except UnicodeEncodeError:  # not a cookie any browser sends
        return {}
    found: dict[str, Any] = {}

    async def keep(scope: Scope, receive: Receive, send: Send) -> None:
        found.update(scope["session"])

    async def nothing() -> Message:  # the middleware reads no body
        return {"type": "http.disconnect"}

    async def ignore(message: Message) -> None:
        pass

    middleware = SessionMiddleware(keep, secret_key=secret, session_cookie=COOKIE, max_age=MAX_AGE)
    asyncio.run(middleware({"type": "http", "headers": [(b"cookie", header)]}, nothing, ignore))
    return found


def session_user(engine: Engine, session: Mapping[str, Any]) -> User | None:
    """The account a session signs in, or None: no user id, an account that is gone, or a session
    ended since (its ``version`` is not the account's ``session_version`` any more)."""
    user_id, version = session.get("user_id"), session.get("version")
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = users.get_user(engine, user_id)
    if user is None or user.session_version != version:
        return None
    return user


def cookie_user(engine: Engine, settings: Settings, cookie: str | None) -> User | None:
    """The account a ``COOKIE`` value signs in, if it still does (``read_session`` + ``session_user``)."""
    session = read_session(cookie, session_secret(settings))
    return session_user(engine, session) if session else None
