"""Sessions, CSRF and sign-in limits for the pages.

The session is Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Lax). It is marked ``Secure``
on requests that came over HTTPS (``SecureOverHttps``): behind nginx that is the ``X-Forwarded-Proto``
the proxy sets, which ``chatdash serve`` believes only from ``CHATDASH_TRUSTED_PROXIES``; over plain
HTTP, such as the embedded default at http://127.0.0.1:8000, it is not, or the browser would never send
it back.
The cookie holds only the user id, the account's session version and a CSRF token; every form carries
the token and every POST checks it, so another site cannot post in the user's name. Its name, age and
secret, and the check that it still signs someone in, are ``chatdash.chat.sessions``'s: the dashboard
reads the same cookie with them. Sign-in attempts are rate-limited per username and
per client address.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatdash.errors import AuthError

SIGNIN_LIMIT = "10/minute"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, submitted or ""):
        raise AuthError("the form expired or did not come from this site; reload the page and try again")


def user_id(request: Request) -> int | None:
    value = request.session.get("user_id")
    return value if isinstance(value, int) else None


class SecureOverHttps:
    """ASGI wrapper (outside Starlette's ``SessionMiddleware``) that adds ``Secure`` to the session
    cookie on HTTPS requests. ``SessionMiddleware`` decides that once per app; this decides per request,
    so one app serves both the proxy's HTTPS and a local plain-HTTP port."""

    def __init__(self, app: ASGIApp, cookie: str) -> None:
        self.app = app
        self.prefix = f"{cookie}=".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, self._secure(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure)

    def _secure(self, cookie: bytes) -> bytes:
        if cookie.startswith(self.prefix) and b"; secure" not in cookie.lower():
            return cookie + b"; secure"
        return cookie
