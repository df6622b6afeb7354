"""Traces exported over OTLP/HTTP (protobuf) to any OpenTelemetry collector: Phoenix, Langfuse, Jaeger,
the OpenTelemetry Collector.

Each ``TraceRecord`` becomes OpenTelemetry spans with the trace's and the spans' own ids and times (the
id the app, ``GET /api/traces/{id}`` and ``chatdash traces show`` print is the one a collector shows).
They carry two vocabularies at once:

- the OpenTelemetry GenAI semantic conventions on ``llm`` spans (``gen_ai.operation.name`` "chat",
  ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.usage.input_tokens``, the request's
  parameters such as ``gen_ai.request.temperature``), read by generic backends;
- OpenInference's (``openinference.span.kind`` LLM / CHAIN / RETRIEVER / TOOL, ``input.value``,
  ``llm.token_count.prompt``, ``llm.invocation_parameters``, ``session.id``, ``user.id``), which Phoenix
  and other LLM-observability tools show as conversations, prompts and token counts.

Plus chatdash's own: ``chatdash.trace.source``, ``chatdash.prompt.name`` and ``.version``, the
figure check. The spans are built as the SDK's ``ReadableSpan`` and sent by the OpenTelemetry
exporter (``OTLPSpanExporter``): no tracer, no global provider, nothing else in the process changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

import chatdash
from chatdash.tracing.records import SpanRecord, TraceRecord, jsonable

log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
SERVICE = "chatdash"
_SCOPE = InstrumentationScope("chatdash.tracing", chatdash.__version__)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

SPAN_KINDS = {"llm": "LLM", "retrieve": "RETRIEVER", "sales_query": "TOOL"}
"""OpenInference's kind of each step type; any other step (the run itself, templates) is a CHAIN."""

REQUEST_PARAMS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "seed",
    "frequency_penalty",
    "presence_penalty",
)
"""Generation parameters copied to ``gen_ai.request.<name>`` when a span's attributes hold them."""


def traces_url(endpoint: str) -> str:
    """The traces URL of an OTLP/HTTP ``endpoint``: ``http://host:4318`` → ``http://host:4318/v1/traces``
    (an endpoint already ending so is kept)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


class OtlpExporter:
    """Sends traces to ``{endpoint}/v1/traces``; a collector that is down or refuses them is logged (the
    OpenTelemetry exporter retries within ``timeout`` seconds first), never raised."""

    def __init__(
        self, endpoint: str, *, timeout: float = 10.0, headers: Mapping[str, str] | None = None
    ) -> None:
        self.endpoint = traces_url(endpoint)
        self.resource = Resource.create(
            {
                "service.name": SERVICE,
                "service.version": chatdash.__version__,
                "openinference.project.name": SERVICE,  # Phoenix files the spans under this project
            }
        )
        self._exporter = OTLPSpanExporter(
            endpoint=self.endpoint, timeout=timeout, headers=dict(headers or {})
        )

    def export(self, traces: Sequence[TraceRecord]) -> None:
        spans: list[ReadableSpan] = []
        for trace in traces:
            try:
                spans.extend(otel_spans(trace, self.resource))
            except ValueError as exc:  # an id that is not hex: that trace stays in the database only
                log.warning("trace %s was not exported: %s", trace.id, exc)
        if not spans:
            return
        try:
            result = self._exporter.export(spans)
        except Exception:
            log.exception("exporting %d traces to %s failed", len(traces), self.endpoint)
            return
        if result is not SpanExportResult.SUCCESS:
            log.warning(
                "the OTLP collector at %s did not take %d traces (see the log above)",
                self.endpoint,
                len(traces),
            )

    def shutdown(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


def otel_spans(trace: TraceRecord, resource: Resource | None = None) -> list[ReadableSpan]:
    """The trace as OpenTelemetry spans: its own spans, or, for a trace recorded without any, one span
    for the whole run. The root span carries what the trace says of the run (its input, output, user,
    chat, source, status)."""
    trace_id = _hex_id(trace.id, 32)
    resource = resource or Resource.create({"service.name": SERVICE})
    records = trace.spans or [_run_span(trace)]
    root = next((span for span in records if span.parent_id is None), records[0])
    known = {span.id for span in records}
    shared = _drop_none(
        {
            "user.id": None if trace.user_id is None else str(trace.user_id),
            "session.id": trace.chat_id,
            "gen_ai.conversation.id": trace.chat_id,
            "chatdash.trace.source": trace.source,
        }
    )
    spans = []
    for record in records:
        is_root = record is root
        parent_id = record.parent_id if record.parent_id in known else (None if is_root else root.id)
        context = SpanContext(trace_id, _hex_id(record.id, 16), False, TraceFlags(TraceFlags.SAMPLED))
        parent = (
            None
            if parent_id is None
            else SpanContext(trace_id, _hex_id(parent_id, 16), False, TraceFlags(TraceFlags.SAMPLED))
        )
        attributes = shared | span_attributes(record) | (trace_attributes(trace) if is_root else {})
        start = _nanos(record.started_at)
        spans.append(
            ReadableSpan(
                name=record.name,
                context=context,
                parent=parent,
                resource=resource,
                attributes=attributes,
                kind=SpanKind.CLIENT if record.kind == "llm" else SpanKind.INTERNAL,
                status=_status(
                    trace.status if is_root else record.status, trace.error if is_root else record.error
                ),
                start_time=start,
                end_time=start + max(0, round(record.latency_ms * 1_000_000)),
                instrumentation_scope=_SCOPE,
            )
        )
    return spans


def trace_attributes(trace: TraceRecord) -> dict[str, Any]:
    """What the root span says of the whole run (besides its own step's attributes)."""
    return _drop_none(
        {
            "input.value": trace.input,
            "input.mime_type": "text/plain",
            "output.value": trace.output,
            "output.mime_type": "text/plain",
            "chatdash.trace.id": trace.id,
            "chatdash.trace.status": trace.status,
            "chatdash.pipeline": trace.pipeline,
            "gen_ai.workflow.name": trace.pipeline,
            "chatdash.message.id": trace.message_id,
            "chatdash.prompt.name": trace.prompt_name,
            "chatdash.prompt.version": trace.prompt_version,
            "chatdash.model": trace.model,
            "chatdash.usage.prompt_tokens": trace.prompt_tokens,
            "chatdash.usage.completion_tokens": trace.completion_tokens,
            "chatdash.ttft_ms": trace.ttft_ms,
            "chatdash.figure_check": trace.figure_check,
        }
    )


def span_attributes(span: SpanRecord) -> dict[str, Any]:
    """A span's attributes: its step's kind, input and output, its recorded attributes (as OpenInference
    ``metadata``), and for an ``llm`` step the GenAI and OpenInference LLM conventions."""
    extra = span.attributes or {}
    attributes: dict[str, Any] = {
        "openinference.span.kind": SPAN_KINDS.get(span.kind, "CHAIN"),
        "chatdash.span.kind": span.kind,
        "chatdash.span.status": span.status,
        **_value("input", span.input),
        **_value("output", span.output),
    }
    if extra:
        attributes["metadata"] = json.dumps(jsonable(extra), ensure_ascii=False, sort_keys=True)
    prompt_name = span.prompt_name or _str(extra.get("prompt"))
    prompt_version = span.prompt_version if span.prompt_version is not None else extra.get("prompt_version")
    attributes |= _drop_none(
        {
            "chatdash.prompt.name": prompt_name,
            "chatdash.prompt.version": prompt_version if isinstance(prompt_version, int) else None,
            "chatdash.ttft_ms": span.ttft_ms,
            "chatdash.figure_check": _str(extra.get("figure_check")),
        }
    )
    if span.kind == "llm":
        attributes |= llm_attributes(span, prompt_name, prompt_version)
    elif span.kind == "sales_query":
        attributes["tool.name"] = "sales_query"
    elif span.kind == "retrieve":
        attributes |= dict(_documents(span.output))
    return attributes


def llm_attributes(span: SpanRecord, prompt_name: str | None, prompt_version: Any) -> dict[str, Any]:
    """GenAI semantic conventions and OpenInference's LLM attributes of one model call."""
    extra = span.attributes or {}
    params = {**_mapping(extra.get("params")), **_mapping(extra.get("options"))}
    params |= {name: extra[name] for name in REQUEST_PARAMS if extra.get(name) is not None}
    params = {name: value for name, value in params.items() if _primitive(value)}
    provider = _str(extra.get("provider"))
    response_model = _str(extra.get("model")) or span.model
    request_model = _str(extra.get("request_model")) or span.model or response_model
    prompt_tokens = span.prompt_tokens if span.prompt_tokens is not None else extra.get("prompt_tokens")
    completion_tokens = (
        span.completion_tokens if span.completion_tokens is not None else extra.get("completion_tokens")
    )
    finish = _str(extra.get("finish_reason"))
    ttft_s = span.ttft_ms / 1000 if span.ttft_ms is not None else extra.get("first_token_s")
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": request_model,
        "gen_ai.response.model": response_model,
        "gen_ai.usage.input_tokens": prompt_tokens,
        "gen_ai.usage.output_tokens": completion_tokens,
        "gen_ai.response.finish_reasons": [finish] if finish else None,
        "gen_ai.response.time_to_first_chunk": ttft_s if isinstance(ttft_s, int | float) else None,
        "gen_ai.prompt.name": prompt_name,
        "llm.provider": provider,
        "llm.system": provider,
        "llm.model_name": response_model,
        "llm.request.model_name": request_model,
        "llm.response.model_name": response_model,
        "llm.token_count.prompt": prompt_tokens,
        "llm.token_count.completion": completion_tokens,
        "llm.finish_reason": finish,
        "llm.invocation_parameters": json.dumps(params, sort_keys=True) if params else None,
        "llm.prompt_template.version": None if prompt_version is None else str(prompt_version),
    }
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        attributes["llm.token_count.total"] = prompt_tokens + completion_tokens
    for name, value in params.items():
        attributes[f"gen_ai.request.{'stop_sequences' if name == 'stop' else name}"] = value
    attributes |= dict(_messages("llm.input_messages", span.input))
    if isinstance(span.output, str):
        attributes["llm.output_messages.0.message.role"] = "assistant"
        attributes["llm.output_messages.0.message.content"] = span.output
    return _drop_none(attributes)


# -- helpers ------------------------------------------------------------------------------------


def _run_span(trace: TraceRecord) -> SpanRecord:
    """One span standing for a run recorded without spans (its id taken from the trace's)."""
    return SpanRecord(
        id=trace.id[:16],
        name=trace.pipeline,
        kind="pipeline",
        status="error" if trace.status == "error" else "ok",
        started_at=trace.started_at,
        latency_ms=trace.latency_ms,
        error=trace.error,
    )


def _hex_id(value: str, digits: int) -> int:
    if len(value) != digits:
        raise ValueError(f"id {value!r} is not {digits} hex digits")
    number = int(value, 16)
    if number == 0:
        raise ValueError(f"id {value!r} is all zeros, which OpenTelemetry reads as no id")
    return number


def _nanos(moment: dt.datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def _status(status: str, error: str | None) -> Status:
    if status == "error":
        return Status(StatusCode.ERROR, error or "error")
    return (
        Status(StatusCode.OK)
        if status in ("ok", "pinned", "complete", "stopped")
        else Status(StatusCode.UNSET)
    )


def _value(prefix: str, value: Any) -> dict[str, Any]:
    """OpenInference's ``input.value`` / ``output.value``: text as it is, anything else as JSON."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {f"{prefix}.value": value, f"{prefix}.mime_type": "text/plain"}
    return {
        f"{prefix}.value": json.dumps(jsonable(value), ensure_ascii=False),
        f"{prefix}.mime_type": "application/json",
    }


def _messages(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """``llm.input_messages.<i>.message.role`` / ``.content`` of a list of chat messages."""
    if not isinstance(value, list):
        return
    for index, message in enumerate(value):
        if isinstance(message, Mapping) and "role" in message:
            yield f"{prefix}.{index}.message.role", str(message["role"])
            content = message.get("content")
            if content is not None:
                yield (
                    f"{prefix}.{index}.message.content",
                    content if isinstance(content, str) else str(content),
                )


def _documents(value: Any) -> Iterator[tuple[str, Any]]:
    """OpenInference's ``retrieval.documents.<i>.document.*`` of a retrieve step's output, when it is a
    list of passages (``text``/``content``, ``id``, ``score``)."""
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        prefix = f"retrieval.documents.{index}.document"
        content = item.get("text", item.get("content"))
        if content is not None:
            yield f"{prefix}.content", str(content)
        if item.get("id") is not None:
            yield f"{prefix}.id", str(item["id"])
        if isinstance(item.get("score"), int | float):
            yield f"{prefix}.score", float(item["score"])


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _primitive(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return bool(value) and all(isinstance(item, str) for item in value)
    return isinstance(value, str | bool | int | float)


def _drop_none(attributes: dict[str, Any]) -> dict[str, Any]:
    """OpenTelemetry attributes hold no None: a missing figure is left out."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in attributes.items()
        if value is not None
    }
