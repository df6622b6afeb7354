"""Traces in the database: written in batches (by ``TraceWriter``), read back by id or as a list, purged
by age.

Reads are scoped like every other read of a user's things: ``get_trace`` answers None both for an id
that does not exist and for another user's trace (unless the reader is an admin), so a caller answers
404 either way and ids reveal nothing. A database that cannot be reached is ``DatabaseUnavailable``
(``chatdash.db.engine.translate_errors``), tables not created yet ``NotInitialized``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.sql.schema import Table

from chatdash.db.engine import session_factory, translate_errors
from chatdash.db.models import Span, Trace
from chatdash.tracing.records import Source, SpanRecord, SpanStatus, TraceRecord, TraceStatus, jsonable

_TRACES = cast(Table, Trace.__table__)
_SPANS = cast(Table, Span.__table__)
_IDS_PER_QUERY = 500
"""Ids per ``IN (...)`` when a batch's ids are looked up (well under SQLite's bound on parameters)."""


def write_traces(engine: Engine, traces: Sequence[TraceRecord]) -> int:
    """Store ``traces`` and their spans in one transaction; returns how many were new. A trace whose id
    is already stored (a batch retried after its commit was lost, the same id twice in a batch) is
    skipped, not an error. Texts longer than their columns are cut to fit."""
    fresh: dict[str, TraceRecord] = {}
    for trace in traces:
        fresh.setdefault(trace.id, trace)
    if not fresh:
        return 0
    with translate_errors(engine), engine.begin() as conn:
        ids = list(fresh)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            for stored in conn.scalars(select(Trace.id).where(Trace.id.in_(chunk))):
                fresh.pop(stored, None)
        if not fresh:
            return 0
        conn.execute(insert(_TRACES), [_trace_row(trace) for trace in fresh.values()])
        spans = [
            _span_row(trace.id, n, span) for trace in fresh.values() for n, span in enumerate(trace.spans)
        ]
        if spans:
            conn.execute(insert(_SPANS), spans)
    return len(fresh)


def get_trace(
    engine: Engine, trace_id: str, *, user_id: int | None, admin: bool = False
) -> TraceRecord | None:
    """The trace with its spans (in run order), or None when there is no such trace *for this reader*:
    a trace of another user (or of no user, such as a test-bed run) is readable by admins only."""
    with translate_errors(engine), session_factory(engine)() as session:
        row = session.get(Trace, trace_id)
        if row is None or (not admin and row.user_id != user_id):
            return None
        spans = session.scalars(select(Span).where(Span.trace_id == trace_id).order_by(Span.position))
        return _trace(row, [_span(span) for span in spans])


def list_traces(
    engine: Engine,
    *,
    user_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    status: TraceStatus | None = None,
) -> list[TraceRecord]:
    """Traces newest first, without their spans (``get_trace`` reads those): all users' when
    ``user_id`` is None (callers that are not admins pass theirs). ``since`` is inclusive, ``until``
    exclusive, both on the start time."""
    query = select(Trace).order_by(Trace.started_at.desc(), Trace.id.desc()).limit(max(0, limit))
    if user_id is not None:
        query = query.where(Trace.user_id == user_id)
    if since is not None:
        query = query.where(Trace.started_at >= since)
    if until is not None:
        query = query.where(Trace.started_at < until)
    if status is not None:
        query = query.where(Trace.status == status)
    with translate_errors(engine), session_factory(engine)() as session:
        return [_trace(row, []) for row in session.scalars(query)]


def purge_traces(engine: Engine, older_than: dt.datetime) -> int:
    """Delete the traces (and their spans) that started before ``older_than``; returns how many."""
    old = select(Trace.id).where(Trace.started_at < older_than)
    with translate_errors(engine), engine.begin() as conn:
        conn.execute(delete(Span).where(Span.trace_id.in_(old)))
        return conn.execute(delete(Trace).where(Trace.started_at < older_than)).rowcount


# -- rows and records ------------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(jsonable(value), ensure_ascii=False)


def _unjson(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:  # written by hand or by another tool: show it as it is
        return text


def _clip(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with each string cut to its column's length (PostgreSQL refuses a longer one, and one
    overlong model name must not cost the batch)."""
    for name, value in row.items():
        length = getattr(table.c[name].type, "length", None)
        if length and isinstance(value, str) and len(value) > length:
            row[name] = value[:length]
    return row


def _trace_row(trace: TraceRecord) -> dict[str, Any]:
    row = {
        "id": trace.id,
        "user_id": trace.user_id,
        "chat_id": trace.chat_id,
        "message_id": trace.message_id,
        "source": trace.source,
        "pipeline": trace.pipeline,
        "input": trace.input,
        "output": trace.output,
        "status": trace.status,
        "error": trace.error,
        "started_at": trace.started_at,
        "ended_at": trace.ended_at,
        "latency_ms": trace.latency_ms,
        "ttft_ms": trace.ttft_ms,
        "model": trace.model,
        "prompt_name": trace.prompt_name,
        "prompt_version": trace.prompt_version,
        "prompt_tokens": trace.prompt_tokens,
        "completion_tokens": trace.completion_tokens,
        "figure_check": trace.figure_check,
    }
    return _clip(_TRACES, row)


def _span_row(trace_id: str, position: int, span: SpanRecord) -> dict[str, Any]:
    row = {
        "id": span.id,
        "trace_id": trace_id,
        "parent_id": span.parent_id,
        "position": position,
        "name": span.name,
        "kind": span.kind,
        "status": span.status,
        "error": span.error,
        "started_at": span.started_at,
        "latency_ms": span.latency_ms,
        "ttft_ms": span.ttft_ms,
        "model": span.model,
        "prompt_name": span.prompt_name,
        "prompt_version": span.prompt_version,
        "prompt_tokens": span.prompt_tokens,
        "completion_tokens": span.completion_tokens,
        "input": _json(span.input),
        "output": _json(span.output),
        "attributes": _json(span.attributes or {}),
    }
    return _clip(_SPANS, row)


def _trace(row: Trace, spans: list[SpanRecord]) -> TraceRecord:
    return TraceRecord(
        id=row.id,
        source=cast(Source, row.source),
        pipeline=row.pipeline,
        input=row.input,
        output=row.output,
        status=cast(TraceStatus, row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        latency_ms=row.latency_ms,
        user_id=row.user_id,
        chat_id=row.chat_id,
        message_id=row.message_id,
        error=row.error,
        ttft_ms=row.ttft_ms,
        model=row.model,
        prompt_name=row.prompt_name,
        prompt_version=row.prompt_version,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        figure_check=row.figure_check,
        spans=spans,
    )


def _span(row: Span) -> SpanRecord:
    attributes = _unjson(row.attributes)
    return SpanRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=cast(SpanStatus, row.status),
        started_at=row.started_at,
        latency_ms=row.latency_ms,
        parent_id=row.parent_id,
        error=row.error,
        ttft_ms=row.ttft_ms,
        model=row.model,
        prompt_name=row.prompt_name,
        prompt_version=row.prompt_version,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        input=_unjson(row.input),
        output=_unjson(row.output),
        attributes=attributes if isinstance(attributes, dict) else {"value": attributes},
    )
