"""Refuse request bodies over ``CHATDASH_API_MAX_BODY_BYTES`` before anything reads them whole.

A pure ASGI middleware: a declared ``Content-Length`` over the bound is refused at once; a chunked body
is read here as it arrives, up to the bound, and refused as soon as it passes it. Either way the answer
is 413 with what to change.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatdash.chat.api.schemas import ErrorBody


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            # No declared length: read the body here, up to the bound, so that an oversized one is a 413
            # (a limit hit while the app parses it would surface as its 400), then hand it on whole.
            body = await self._read_bounded(receive)
            if body is None:
                await self._refuse(send)
                return
            await self.app(scope, _replaying(body, receive), send)
            return
        await self.app(scope, receive, send)

    async def _read_bounded(self, receive: Receive) -> bytes | None:
        """The request body, or None as soon as it passes ``max_bytes``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send) -> None:
        detail = f"request body over {self.max_bytes} bytes (CHATDASH_API_MAX_BODY_BYTES)"
        body = ErrorBody(detail=detail).model_dump_json(exclude_none=True).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` first, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
