"""Shared dependencies of the API routes and the web pages: the service, the settings, the caller
behind a Bearer key, and the per-key rate limit.

They are ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a hop per dependency per
request. The ones that touch the database or Redis make one hop of their own for all of it.
"""

from __future__ import annotations

import hmac
import urllib.parse
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chatdash.chat import users
from chatdash.chat.observe import note_user
from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.repository import USER_HEADER
from chatdash.chat.service import ChatService
from chatdash.config import Settings
from chatdash.db.models import ApiKey
from chatdash.errors import AuthError

_bearer = HTTPBearer(auto_error=False, description="An API key from `chatdash keys create NAME`")


async def get_service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


MAX_ID = 2**31 - 1
"""Ids are 32-bit integers in the database (PostgreSQL's ``integer``): a larger one is a 422, not a 500."""
MessageId = Annotated[int, Path(ge=1, le=MAX_ID, description="A message id")]

ServiceDep = Annotated[ChatService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def current_user_id(
    request: Request,
    service: ServiceDep,
    credentials: Credentials,
    acting_for: Annotated[
        str | None,
        Header(
            alias=USER_HEADER,
            description="The user the ui acts for (percent-encoded name); only with CHATDASH_DB_API_KEY",
        ),
    ] = None,
) -> int:
    """The user a data-API request acts for: the owner of its API key, or, when the Bearer is the
    service key (``CHATDASH_DB_API_KEY``, the split deployment's ui), the user named in
    ``X-Chatdash-User`` (created here, without a password, the first time a ui names them)."""
    token = credentials.credentials if credentials else ""
    settings: Settings = request.app.state.settings
    service_key = settings.db_api_key.get_secret_value() if settings.db_api_key else ""
    if service_key and hmac.compare_digest(token.encode(), service_key.encode()):
        if not acting_for:
            raise AuthError(f"the service key acts for a user: send {USER_HEADER}: <username>")
        user_id = users.ensure_user(service.engine, urllib.parse.unquote(acting_for))
    elif acting_for is not None:
        raise AuthError(f"{USER_HEADER} may only be sent with the service key (CHATDASH_DB_API_KEY)")
    else:
        user_id = service.verify_key(token).user_id
    note_user(request, user_id)
    return user_id


UserIdDep = Annotated[int, Depends(current_user_id)]


async def api_key(request: Request, service: ServiceDep, credentials: Credentials) -> ApiKey:
    """The request's live key (401 when missing, wrong or revoked). It spends none of the key's rate
    limit: a limited route calls ``spend_rate_limit`` once the request is known to be valid."""
    token = credentials.credentials if credentials else ""
    key = await anyio.to_thread.run_sync(service.verify_key, token)
    note_user(request, key.user_id)
    return key


KeyDep = Annotated[ApiKey, Depends(api_key)]


async def spend_rate_limit(request: Request, key: ApiKey) -> dict[str, str]:
    """Spend one request of the key's budget (``RateLimited``, 429, when over); the RateLimit headers
    that say what is left, for the route's response.

    The one place the per-key API limit is applied. Routes call it after validation, not through a
    dependency: FastAPI runs dependencies before it validates the body, so a request refused with 422
    (by the schema, or by the route's own checks before this call) would use up the budget, and the
    corrected request sent right after would get 429.
    """
    limiter: RateLimiter = request.app.state.limiter
    remaining, reset_after = await anyio.to_thread.run_sync(limiter.hit, "api-key", str(key.id))
    return {
        "RateLimit-Limit": str(limiter.limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(round(reset_after)),
    }
