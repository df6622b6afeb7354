"""Trace records and their OpenTelemetry form, without a database or a network: ids, the JSON shape,
and the spans the OTLP exporter sends (ids and times kept, GenAI and OpenInference attributes, a
protobuf the collector can read). ``sample_trace`` is the trace the integration tests store too."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import uuid

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from chatdash.tracing import SpanRecord, TraceRecord, new_span_id, new_trace_id
from chatdash.tracing.otlp import OtlpExporter, otel_spans, traces_url

QUESTION = "What was revenue in 2023?"
REPLY = "Revenue in 2023 was $1,234.50."


def sample_trace(
    user_id: int | None = None,
    *,
    started: dt.datetime | None = None,
    status: str = "complete",
    source: str = "api",
) -> TraceRecord:
    """A chat reply's trace as the reply path records it: a root span for the run, a retrieve step and
    an llm step under it."""
    started = started or dt.datetime.now(dt.UTC)
    ms = dt.timedelta(milliseconds=1)
    root, retrieve, llm = new_span_id(), new_span_id(), new_span_id()
    spans = [
        SpanRecord(root, "chat", "pipeline", "ok", started, 850.0, input={"message": QUESTION}, output=REPLY),
        SpanRecord(
            retrieve,
            "retrieve",
            "retrieve",
            "ok",
            started + 5 * ms,
            40.0,
            parent_id=root,
            output=[{"id": "doc-1", "text": "Sales are in sales_data.", "score": 0.82}],
            attributes={"memories": 0, "documents": 1},
        ),
        SpanRecord(
            llm,
            "llm",
            "llm",
            "ok",
            started + 50 * ms,
            780.0,
            parent_id=root,
            ttft_ms=120.0,
            model="smollm2-135m-instruct",
            prompt_name="chat-system",
            prompt_version=3,
            prompt_tokens=42,
            completion_tokens=17,
            input=[{"role": "system", "content": "You are chatdash."}, {"role": "user", "content": QUESTION}],
            output=REPLY,
            attributes={
                "provider": "scripted",
                "model": "smollm2-135m-instruct",
                "temperature": 0.2,
                "max_tokens": 256,
                "finish_reason": "stop",
                "at": started,  # not JSON: stored as its text
            },
        ),
    ]
    return TraceRecord(
        id=new_trace_id(),
        source=source,  # type: ignore[arg-type]
        pipeline="chat",
        input=QUESTION,
        output=REPLY,
        status=status,  # type: ignore[arg-type]
        started_at=started,
        ended_at=started + 850 * ms,
        latency_ms=850.0,
        user_id=user_id,
        chat_id=uuid.uuid4().hex,
        message_id=7,
        ttft_ms=120.0,
        model="smollm2-135m-instruct",
        prompt_name="chat-system",
        prompt_version=3,
        prompt_tokens=42,
        completion_tokens=17,
        figure_check="shown",
        spans=spans,
    )


def test_ids_have_opentelemetry_sizes() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", new_trace_id())
    assert re.fullmatch(r"[0-9a-f]{16}", new_span_id())
    assert len({new_trace_id() for _ in range(1000)}) == 1000


def test_a_trace_is_plain_json() -> None:
    trace = sample_trace(5)
    shown = json.loads(json.dumps(trace.as_dict(), default=str))
    assert shown["id"] == trace.id and shown["user_id"] == 5
    assert shown["started_at"] == trace.started_at.isoformat()
    assert [span["name"] for span in shown["spans"]] == ["chat", "retrieve", "llm"]


def test_spans_keep_the_traces_ids_times_and_tree() -> None:
    trace = sample_trace(5)
    spans = otel_spans(trace)
    assert [span.name for span in spans] == ["chat", "retrieve", "llm"]
    for span, record in zip(spans, trace.spans, strict=True):
        assert span.context is not None
        assert format_trace_id(span.context.trace_id) == trace.id
        assert format_span_id(span.context.span_id) == record.id
        assert span.start_time == int(record.started_at.timestamp() * 1_000_000) * 1000
        assert span.end_time == span.start_time + round(record.latency_ms * 1_000_000)
    root, retrieve, llm = spans
    assert root.parent is None
    assert retrieve.parent is not None and format_span_id(retrieve.parent.span_id) == trace.spans[0].id
    assert llm.kind is SpanKind.CLIENT and root.kind is SpanKind.INTERNAL
    assert root.status.status_code is StatusCode.OK
    for span in spans:
        assert span.attributes is not None and None not in span.attributes.values()


def test_the_root_span_says_what_the_run_was() -> None:
    trace = sample_trace(5)
    root = otel_spans(trace)[0].attributes
    assert root is not None
    assert root["openinference.span.kind"] == "CHAIN"
    assert root["user.id"] == "5" and root["session.id"] == trace.chat_id
    assert root["input.value"] == QUESTION and root["output.value"] == REPLY
    assert root["chatdash.trace.source"] == "api"
    assert root["chatdash.prompt.name"] == "chat-system" and root["chatdash.prompt.version"] == 3
    assert root["chatdash.figure_check"] == "shown"


def test_an_llm_span_follows_the_genai_and_openinference_conventions() -> None:
    llm = otel_spans(sample_trace(5))[2].attributes
    assert llm is not None
    assert llm["gen_ai.operation.name"] == "chat"
    assert llm["gen_ai.provider.name"] == llm["gen_ai.system"] == "scripted"
    assert llm["gen_ai.request.model"] == llm["gen_ai.response.model"] == "smollm2-135m-instruct"
    assert llm["gen_ai.usage.input_tokens"] == 42 and llm["gen_ai.usage.output_tokens"] == 17
    assert llm["gen_ai.request.temperature"] == 0.2 and llm["gen_ai.request.max_tokens"] == 256
    assert llm["gen_ai.response.finish_reasons"] == ["stop"]
    assert llm["openinference.span.kind"] == "LLM"
    assert llm["llm.model_name"] == "smollm2-135m-instruct"
    assert (
        llm["llm.token_count.prompt"],
        llm["llm.token_count.completion"],
        llm["llm.token_count.total"],
    ) == (
        42,
        17,
        59,
    )
    assert json.loads(str(llm["llm.invocation_parameters"])) == {"max_tokens": 256, "temperature": 0.2}
    assert llm["llm.input_messages.1.message.role"] == "user"
    assert llm["llm.input_messages.1.message.content"] == QUESTION
    assert llm["llm.output_messages.0.message.content"] == REPLY
    assert llm["chatdash.prompt.version"] == 3 and llm["llm.prompt_template.version"] == "3"
    assert llm["user.id"] == "5"  # on every span, as OpenInference's context does
    assert json.loads(str(llm["metadata"]))["finish_reason"] == "stop"


def test_a_retrieve_span_lists_its_documents() -> None:
    retrieve = otel_spans(sample_trace())[1].attributes
    assert retrieve is not None
    assert retrieve["openinference.span.kind"] == "RETRIEVER"
    assert retrieve["retrieval.documents.0.document.id"] == "doc-1"
    assert retrieve["retrieval.documents.0.document.score"] == 0.82
    assert "user.id" not in retrieve  # a run of no user


def test_an_error_and_a_trace_without_spans() -> None:
    trace = sample_trace(status="error")
    trace.error, trace.spans = "ModelTimeout: no token within 60 s", []
    (only,) = otel_spans(trace)
    assert only.context is not None and format_span_id(only.context.span_id) == trace.id[:16]
    assert only.status.status_code is StatusCode.ERROR
    assert only.status.description == "ModelTimeout: no token within 60 s"


def test_spans_encode_as_the_otlp_protobuf() -> None:
    traces = [sample_trace(5), sample_trace()]
    request = encode_spans([span for trace in traces for span in otel_spans(trace)])
    (resource,) = request.resource_spans
    sent = [span for scope in resource.scope_spans for span in scope.spans]
    assert len(sent) == 6
    assert {span.trace_id.hex() for span in sent} == {trace.id for trace in traces}
    assert request.SerializeToString()


def test_traces_url() -> None:
    assert traces_url("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert traces_url("http://127.0.0.1:6006/") == "http://127.0.0.1:6006/v1/traces"
    assert traces_url("https://collector/v1/traces") == "https://collector/v1/traces"


def test_a_collector_that_is_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exporter = OtlpExporter(f"http://127.0.0.1:{port}", timeout=0.5)
    bad = sample_trace()
    bad.id = "not-hex"
    with caplog.at_level(logging.WARNING, logger="chatdash.tracing.otlp"):
        exporter.export([bad, sample_trace()])
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "trace not-hex was not exported" in said
    assert f"127.0.0.1:{port}/v1/traces did not take" in said
    exporter.shutdown()
