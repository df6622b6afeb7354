"""chatdash errors turned into HTTP responses, in one place: the only spot that knows status codes.

Bodies are ``{"detail": "<what is wrong and what to do>"}`` like FastAPI's own, so clients handle one
shape; ``extra`` lets a route add context (e.g. the stored message id of a failed reply).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chatdash.errors import (
    AuthError,
    ChatdashError,
    Conflict,
    DatabaseUnavailable,
    ModelBusy,
    ModelError,
    ModelTimeout,
    NotFound,
    NotInitialized,
    PromptTooLong,
    RateLimited,
)

_STATUS: list[tuple[type[ChatdashError], int]] = [
    (NotFound, 404),
    (AuthError, 401),
    (Conflict, 409),
    (RateLimited, 429),
    (ModelBusy, 503),
    (ModelTimeout, 504),
    (PromptTooLong, 422),
    (ModelError, 502),
    (DatabaseUnavailable, 503),
    (NotInitialized, 503),
]


def status_for(exc: BaseException) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def rate_headers(exc: RateLimited) -> dict[str, str]:
    return {
        "Retry-After": str(math.ceil(exc.retry_after)),
        "RateLimit-Limit": str(exc.limit),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(math.ceil(exc.reset_after)),
    }


def error_response(exc: BaseException, **extra: Any) -> JSONResponse:
    """The response for a chatdash error (or a ``ValueError`` a service raised for bad input: 422)."""
    status = 422 if isinstance(exc, ValueError) else status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers.update(rate_headers(exc))
    if isinstance(exc, ModelBusy):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    detail = str(exc) if status < 500 or isinstance(exc, ChatdashError) else "internal error"
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    async def on_chatdash_error(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)

    app.add_exception_handler(ChatdashError, on_chatdash_error)
    app.add_exception_handler(ValueError, on_chatdash_error)
