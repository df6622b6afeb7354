"""Sessions, CSRF and sign-in limits for the pages.

The session is Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Lax, ``Secure`` when
``CHATDASH_SESSION_SECRET`` is set for production behind HTTPS is up to the proxy). It holds only the
user id and a CSRF token; every form carries the token and every POST checks it, so another site cannot
post in the user's name. Sign-in attempts are rate-limited per username and per client address.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from fastapi import Request

from chatdash.config import Settings
from chatdash.errors import AuthError

SIGNIN_LIMIT = "10/minute"


def session_secret(settings: Settings) -> str:
    """The configured secret, or (development) a random one kept under ``VAR_DIR``."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.var_dir) / "session_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


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
