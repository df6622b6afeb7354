"""A trace as plain records: what the reply path hands the background writer and what readers get back.

Ids follow OpenTelemetry's sizes (a 32-hex-digit trace id, 16-hex-digit span ids), so an exported trace
keeps the id the app, the API and the CLI show. Times are UTC; ``input``/``output`` of a span are any
JSON-serialisable value (kept as JSON), of a trace the user's message and the reply's text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TraceStatus = Literal["complete", "stopped", "error"]
SpanStatus = Literal["ok", "skipped", "error", "pinned"]
Source = Literal["web", "api", "v1", "eval", "cli"]


TEXT_LIMIT = 8000
"""The longest string a span keeps of an input or output (a long prompt is cut, marked with "…")."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values: what a span keeps of a step's input and output (any object: a
    sales answer, a completion, messages), shown by the API and the CLI and exported as attributes."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "…"
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return jsonable(as_dict())
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return jsonable(model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


@dataclass(slots=True)
class SpanRecord:
    """One step of a run (``kind`` its step type, or ``pipeline`` for the root span of the run)."""

    id: str
    name: str
    kind: str
    status: SpanStatus
    started_at: dt.datetime
    latency_ms: float
    parent_id: str | None = None
    error: str | None = None
    ttft_ms: float | None = None
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    input: Any = None
    output: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The span as plain JSON values."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(slots=True)
class TraceRecord:
    """One run: a chat reply, an API call or a test-bed execution, with its spans in run order (the
    root span first). ``ttft_ms`` is the time to the reply's first text as its reader saw it; the
    model and prompt version of its last ``llm`` step and the tokens of all of them are copied up, so
    the AI-quality page aggregates traces without reading spans."""

    id: str
    source: Source
    pipeline: str
    input: str
    output: str
    status: TraceStatus
    started_at: dt.datetime
    ended_at: dt.datetime
    latency_ms: float
    user_id: int | None = None
    chat_id: str | None = None
    message_id: int | None = None
    error: str | None = None
    ttft_ms: float | None = None
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    figure_check: str | None = None
    spans: list[SpanRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The trace and its spans as plain JSON values."""
        fields = (f.name for f in dataclasses.fields(self) if f.name != "spans")
        return {name: jsonable(getattr(self, name)) for name in fields} | {
            "spans": [span.as_dict() for span in self.spans]
        }


STATUSES: tuple[TraceStatus, ...] = ("complete", "stopped", "error")


def run_trace(
    *,
    trace_id: str,
    source: Source,
    pipeline: str,
    input: str,
    output: str,
    status: str,
    error: str | None,
    started_at: dt.datetime,
    latency_ms: float,
    ttft_ms: float | None,
    spans: Sequence[SpanRecord],
    user_id: int | None = None,
    chat_id: str | None = None,
    message_id: int | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> TraceRecord:
    """The trace of one run (a reply, a test-bed execution): a root span for the whole run with the
    steps' spans under it; what the AI-quality page aggregates is copied up from the steps: the last
    ``llm`` step's model, the last prompt used, the tokens of every ``llm`` step, the figure check.
    ``ttft_ms`` is the time to the run's first text as its reader saw it."""
    root = SpanRecord(
        id=new_span_id(),
        name=pipeline,
        kind="pipeline",
        status="ok" if status == "complete" else "error" if status == "error" else "skipped",
        started_at=started_at,
        latency_ms=latency_ms,
        error=error,
        ttft_ms=ttft_ms,
        input=input,
        output=output,
        attributes={"status": status, **(attributes or {})},
    )
    steps = list(spans)
    for span in steps:
        span.parent_id = root.id
    llm = next((s for s in reversed(steps) if s.kind == "llm" and s.model is not None), None)
    prompted = next((s for s in reversed(steps) if s.prompt_name is not None), None)
    check = next((s.attributes["figure_check"] for s in steps if "figure_check" in s.attributes), None)
    return TraceRecord(
        id=trace_id,
        source=source,
        pipeline=pipeline,
        input=input,
        output=output,
        status=status if status in STATUSES else "error",
        started_at=started_at,
        ended_at=started_at + dt.timedelta(milliseconds=latency_ms),
        latency_ms=latency_ms,
        user_id=user_id,
        chat_id=chat_id,
        message_id=message_id,
        error=error,
        ttft_ms=ttft_ms,
        model=llm.model if llm else None,
        prompt_name=prompted.prompt_name if prompted else None,
        prompt_version=prompted.prompt_version if prompted else None,
        prompt_tokens=sum(s.prompt_tokens or 0 for s in steps if s.kind == "llm") if llm else None,
        completion_tokens=sum(s.completion_tokens or 0 for s in steps if s.kind == "llm") if llm else None,
        figure_check=str(check) if check is not None else None,
        spans=[root, *steps],
    )
