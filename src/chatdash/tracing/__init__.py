"""Traces: what each reply, API call and test-bed run did (its steps, prompt versions, models, tokens,
timings), kept in the database per user and, when configured, exported to an OpenTelemetry collector.

A trace is written off the reply's path: the reply hands its ``TraceRecord`` to the process's
``TraceWriter`` and goes on; one background thread stores traces in batches (and exports them over
OTLP with the GenAI semantic conventions), and purges those past ``CHATDASH_TRACE_RETENTION_DAYS``.
Readers see only their own traces unless they are admins.

Typical use::

    from chatdash.tracing import get_trace, list_traces, new_trace_id, writer_for

    writer = writer_for(engine, settings)          # None when CHATDASH_TRACING is off
    if writer is not None:
        writer.record(trace)                       # never blocks: a full buffer drops (and counts)
    ...
    writer.close()                                 # at shutdown: writes what is queued
    trace = get_trace(engine, trace_id, user_id=user.id, admin=user.is_admin)   # None: answer 404
    recent = list_traces(engine, user_id=user.id, limit=20)                     # newest first

The OTLP exporter (``chatdash.tracing.otlp``) loads the OpenTelemetry SDK only when an endpoint is set.
"""

from chatdash.tracing import quality
from chatdash.tracing.records import (
    Source,
    SpanRecord,
    SpanStatus,
    TraceRecord,
    TraceStatus,
    jsonable,
    new_span_id,
    new_trace_id,
    run_trace,
)
from chatdash.tracing.store import get_trace, list_traces, purge_traces, write_traces
from chatdash.tracing.writer import MemoryExporter, TraceExporter, TraceWriter, writer_for

__all__ = [
    "MemoryExporter",
    "Source",
    "SpanRecord",
    "SpanStatus",
    "TraceExporter",
    "TraceRecord",
    "TraceStatus",
    "TraceWriter",
    "get_trace",
    "jsonable",
    "list_traces",
    "new_span_id",
    "new_trace_id",
    "purge_traces",
    "quality",
    "run_trace",
    "write_traces",
    "writer_for",
]
