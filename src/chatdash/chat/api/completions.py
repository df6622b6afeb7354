"""``POST /api/chat``: the published production API, behind a Bearer key and the per-key rate limit.

Without ``conversation_id`` a new chat is stored with the request's earlier messages as its history;
with one, the stored chat is the history and only the last (user) message is new. The reply is written
by the server (see ``chatdash.chat.generation``): a client that disconnects mid-stream does not stop it,
and ``POST /chats/{id}/messages/{mid}/stop`` does.

Streaming (``"stream": true``) is Server-Sent Events: ``start`` (ids), ``delta`` (``{"content": ...}``)
events, then ``done`` (status, usage) or ``error`` (``{"detail", "status"}``); comment pings every
``PING_SECONDS`` keep proxies from closing a slow reply, and ``X-Accel-Buffering: no`` stops nginx
from buffering it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from chatdash.chat.api.schemas import (
    ApiFeedbackCreate,
    ChatReply,
    ChatRequest,
    FeedbackPublic,
    ReplyText,
    StreamDelta,
    StreamError,
    StreamStart,
    Usage,
    component,
    event_stream,
)
from chatdash.chat.deps import KeyDep, ServiceDep, SettingsDep, UserIdDep, spend_rate_limit
from chatdash.chat.generation import Generation
from chatdash.chat.http_errors import error_response, responses, status_for
from chatdash.llm import Message

router = APIRouter(prefix="/api", tags=["api"])

PING_SECONDS = 15
FAIL_FAST_SECONDS = 0.5


@router.post(
    "/chat",
    response_model=ChatReply,
    responses={
        200: event_stream(
            'The reply; with `"stream": true`, Server-Sent Events: `start`, `delta`s, then `done` (the '
            "reply) or `error`",
            start=StreamStart.model_json_schema(),
            delta=StreamDelta.model_json_schema(),
            done=component(ChatReply),
            error=StreamError.model_json_schema(),
        ),
        **responses(401, 404, 409, 422, 429, 502, 503, 504, body=True),
    },
)
async def chat(
    body: ChatRequest, request: Request, key: KeyDep, service: ServiceDep, settings: SettingsDep
) -> Any:
    """Answer the last message; ``"stream": true`` answers as Server-Sent Events."""
    if len(body.messages) > settings.api_max_messages:
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("body", "messages"),
                    "msg": f"at most {settings.api_max_messages} messages per request "
                    f"(got {len(body.messages)}); send conversation_id to continue a stored chat",
                    "input": None,
                }
            ]
        )
    *before, newest = [m.content for m in body.messages]
    await anyio.to_thread.run_sync(service.check_send, newest, before)  # before the limit: a 422 is free
    headers = await spend_rate_limit(request, key)
    user_id = key.user_id
    *earlier, last = body.messages
    if body.conversation_id:  # the stored chat is the history: only the last message is new
        reply, gen = await service.send(user_id, body.conversation_id, last.content, source="api")
    else:
        earlier_messages = [Message(role=m.role, content=m.content) for m in earlier]
        reply, gen = await service.send(user_id, None, last.content, earlier=earlier_messages, source="api")
    chat_id = reply.chat_id

    if body.stream:
        # A refusal that comes at once (a full queue: 503, an unreachable server) gets its real status
        # code; after this short wait, errors arrive as an `error` event of a 200 stream.
        await gen.started(timeout=FAIL_FAST_SECONDS)
        if gen.error is not None:
            response = error_response(
                gen.error, conversation_id=chat_id, message_id=reply.id, trace_id=gen.trace_id
            )
            response.headers.update(headers)
            return response
        return EventSourceResponse(_events(chat_id, reply.id, gen), ping=PING_SECONDS, headers=headers)
    await gen.wait()
    if gen.error is not None:
        response = error_response(
            gen.error, conversation_id=chat_id, message_id=reply.id, trace_id=gen.trace_id
        )
        response.headers.update(headers)
        return response
    result = _reply(chat_id, reply.id, gen)
    return JSONResponse(result.model_dump(mode="json"), headers=headers)


def _reply(chat_id: str, message_id: int, gen: Generation) -> ChatReply:
    usage = Usage(prompt_tokens=None, completion_tokens=None)
    if gen.done is not None:
        usage = Usage(prompt_tokens=gen.done.prompt_tokens, completion_tokens=gen.done.completion_tokens)
    return ChatReply(
        conversation_id=chat_id,
        message_id=message_id,
        trace_id=gen.trace_id,
        message=ReplyText(role="assistant", content=gen.text),
        status=gen.status,
        usage=usage,
        sources=list(gen.done.sources) if gen.done is not None else [],
        answer=gen.done.answer if gen.done is not None else None,
    )


async def _events(chat_id: str, message_id: int, gen: Generation) -> AsyncIterator[ServerSentEvent]:
    """The reply this request started (so no ownership lookup on the way to the first token)."""
    start = {"conversation_id": chat_id, "message_id": message_id, "trace_id": gen.trace_id}
    yield ServerSentEvent(json.dumps(start), event="start")
    async for delta in gen.follow():
        yield ServerSentEvent(json.dumps({"content": delta}), event="delta")
    await gen.wait()  # ended and saved
    if gen.error is not None:
        detail = {"detail": str(gen.error), "status": status_for(gen.error), "trace_id": gen.trace_id}
        yield ServerSentEvent(json.dumps(detail), event="error")
    else:
        yield ServerSentEvent(_reply(chat_id, message_id, gen).model_dump_json(), event="done")


@router.post(
    "/feedback",
    response_model=FeedbackPublic,
    tags=["api"],
    responses=responses(401, 404, 409, 422, body=True),
)
def feedback(body: ApiFeedbackCreate, service: ServiceDep, user_id: UserIdDep) -> FeedbackPublic:
    """Rate a reply that `/api/chat` or `/v1/chat/completions` returned, by its `conversation_id` and
    `message_id`: `{"rating": 1|-1}`, `{"stars": 1..5}` or `{"scale": 0..1}`, with an optional comment
    (the score in [0, 1] is stored with it). One rating per user and reply: a second replaces the first.
    404 for a reply that is not the key's user's; 409 for the user's own message."""
    kind, value = body.feedback.kind_and_value()
    rated = service.feedback(
        user_id, body.conversation_id, body.message_id, value, body.feedback.comment, kind
    )
    return FeedbackPublic.model_validate(rated)
