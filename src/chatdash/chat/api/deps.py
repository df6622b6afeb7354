"""Shared dependencies: the service, the caller behind a Bearer key, and the per-key rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.service import ChatService
from chatdash.config import Settings
from chatdash.db.models import ApiKey

_bearer = HTTPBearer(auto_error=False, description="An API key from `chatdash keys create NAME`")


def get_service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[ChatService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_key(
    service: ServiceDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """The live API key of the request; ``AuthError`` (401) when missing, wrong or revoked."""
    return service.verify_key(credentials.credentials if credentials else "")


KeyDep = Annotated[ApiKey, Depends(current_key)]


def current_user_id(key: KeyDep) -> int:
    return key.user_id


UserIdDep = Annotated[int, Depends(current_user_id)]


def rate_limited(request: Request, response: Response, key: KeyDep) -> ApiKey:
    """Spend one request of the key's budget (429 when over), and say what is left in RateLimit headers."""
    limiter: RateLimiter = request.app.state.limiter
    remaining, reset_after = limiter.hit("api-key", str(key.id))
    headers = {
        "RateLimit-Limit": str(limiter.limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(round(reset_after)),
    }
    response.headers.update(headers)
    request.state.rate_headers = headers  # for routes that return a Response of their own
    return key


LimitedKeyDep = Annotated[ApiKey, Depends(rate_limited)]
