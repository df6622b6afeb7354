"""Pipelines: steps declared in a TOML file, run in order, streamed as typed events.

A pipeline file (the built-in ones live in ``chatdash/pipeline/pipelines/``)::

    name = "chat"
    description = "..."
    inputs = ["product"]     # optional: run inputs (a test-bed scenario's fields), read as input.NAME

    [[steps]]
    type = "retrieve"        # a registered step type
    memories = 10            # its options, checked when the file is loaded

    [[steps]]
    type = "llm"
    name = "draft"           # optional; defaults to the type, must be unique

    [[steps]]
    type = "llm"
    name = "review"
    system = "Shorten this: {{ draft }}"
    inputs = { draft = "draft" }   # read the output of the step named draft (or input.NAME)

Every step's output is kept under its name; a step reads the inputs it declares (``Step.reads``: by
default from the nearest earlier step of the right type) and, where it renders a prompt, any other
named input. Everything about a file is checked by ``load_pipeline``, a name that does not exist
included, so a wrong option fails at start-up with the file and the step in the message, not in the
middle of a user's reply. The chat, the API and the test bed run the same files through the same
``Pipeline.run``, so what the test bed measures is what users get.
"""

from __future__ import annotations

import datetime as dt
import time
import tomllib
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chatdash.errors import ChatdashError, PipelineError
from chatdash.llm import Completion
from chatdash.pipeline.context import Retrieved, RunContext, SalesResult, StepRun
from chatdash.pipeline.events import Delta, Done, Event, Sources
from chatdash.pipeline.registry import Step, step_class, step_types
from chatdash.tracing import SpanRecord, SpanStatus, new_span_id

_TOP_LEVEL = {"name", "description", "inputs", "steps"}
INPUT = "input."
"""A source naming a run input (``input.message`` is the user's message) rather than a step."""


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """A whole run at once (``Pipeline.complete``)."""

    text: str
    completion: Completion | None
    sources: Sources
    spans: list[SpanRecord]
    outputs: dict[str, Any]
    """Every step's output by step name."""


class Pipeline:
    """An ordered list of configured steps. Build one with ``load_pipeline`` or ``Pipeline.from_dict``."""

    def __init__(
        self,
        name: str,
        steps: list[Step],
        *,
        description: str = "",
        source: str = "",
        inputs: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.steps = steps
        self.description = description
        self.source = source
        self.inputs = inputs

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<pipeline>") -> Pipeline:
        """A pipeline from parsed TOML; ``PipelineError`` names ``source`` and the step at fault."""
        unknown = sorted(set(data) - _TOP_LEVEL)
        if unknown:
            raise PipelineError(
                f"{source}: unknown top-level key(s) {', '.join(unknown)}; allowed: name, description, steps"
            )
        tables = data.get("steps")
        if not isinstance(tables, list) or not tables:
            raise PipelineError(f"{source}: no steps; declare them as [[steps]] tables with a type")
        declared = data.get("inputs", [])
        if not isinstance(declared, list) or not all(
            isinstance(n, str) and n.isidentifier() for n in declared
        ):
            raise PipelineError(f'{source}: inputs must be a list of names, e.g. inputs = ["product"]')
        steps: list[Step] = []
        for number, table in enumerate(tables, start=1):
            step, wiring = _build_step(source, number, table)
            if any(s.name == step.name for s in steps):
                raise PipelineError(
                    f"{source}: step {number}: the name {step.name!r} is used twice; give one a name"
                )
            step.sources = _wire(f"{source}: step {number} ({step.name})", step, wiring, steps, declared)
            steps.append(step)
        return cls(
            str(data.get("name", Path(source).stem)),
            steps,
            description=str(data.get("description", "")),
            source=source,
            inputs=tuple(declared),
        )

    @classmethod
    def from_file(cls, path: Path) -> Pipeline:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PipelineError(f"{path}: cannot be read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise PipelineError(f"{path}: not valid TOML ({exc})") from None
        return cls.from_dict(data, source=str(path))

    def prompt_frame(self) -> tuple[str, int | None]:
        """The system template's source and the reply's ``max_tokens`` as the file sets them: what a
        caller needs to tell, before a run, whether a message can fit in the model's context."""
        system = next((str(s.options.system) for s in self.steps if hasattr(s.options, "system")), "")
        budgets = (getattr(s.options, "max_tokens", None) for s in self.steps if s.streams)
        return system, next((b for b in budgets if isinstance(b, int)), None)

    async def run(
        self, ctx: RunContext, *, trace: list[SpanRecord] | None = None
    ) -> AsyncGenerator[Event, None]:
        """Run the steps: ``Sources`` (before the reply's first text), ``Delta``\\ s, then ``Done``.

        Stopping early (``aclose``, or leaving an ``async for``) stops the running step, the model
        included. Errors of steps with ``on_error = "fail"`` propagate as they are (``ModelBusy``,
        ``PromptTooLong`` ...), for the caller to record against the message. ``trace``, when given,
        receives each step's span as it finishes, so a failed or stopped run still has its spans.
        Steps named in ``ctx.pinned`` do not run: their given value is their output.
        """
        self._check_run(ctx)
        outputs: dict[str, Any] = {}
        spans: list[SpanRecord] = [] if trace is None else trace
        sent_sources = False
        for step in self.steps:
            if step.streams and not sent_sources:
                sent_sources = True
                yield _sources(outputs)
            run = StepRun(_inputs_of(step, ctx, outputs))
            started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
            first: float | None = None
            status: SpanStatus = "ok"
            error: str | None = None
            try:
                if step.name in ctx.pinned:
                    status = "pinned"
                    run.output, text = step.pinned(ctx.pinned[step.name])
                    if text:
                        yield Delta(text, step.name)
                elif step.streams:
                    parts: list[str] = []
                    async with aclosing(step.stream(ctx, run)) as deltas:
                        async for text in deltas:
                            if first is None:
                                first = time.perf_counter()
                            parts.append(text)
                            yield Delta(text, step.name)
                    if run.output is None and run.skipped is None:
                        run.output = "".join(parts)
                else:
                    await step.apply(ctx, run)
                if run.skipped is not None:
                    status = "skipped"
            except Exception as exc:
                status, error = "error", f"{type(exc).__name__}: {exc}"
                skip = isinstance(exc, ChatdashError) and step.options.on_error == "skip"
                if not skip or step.streams:
                    raise
            finally:
                outputs[step.name] = run.output
                spans.append(_span(step, run, started, clock, first, status, error))
        if not sent_sources:
            yield _sources(outputs)
        completions = [o for o in outputs.values() if isinstance(o, Completion)]
        yield Done(completions[-1] if completions else None, spans, outputs)

    def _check_run(self, ctx: RunContext) -> None:
        names = [step.name for step in self.steps]
        unknown = sorted(set(ctx.pinned) - set(names))
        if unknown:
            raise PipelineError(
                f"{self.source}: cannot pin {', '.join(unknown)}: no such step (steps: {', '.join(names)})"
            )
        missing = [name for name in self.inputs if name not in ctx.inputs]
        if missing:
            raise PipelineError(f"{self.source}: this run lacks the input(s) {', '.join(missing)}")

    async def complete(self, ctx: RunContext) -> PipelineResult:
        """Run to the end and return everything at once (no streaming)."""
        sources = Sources()
        parts: list[str] = []
        done: Done | None = None
        async with aclosing(self.run(ctx)) as events:
            async for event in events:
                if isinstance(event, Sources):
                    sources = event
                elif isinstance(event, Delta):
                    parts.append(event.text)
                else:
                    done = event
        assert done is not None
        return PipelineResult("".join(parts), done.completion, sources, done.spans, done.outputs)


def _inputs_of(step: Step, ctx: RunContext, outputs: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, source in step.sources.items():
        if source == INPUT + "message":
            values[name] = ctx.message
        elif source.startswith(INPUT):
            values[name] = ctx.inputs[source.removeprefix(INPUT)]
        else:
            values[name] = outputs.get(source)
    return values


_LIFTED = ("model", "prompt", "prompt_version", "prompt_tokens", "completion_tokens", "first_token_s")


def _span(
    step: Step,
    run: StepRun,
    started: dt.datetime,
    clock: float,
    first: float | None,
    status: SpanStatus,
    error: str | None,
) -> SpanRecord:
    """The step's span: the model, prompt and token figures it recorded become the span's own fields;
    time to first token is the model's own (queue included) when it reports one, else the first text."""
    attributes = dict(run.span)
    lifted = {key: attributes.pop(key) for key in _LIFTED if key in attributes}
    model_first = lifted.get("first_token_s")
    ttft = model_first * 1000 if model_first is not None else None
    if ttft is None and first is not None:
        ttft = (first - clock) * 1000
    return SpanRecord(
        id=new_span_id(),
        name=step.name,
        kind=step.id,
        status=status,
        started_at=started,
        latency_ms=(time.perf_counter() - clock) * 1000,
        error=error,
        ttft_ms=ttft,
        model=lifted.get("model"),
        prompt_name=lifted.get("prompt"),
        prompt_version=lifted.get("prompt_version"),
        prompt_tokens=lifted.get("prompt_tokens"),
        completion_tokens=lifted.get("completion_tokens"),
        input=run.inputs,
        output=run.output,
        attributes=attributes,
    )


def _sources(outputs: Mapping[str, Any]) -> Sources:
    """What the reply rests on so far: the sales answer and the retrieved passages of earlier steps."""
    sales = None
    memories: list[Any] = []
    documents: list[Any] = []
    for output in outputs.values():
        if isinstance(output, SalesResult) and output.sales is not None:
            sales = output.sales
        elif isinstance(output, Retrieved):
            memories += output.memories
            documents += output.documents
    return Sources(sales=sales, memories=memories, documents=documents)


def _wire(
    where: str, step: Step, given: Mapping[str, Any], earlier: list[Step], declared: list[str]
) -> dict[str, str]:
    """Where each of the step's inputs comes from: the file's ``inputs``, checked; then, for a step that
    renders a prompt, the run's declared inputs by their names; then by default the nearest earlier
    step of the type the step reads each of its ``reads`` from."""
    sources: dict[str, str] = {}
    names = [s.name for s in earlier]
    for name, source in given.items():
        if not isinstance(source, str):
            raise PipelineError(f"{where}: input {name!r} must name a step or input.NAME")
        if name not in step.reads and not step.free_inputs:
            reads = ", ".join(step.reads) or "none"
            raise PipelineError(f"{where}: a {step.id} step has no input {name!r} (it reads: {reads})")
        if source.startswith(INPUT):
            if source.removeprefix(INPUT) not in (*declared, "message"):
                raise PipelineError(
                    f"{where}: input {name!r} reads {source!r}, which the pipeline does not declare: add "
                    f"it to the top-level inputs (declared: {', '.join(declared) or 'none'};"
                    " input.message is built in)"
                )
        elif source not in names:
            raise PipelineError(
                f"{where}: input {name!r} reads {source!r}, which is not an earlier step"
                f" (earlier steps: {', '.join(names) or 'none'})"
            )
        sources[name] = source
    if step.free_inputs:  # a prompt sees the run's inputs by their names
        for name in declared:
            sources.setdefault(name, INPUT + name)
    for name, step_type in step.reads.items():
        if name not in sources:
            feeder = next((s.name for s in reversed(earlier) if s.id == step_type), None)
            if feeder is not None:
                sources[name] = feeder
    return sources


def _build_step(source: str, number: int, table: Any) -> tuple[Step, dict[str, Any]]:
    """The step of a ``[[steps]]`` table and the ``inputs`` it names (wired by ``_wire``)."""
    if not isinstance(table, dict):
        raise PipelineError(f"{source}: step {number} is not a table; write it as [[steps]]")
    options = dict(table)
    step_type = options.pop("type", None)
    if not isinstance(step_type, str):
        raise PipelineError(f"{source}: step {number} has no type; known types: {', '.join(step_types())}")
    cls = step_class(step_type)
    if cls is None:
        raise PipelineError(
            f"{source}: step {number}: unknown step type {step_type!r}; "
            f"known types: {', '.join(step_types())}"
        )
    name = options.pop("name", step_type)
    where = f"{source}: step {number} ({name}, type {step_type})"
    if not isinstance(name, str) or not name or name.startswith(INPUT):
        raise PipelineError(f"{source}: step {number}: name must be a non-empty string (not input.*)")
    wiring = options.pop("inputs", {})
    if not isinstance(wiring, dict):
        raise PipelineError(f'{where}: inputs must be a table, e.g. inputs = {{ draft = "draft" }}')
    try:
        validated = cls.Options.model_validate(options)
        return cls(name, validated), wiring
    except ValidationError as exc:
        raise PipelineError(f"{where}: {_reasons(exc)}") from None


def _reasons(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            parts.append(f"unknown option {field!r}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def load_pipeline(name_or_path: str | Path = "chat") -> Pipeline:
    """A built-in pipeline by name (``"chat"``) or a pipeline file by path."""
    data, source = pipeline_table(name_or_path)
    return Pipeline.from_dict(data, source=source)


def pipeline_table(name_or_path: str | Path = "chat") -> tuple[dict[str, Any], str]:
    """A pipeline file's tables before they are checked, and its source: what the test bed edits for
    a variant (another prompt label, say) before ``Pipeline.from_dict``."""
    if isinstance(name_or_path, Path) or name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise PipelineError(f"{path}: cannot be read ({exc.strerror})") from None
    else:
        packaged = resources.files("chatdash.pipeline").joinpath("pipelines", f"{name_or_path}.toml")
        if not packaged.is_file():
            known = sorted(
                item.name.removesuffix(".toml")
                for item in resources.files("chatdash.pipeline").joinpath("pipelines").iterdir()
                if item.name.endswith(".toml")
            )
            raise PipelineError(
                f"no built-in pipeline {name_or_path!r}; built-in: {', '.join(known)}, or give a .toml path"
            )
        text, source = (
            packaged.read_text(encoding="utf-8"),
            f"chatdash/pipeline/pipelines/{name_or_path}.toml",
        )
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{source}: not valid TOML ({exc})") from None
