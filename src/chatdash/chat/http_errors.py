"""chatdash errors turned into HTTP responses, in one place: the only spot that knows status codes.

The status comes from the exception's *type* (``STATUS``), never from its text. Bodies are
``{"detail": "<what is wrong and what to do>"}`` like FastAPI's own, so clients handle one shape;
``extra`` lets a route add context (e.g. the stored message id of a failed reply). Anything that is not
a ``ChatdashError`` (a ``ValueError`` from a bug included) is a 500 whose details go to the log only.
The web pages answer the same statuses as HTML (``chatdash.chat.web.error_pages``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chatdash.errors import (
    AuthError,
    ChatdashError,
    Conflict,
    InvalidInput,
    ModelBusy,
    ModelError,
    ModelTimeout,
    NotFound,
    NotInitialized,
    PromptTooLong,
    RateLimited,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[ChatdashError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (AuthError, 401),
    (Conflict, 409),
    (RateLimited, 429),
    (ModelBusy, 503),
    (ModelTimeout, 504),
    (PromptTooLong, 422),
    (ModelError, 502),
    (Unavailable, 503),
    (NotInitialized, 503),
]
"""The first type an exception is an instance of gives its status; any other exception is a 500."""


def status_for(exc: BaseException) -> int:
    for kind, status in STATUS:
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


def error_headers(exc: BaseException) -> dict[str, str]:
    """What a client needs to act on the error: how to authenticate, when to come back."""
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers.update(rate_headers(exc))
    if isinstance(exc, ModelBusy | Unavailable):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return headers


def public_detail(exc: BaseException) -> str:
    """A chatdash error's own message; for a dependency that is down, which one (its address and what
    to check are for the log); never the text of anything else (it may hold internals)."""
    if isinstance(exc, Unavailable):
        check = f" (operators: check {exc.setting})" if exc.setting else ""
        return f"{exc.dependency} is unavailable right now; try again in a few seconds{check}"
    return str(exc) if isinstance(exc, ChatdashError) else "internal error"


def error_response(exc: BaseException, **extra: Any) -> JSONResponse:
    """The response for a chatdash error, or a plain 500 for anything else."""
    body = {"detail": public_detail(exc), **extra}
    return JSONResponse(body, status_code=status_for(exc), headers=error_headers(exc))


async def on_chatdash_error(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback (Starlette re-raises it to the server's log too)."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChatdashError, on_chatdash_error)
    app.add_exception_handler(Exception, on_unexpected_error)
