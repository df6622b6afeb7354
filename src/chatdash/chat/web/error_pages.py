"""Errors on the pages as HTML: a page with the message and a way back, or for htmx a note in ``#flash``.

``chatdash.chat.http_errors`` answers JSON for the whole app; ``install`` puts these handlers in front of
it. They answer only requests for pages and hand the rest (``/api``, ``/chats``, health, docs) back to the
JSON handlers, so one app serves both shapes. The status codes are the API's (404 for another user's
chat, 409, 422 for bad input, 429 ...), and a person never sees a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from chatdash.chat import http_errors
from chatdash.chat.observe import HEADER, request_id_of
from chatdash.chat.web import pages, session
from chatdash.errors import ChatdashError

NOT_PAGES = (
    "/api",
    "/v1",
    "/chats",
    "/search",
    "/memory",
    "/documents",
    "/healthz",
    "/readyz",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static",
)
"""Where a path no route matched (a 404, a 405) is the API's: its answer is JSON."""


def is_page(request: Request) -> bool:
    """A request a route of the pages matched (they are left out of the OpenAPI document); for one no
    route matched, any path outside ``NOT_PAGES``."""
    route = request.scope.get("route")
    if route is not None and hasattr(route, "include_in_schema"):
        return not route.include_in_schema
    path = request.url.path
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in NOT_PAGES)


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    answer_headers = dict(headers or {})
    if pages.is_htmx(request):  # a note above the chat; the page and what was typed stay
        answer_headers |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return pages.templates.TemplateResponse(
            request, "_flash.html", {"message": message}, status_code=status, headers=answer_headers
        )
    signed_in = session.user_id(request) is not None
    return pages.page(
        request,
        "error.html",
        status,
        answer_headers,
        heading=HTTPStatus(status).phrase,
        message=message,
        back_url="/c" if signed_in else "/",
        back_label="Back to your chats" if signed_in else "Sign in",
    )


async def on_error(request: Request, exc: Exception) -> Response:
    """A chatdash error, with the API's status for its type."""
    if not is_page(request):
        return http_errors.error_response(exc)
    headers = http_errors.error_headers(exc)
    headers.pop("WWW-Authenticate", None)  # a page signs in with its form, not with a Bearer challenge
    return error_page(request, http_errors.status_for(exc), http_errors.public_detail(exc), headers)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: logged, and a page that says so without the details, naming the request's id (the log's)."""
    response = await http_errors.on_unexpected_error(request, exc)
    if not is_page(request):
        return response
    request_id = request_id_of(request)
    noted = f" (request id {request_id})" if request_id else ""
    message = f"Something went wrong on our side; it has been logged{noted}. Try again."
    return error_page(request, 500, message, {HEADER: request_id} if request_id else None)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Unknown pages (404), wrong methods, and the HX sign-in redirect; redirects stay redirects."""
    assert isinstance(exc, HTTPException)
    if not is_page(request) or exc.status_code < 400:
        return await http_errors.on_http_error(request, exc)
    message = "This page does not exist." if exc.status_code == 404 else str(exc.detail)
    return error_page(request, exc.status_code, message, exc.headers)


async def on_invalid_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not is_page(request):
        return await http_errors.on_invalid_request(request, exc)
    fields = sorted({str(error["loc"][-1]) for error in exc.errors() if error.get("loc")})
    return error_page(request, 422, f"The form was incomplete or invalid ({', '.join(fields)}); try again.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChatdashError, on_error)
    app.add_exception_handler(Exception, on_unexpected_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_form)
