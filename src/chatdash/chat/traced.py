"""A reply's trace, built from what its generation saw: who asked, the run's step spans, how it ended.

Built once the reply has ended (off the path to its first token) and handed to the background writer
(``chatdash.tracing.TraceWriter``), which never makes a reply wait. The root span stands for the whole
run; the steps' spans hang under it. The trace copies up what the AI-quality page aggregates: the
model, prompt version and tokens of the reply's last ``llm`` step and the outcome of its figure check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from chatdash.tracing import Source, SpanRecord, TraceRecord, TraceStatus, new_span_id

STATUSES: tuple[TraceStatus, ...] = ("complete", "stopped", "error")


def reply_trace(
    *,
    trace_id: str,
    source: Source,
    pipeline: str,
    user_id: int,
    chat_id: str,
    message_id: int,
    message: str,
    output: str,
    status: str,
    error: str | None,
    started_at: dt.datetime,
    latency_ms: float,
    ttft_ms: float | None,
    spans: Sequence[SpanRecord],
) -> TraceRecord:
    """The trace of one reply; ``ttft_ms`` is the time to the reply's first text as its reader saw it."""
    root = SpanRecord(
        id=new_span_id(),
        name=pipeline,
        kind="pipeline",
        status="ok" if status == "complete" else "error" if status == "error" else "skipped",
        started_at=started_at,
        latency_ms=latency_ms,
        error=error,
        ttft_ms=ttft_ms,
        input=message,
        output=output,
        attributes={"status": status},
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
        input=message,
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
