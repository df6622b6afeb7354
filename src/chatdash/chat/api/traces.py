"""``GET /api/traces/{trace_id}``: what one reply or API call did, step by step, for the key's user.

A reply names its trace (``trace_id``); the trace is written in the background, so it can answer 404
for a moment after the reply. Another user's trace answers 404 exactly like a missing one, unless the
key's user is an admin.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from chatdash.chat.deps import KeyDep, ServiceDep
from chatdash.chat.http_errors import responses
from chatdash.errors import NotFound
from chatdash.tracing import SpanRecord, TraceRecord, get_trace

router = APIRouter(prefix="/api", tags=["api"])

TraceId = Annotated[
    str,
    Path(
        min_length=32,
        max_length=32,
        pattern="^[0-9a-f]{32}$",
        description="A trace's id: 32 lower-case hex digits (a reply's `trace_id`)",
    ),
]

_RESPONSES = responses(401, 404, 503)
_RESPONSES[404] = _RESPONSES[404] | {
    "description": "No such trace for this key's user (another user's looks exactly like a missing one; "
    "a trace lands a moment after its reply)"
}


class SpanPublic(BaseModel):
    """One step of the run (or the run itself: the span without ``parent_id``)."""

    id: str = Field(description="16 hex digits, as exported over OTLP")
    parent_id: str | None = Field(description="The enclosing span; null for the run's root span")
    name: str = Field(description="The step's name in its pipeline")
    kind: str = Field(description="The step's type (`llm`, `retrieve`, `sales_query`, ...) or `pipeline`")
    status: Literal["ok", "skipped", "error", "pinned"] = Field(
        description="`skipped`: the step had nothing to do; `pinned`: its output was given, not computed"
    )
    error: str | None = None
    started_at: dt.datetime
    latency_ms: float
    ttft_ms: float | None = Field(None, description="Time to the model's first token (llm steps)")
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    input: Any = Field(None, description="What the step was given (any JSON value)")
    output: Any = Field(None, description="What the step produced (any JSON value)")
    attributes: dict[str, Any] = Field(description="What the step recorded about itself")


class TracePublic(BaseModel):
    """One run: a chat reply, an API call or a test-bed execution, with its steps in run order."""

    id: str = Field(description="32 hex digits, the OpenTelemetry trace id an OTLP collector shows too")
    source: Literal["web", "api", "v1", "eval", "cli"] = Field(description="Where the run came from")
    pipeline: str = Field(description="The pipeline that ran")
    chat_id: str | None = Field(None, description="The chat of the reply")
    message_id: int | None = Field(None, description="The reply's message id")
    input: str = Field(description="The user's message")
    output: str = Field(description="The reply's text")
    status: Literal["complete", "stopped", "error"]
    error: str | None = None
    started_at: dt.datetime
    ended_at: dt.datetime
    latency_ms: float
    ttft_ms: float | None = Field(None, description="Time to the reply's first token")
    model: str | None = Field(None, description="The model that wrote the reply")
    prompt_name: str | None = Field(None, description="The reply's prompt in the registry")
    prompt_version: int | None = Field(None, description="The version of that prompt that ran")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    figure_check: str | None = Field(
        None, description="`shown`, `empty`, or why the model's words were held back from a sales answer"
    )
    spans: list[SpanPublic]


@router.get("/traces/{trace_id}", response_model=TracePublic, responses=_RESPONSES)
def read_trace(trace_id: TraceId, key: KeyDep, service: ServiceDep) -> TracePublic:
    """One trace of the key's user (any user's for an admin), with its spans."""
    user = service.user(key.user_id)
    trace = get_trace(
        service.engine, trace_id, user_id=key.user_id, admin=bool(user is not None and user.is_admin)
    )
    if trace is None:
        raise NotFound(f"no trace {trace_id} for this key's user")
    return trace_public(trace)


def trace_public(trace: TraceRecord) -> TracePublic:
    fields = {name: getattr(trace, name) for name in TracePublic.model_fields if name != "spans"}
    return TracePublic(**fields, spans=[_span(span) for span in trace.spans])


def _span(span: SpanRecord) -> SpanPublic:
    return SpanPublic(**{name: getattr(span, name) for name in SpanPublic.model_fields})
