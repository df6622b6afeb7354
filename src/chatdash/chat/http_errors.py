"""chatdash errors turned into HTTP responses, in one place: the only spot that knows status codes.

The status comes from the exception's *type* (``STATUS``), never from its text. Every error body,
whoever refuses the request (a chatdash error, the validator, the router, the body limit), is an
``ErrorBody``: ``{"detail": "<what is wrong and what to do>"}``, plus ``errors`` (each field's problem)
for a request the validator refused, or the ids of a reply that failed after it was stored, so clients
handle one shape. Anything that is not a ``ChatdashError`` (a ``ValueError`` from a bug included) is a
500 whose details go to the log only. Routes declare the statuses they can answer with
``responses(...)``, so the OpenAPI document lists them all, with this body. The web pages answer the
same statuses as HTML (``chatdash.chat.web.error_pages``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from chatdash.chat.api.schemas import ErrorBody, FieldError
from chatdash.chat.observe import HEADER, request_id_of
from chatdash.errors import (
    AuthError,
    ChatdashError,
    Conflict,
    InvalidInput,
    ModelBusy,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
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
    (ModelUnavailable, 503),  # the LM server is down: a dependency, like the database
    (ModelError, 502),
    (Unavailable, 503),
    (NotInitialized, 503),
]
"""The first type an exception is an instance of gives its status; any other exception is a 500."""

DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be read as JSON text (it is not UTF-8)",
    401: "Missing, wrong or revoked API key (`WWW-Authenticate: Bearer`)",
    404: "No such chat or message for this key's user (another user's look exactly like missing ones)",
    409: "The message is in the wrong state: a reply being written (wait for it or stop it), or the "
    "user's own message where a reply is meant",
    413: "The request body is over `CHATDASH_API_MAX_BODY_BYTES`",
    422: "The request is invalid: `detail` says what to fix, `errors` lists each field's problem",
    429: "Over the key's rate limit: try again after `Retry-After` seconds",
    502: "The language model failed; the reply is stored with the error and can be retried",
    503: "A service chatdash needs (the database, Redis, the LM server, the model's queue) is unavailable: "
    "try again after `Retry-After` seconds",
    504: "The model produced no token within `CHATDASH_LLM_TIMEOUT` seconds",
}
"""What each status an API route answers with means for its caller (the OpenAPI document's words)."""

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def responses(*statuses: int, body: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route or router that can answer ``statuses`` (and, when it reads
    a JSON ``body``, 400 and 413): each with its meaning (``DESCRIPTIONS``) and the one error body."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]}
        | ({"headers": _HEADERS[status]} if status in _HEADERS else {})
        for status in sorted({*statuses, *((400, 413) if body else ())})
    }


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


def error_json(body: ErrorBody, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status, dict(headers or {}))


def error_response(
    exc: BaseException,
    *,
    conversation_id: str | None = None,
    message_id: int | None = None,
    trace_id: str | None = None,
) -> JSONResponse:
    """The response for a chatdash error, or a plain 500 for anything else; a reply that failed after
    it was stored is named by ``conversation_id``, ``message_id`` and its ``trace_id``."""
    body = ErrorBody(
        detail=public_detail(exc), conversation_id=conversation_id, message_id=message_id, trace_id=trace_id
    )
    return error_json(body, status_for(exc), error_headers(exc))


MAX_LISTED = 5
"""Field problems spelled out in a 422's ``detail`` (``errors`` has them all)."""


def invalid_request(errors: Sequence[Mapping[str, Any]]) -> ErrorBody:
    """The 422 body of a request the validator refused: ``detail`` names each field and its problem."""
    fields = [
        FieldError(loc=list(error.get("loc", ())), msg=_problem(error), type=str(error.get("type", "")))
        for error in errors
    ]
    said = [f"{_where(field.loc)}: {field.msg}" for field in fields[:MAX_LISTED]]
    if len(fields) > MAX_LISTED:
        said.append(f"and {len(fields) - MAX_LISTED} more (see errors)")
    return ErrorBody(detail="invalid request: " + "; ".join(said or ["it was refused"]), errors=fields)


def _where(loc: Sequence[str | int]) -> str:
    """``body.messages.0.content``; a body that is no JSON at all is just ``body``."""
    if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int):  # json_invalid: loc is the offset
        return "body"
    return ".".join(str(part) for part in loc) or "request"


def _problem(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error") or "unreadable"
        loc = error.get("loc", ())
        at = f" at character {loc[1]}" if len(loc) == 2 and isinstance(loc[1], int) else ""
        return f"not valid JSON ({reason}{at})"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


async def on_chatdash_error(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_json(invalid_request(exc.errors()), 422)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """The router's own refusals (no such path: 404, a method it does not take: 405), in our shape;
    a redirect stays a redirect."""
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_json(ErrorBody(detail=str(exc.detail)), exc.status_code, headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method a route takes at the request's path: Starlette's 405 names only those of the first
    route there (``Allow: GET`` for ``/chats``, which takes POST too). Asked of the routes themselves,
    one method at a time, so included routers answer too."""
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.routes
        )
    ]


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback (Starlette re-raises it to the server's log too). The answer names
    the request's id (``X-Request-ID``, and in ``detail``), which finds that log record.

    Starlette answers it outside the app's middleware, after ``RequestLog`` is done: so the id is added
    here, to the header and to the record."""
    request_id = request_id_of(request)
    extra = {"request_id": request_id} if request_id else None
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc, extra=extra)
    if request_id is None:
        return error_response(exc)
    body = ErrorBody(detail=f"internal error (request id {request_id})")
    return error_json(body, 500, {HEADER: request_id})


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChatdashError, on_chatdash_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
    document = app.openapi

    def openapi() -> dict[str, Any]:
        return one_validation_error(document())

    app.openapi = openapi  # type: ignore[method-assign]


def one_validation_error(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``document`` with our 422 wherever FastAPI put its own (``HTTPValidationError``, on
    every route with parameters that does not declare 422 itself): that is not what ``on_invalid_request``
    answers. Changes the (cached) document in place, once."""
    schemas = document.get("components", {}).get("schemas", {})
    if schemas.pop("HTTPValidationError", None) is None:
        return document
    schemas.pop("ValidationError", None)
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas.setdefault("ErrorBody", body)
    ours = {
        "description": DESCRIPTIONS[422],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            declared = operation.get("responses", {})
            if "HTTPValidationError" in str(declared.get("422", "")):
                declared["422"] = ours
    return document
