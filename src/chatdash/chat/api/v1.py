"""OpenAI-compatible ``/v1``: ``POST /v1/chat/completions`` (streamed or not) and ``GET /v1/models``, so an
OpenAI client or chat UI can use chatdash as its model.

The same API keys, rate limit and grounded pipeline as ``/api/chat`` (memory, documents, the exact
sales answer): this is another shape of that route, not another chat. OpenAI clients send the whole
conversation each time, so each call is stored as a new chat of the key's user, with the earlier turns
as its history. System messages are left out (chatdash's pipeline writes the prompt); ``model`` is
accepted whatever it names, and sampling options (``temperature``, ``max_tokens``...) are the
pipeline's. The stream follows OpenAI's: ``chat.completion.chunk`` objects, an ``{"error": ...}``
object if the reply fails mid-way, then ``data: [DONE]``. Error bodies are chatdash's one shape plus
OpenAI's ``error`` object (``OpenAIErrors``), which is where OpenAI clients look for the message.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from chatdash.chat.deps import KeyDep, ServiceDep, SettingsDep, UserIdDep, spend_rate_limit
from chatdash.chat.generation import Generation
from chatdash.chat.http_errors import error_response, public_detail, responses, status_for
from chatdash.errors import InvalidInput
from chatdash.llm import Message

router = APIRouter(prefix="/v1", tags=["openai"])

MODEL_ID = "chatdash"
FAIL_FAST_SECONDS = 0.5
"""How long a streamed request waits for its first token before answering 200 (as ``/api/chat``)."""


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class V1Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True)

    include_usage: bool = False


class CompletionRequest(BaseModel):
    """OpenAI's request; options chatdash does not honour are accepted and left alone. Strict, as the
    schema says: ``"stream": 0`` is not a boolean."""

    model_config = ConfigDict(extra="ignore", strict=True)

    model: str = Field(max_length=200)
    messages: list[V1Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="One choice per request")

    @field_validator("messages")
    @classmethod
    def _ends_with_the_user(cls, messages: list[V1Message]) -> list[V1Message]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's (the one to answer)")
        if not messages[-1].text().strip():
            raise ValueError("the last message is empty: write the question to answer")
        return messages


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: CompletionMessage
    finish_reason: Literal["stop"]


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Grounding(BaseModel):
    """chatdash's own fields: where the reply is stored and what it is grounded in."""

    conversation_id: str
    message_id: int
    trace_id: str | None = Field(
        description="The reply's trace (`GET /api/traces/{trace_id}`); rate it with "
        "`POST /api/feedback` by its conversation_id and message_id"
    )
    sources: list[str]
    answer: dict[str, Any] | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    chatdash: Grounding


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


@router.get("/models", response_model=ModelList, responses=responses(401, 503))
def models(user_id: UserIdDep) -> ModelList:
    """The one model: chatdash's grounded chat."""
    return ModelList(data=[Model(id=MODEL_ID, created=0, owned_by="chatdash")])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": 'The reply; with `"stream": true`, Server-Sent Events of `chat.completion.chunk`'
            " objects, then `data: [DONE]`",
            # OpenAPI 3.1 reads an event stream's schema as one event's: unnamed, its data a JSON chunk
            # (or error) object, or the closing `[DONE]`
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"event": {"const": "message"}, "data": {"type": "string"}},
                    }
                }
            },
        },
        **responses(401, 404, 409, 422, 429, 502, 503, 504, body=True),
    },
)
async def chat_completions(
    body: CompletionRequest, request: Request, key: KeyDep, service: ServiceDep, settings: SettingsDep
) -> Any:
    """Answer the last user message through chatdash's grounded pipeline, in OpenAI's shape."""
    turns = [
        Message(role="user" if m.role == "user" else "assistant", content=m.text())
        for m in body.messages
        if m.role in ("user", "assistant")
    ]
    if len(turns) > settings.api_max_messages:
        raise InvalidInput(f"at most {settings.api_max_messages} messages per request (got {len(turns)})")
    *earlier, last = turns
    before = [m.content for m in earlier]
    await anyio.to_thread.run_sync(
        service.check_send, last.content, before
    )  # before the limit: a 422 is free
    headers = await spend_rate_limit(request, key)
    reply, gen = await service.send(key.user_id, None, last.content, earlier=earlier, source="v1")
    completion_id = f"chatcmpl-{reply.id}"
    if body.stream:
        await gen.started(timeout=FAIL_FAST_SECONDS)
        if gen.error is not None:
            return _failed(gen, reply.chat_id, reply.id, headers)
        usage = body.stream_options is not None and body.stream_options.include_usage
        chunks = _chunks(completion_id, gen, usage)
        headers = {**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)
    await gen.wait()
    if gen.error is not None:
        return _failed(gen, reply.chat_id, reply.id, headers)
    completion = ChatCompletion(
        id=completion_id,
        created=int(time.time()),
        model=MODEL_ID,
        choices=[Choice(message=CompletionMessage(content=gen.text), finish_reason="stop")],
        usage=_usage(gen),
        chatdash=Grounding(
            conversation_id=reply.chat_id,
            message_id=reply.id,
            trace_id=gen.trace_id,
            sources=list(gen.done.sources) if gen.done else [],
            answer=gen.done.answer if gen.done else None,
        ),
    )
    return JSONResponse(completion.model_dump(mode="json"), headers=headers)


def _failed(gen: Generation, chat_id: str, message_id: int, headers: dict[str, str]) -> JSONResponse:
    assert gen.error is not None
    response = error_response(
        gen.error, conversation_id=chat_id, message_id=message_id, trace_id=gen.trace_id
    )
    response.headers.update(headers)
    return response


def _usage(gen: Generation) -> CompletionUsage:
    prompt, completion = (gen.done.prompt_tokens, gen.done.completion_tokens) if gen.done else (0, 0)
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


async def _chunks(completion_id: str, gen: Generation, with_usage: bool) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID}
        return f"data: {json.dumps({**body, 'choices': [choice], **extra})}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for delta in gen.follow():
        yield chunk({"content": delta})
    await gen.wait()  # ended and saved
    if gen.error is not None:
        error = {"message": public_detail(gen.error), "type": "server_error", "code": status_for(gen.error)}
        yield f"data: {json.dumps({'error': error})}\n\n"
    else:
        yield chunk({}, "stop", chatdash={"trace_id": gen.trace_id})
        if with_usage:
            usage = _usage(gen).model_dump()
            body = {"id": completion_id, "object": "chat.completion.chunk", "created": created}
            yield f"data: {json.dumps({**body, 'model': MODEL_ID, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


class OpenAIErrors:
    """Adds ``{"error": {"message", "type", "code"}}`` to the JSON error bodies of ``/v1`` (the ``detail``
    stays): OpenAI clients and chat UIs show ``error.message``, and without it only a status code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(router.prefix + "/"):
            await self.app(scope, receive, send)
            return
        start: AsgiMessage | None = None
        chunks: list[bytes] = []

        async def rewrite(message: AsgiMessage) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = _with_error(b"".join(chunks), start["status"])
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def _with_error(body: bytes, status: int) -> bytes:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if not isinstance(parsed, dict) or "detail" not in parsed:
        return body
    kind = "invalid_request_error" if status < 500 else "server_error"
    parsed["error"] = {"message": str(parsed["detail"]), "type": kind, "code": status}
    return json.dumps(parsed).encode()
