"""Refuse request bodies over ``CHATDASH_API_MAX_BODY_BYTES`` before anything reads them whole.

A pure ASGI middleware: a declared ``Content-Length`` over the bound is refused at once; a chunked body
is read here as it arrives, up to the bound, and refused as soon as it passes it. Either way the answer
is 413 with what to change. Document uploads (``upload_paths``) have their own, larger bound.
"""

from __future__ import annotations

import html

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatdash.chat.api.schemas import ErrorBody

PAGE_UPLOADS = frozenset({"/remembered/documents"})
PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Too large · chatdash</title>'
    '<link rel="stylesheet" href="/static/chat.css"><main><h1>Too large</h1><p class="error">{detail}</p>'
    '<p><a href="/remembered">Back to what the chat remembers</a></p></main></html>'
)
UPLOAD_OVERHEAD = 65_536
"""Room for a multipart upload's headers and form fields beside the file itself."""


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_paths: frozenset[str] = frozenset(),
        upload_max_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths
        self.upload_max_bytes = upload_max_bytes + UPLOAD_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in self.upload_paths
        bound = self.upload_max_bytes if upload else self.max_bytes
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > bound:
            await self._refuse(send, upload, page=scope["path"] in PAGE_UPLOADS)
            return
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            # No declared length: read the body here, up to the bound, so that an oversized one is a 413
            # (a limit hit while the app parses it would surface as its 400), then hand it on whole.
            body = await self._read_bounded(receive, bound)
            if body is None:
                await self._refuse(send, upload, page=scope["path"] in PAGE_UPLOADS)
                return
            await self.app(scope, _replaying(body, receive), send)
            return
        await self.app(scope, receive, send)

    async def _read_bounded(self, receive: Receive, bound: int) -> bytes | None:
        """The request body, or None as soon as it passes ``bound``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > bound:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send, upload: bool, page: bool = False) -> None:
        if upload:
            bound = self.upload_max_bytes - UPLOAD_OVERHEAD
            detail = (
                f"the document is over {bound} bytes (CHATDASH_DOCUMENT_MAX_BYTES): split it or shorten it"
            )
        else:
            detail = f"request body over {self.max_bytes} bytes (CHATDASH_API_MAX_BODY_BYTES)"
        if page:  # a person's browser: a page that says it, with the way back
            body = PAGE.format(detail=html.escape(detail)).encode()
            kind = b"text/html; charset=utf-8"
        else:
            body, kind = (
                ErrorBody(detail=detail).model_dump_json(exclude_none=True).encode(),
                b"application/json",
            )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
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
