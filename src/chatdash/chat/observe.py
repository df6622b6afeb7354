"""Each request's id, its log line and its metrics, in one pure ASGI middleware: ``RequestLog``.

The id: a well-formed ``X-Request-ID`` that came with the request (nginx sends its ``$request_id``, 32
hex digits) is kept, so the proxy's log line and ours share it; anything else (absent, too long, odd
characters that could forge log lines) is replaced by a new one. It goes back in the response's
``X-Request-ID`` and is bound (structlog's contextvars) while the request runs, so every log record written
meanwhile carries it: the app's warnings, and those of a reply the request started (a reply's task
inherits the request's context).

When the response is done, one record on the ``chatdash.requests`` logger: ``method``, ``path`` (the
route template, ``/chats/{chat_id}``; the raw path only when no route took the request), ``status``,
``duration_ms``, ``request_id``, ``client`` (the address uvicorn gives, a trusted proxy's
``X-Forwarded-For`` included) and ``user_id`` when the request was signed in (its session or the key the
route checked: ``note_user``). Health checks and scrapes are logged at DEBUG unless they fail. Then the
request's metrics (``chatdash.chat.metrics``), by route template.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatdash.chat import metrics

log = logging.getLogger("chatdash.requests")

HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
"""An id we take as given: 8 to 128 letters, digits and ``. _ : -`` (hex, UUIDs, ULIDs, trace ids)."""
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes, every few seconds from each prober: DEBUG lines unless they fail."""
MAX_PATH_CHARS = 200


def request_id_from(value: str | None) -> str:
    """``value`` when it is a well-formed id, else a new one (32 hex digits, as nginx makes them)."""
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_id_of(request: Request) -> str | None:
    """The id ``RequestLog`` gave the request (None outside it)."""
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def note_user(request: Request, user_id: int) -> None:
    """Name the signed-in user in the request's log line (routes that check an API key call it)."""
    request.state.user_id = user_id


class RequestLog:
    """Request ids, one log record and the metrics of every HTTP request (outermost of the app's own
    middleware, so its time covers theirs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(_header(scope, b"x-request-id"))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        echoed = (HEADER.lower().encode(), request_id.encode())
        status = 500  # until a response starts: an exception before it is answered 500 further out

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, state, request_id, status, time.perf_counter() - started)

    def _record(
        self, scope: Scope, state: dict[str, Any], request_id: str, status: int, seconds: float
    ) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) if route is not None else None
        method = scope["method"]
        metrics.observe_request(method, template or metrics.UNMATCHED, status, seconds)
        level = logging.DEBUG if scope["path"] in QUIET_PATHS and status < 400 else logging.INFO
        if not log.isEnabledFor(level):
            return
        client = scope.get("client")
        session = scope.get("session")
        user_id = state.get("user_id") or (session.get("user_id") if isinstance(session, dict) else None)
        fields = {
            "method": method,
            "path": template or scope["path"][:MAX_PATH_CHARS],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "request_id": request_id,
            "client": client[0] if client else None,
            "user_id": user_id,
        }
        log.log(level, "%s %s %d", method, fields["path"], status, extra=fields)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
