"""A trace as plain records: what the reply path hands the background writer and what readers get back.

Ids follow OpenTelemetry's sizes (a 32-hex-digit trace id, 16-hex-digit span ids), so an exported trace
keeps the id the app, the API and the CLI show. Times are UTC; ``input``/``output`` of a span are any
JSON-serialisable value (kept as JSON), of a trace the user's message and the reply's text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping
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
