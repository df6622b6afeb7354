"""Pipelines: steps declared in a TOML file, run in order, streamed as typed events.

A pipeline file (the built-in ones live in ``chatdash/pipeline/pipelines/``)::

    name = "chat"
    description = "..."

    [[steps]]
    type = "retrieve"        # a registered step type
    memories = 10            # its options, checked when the file is loaded

    [[steps]]
    id = "llm"
    name = "reply"           # optional; defaults to the type, must be unique

Everything about a file is checked by ``load_pipeline``, so a wrong option fails at start-up with the
file and the step in the message, not in the middle of a user's reply. The chat, the API and the test
bed run the same files through the same ``Pipeline.run``, so what the test bed measures is what users
get.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from chatdash.errors import ChatdashError, PipelineError
from chatdash.llm import Completion
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.events import Delta, Done, Event, Sources, SpanRecord
from chatdash.pipeline.registry import Step, step_class, step_types

_TOP_LEVEL = {"name", "description", "steps"}


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """A whole run at once (``Pipeline.complete``)."""

    text: str
    completion: Completion | None
    sources: Sources
    spans: list[SpanRecord]


class Pipeline:
    """An ordered list of configured steps. Build one with ``load_pipeline`` or ``Pipeline.from_dict``."""

    def __init__(self, name: str, steps: list[Step], *, description: str = "", source: str = "") -> None:
        self.name = name
        self.steps = steps
        self.description = description
        self.source = source

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
        steps: list[Step] = []
        names: set[str] = set()
        for number, table in enumerate(tables, start=1):
            step = _build_step(source, number, table)
            if step.name in names:
                raise PipelineError(
                    f"{source}: step {number}: the name {step.name!r} is used twice; give one a name"
                )
            names.add(step.name)
            steps.append(step)
        return cls(
            str(data.get("name", Path(source).stem)),
            steps,
            description=str(data.get("description", "")),
            source=source,
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
        receives each step's record as it finishes, so a failed or stopped run still has its spans.
        """
        state = State()
        spans: list[SpanRecord] = [] if trace is None else trace
        sent_sources = False
        for step in self.steps:
            if step.streams and not sent_sources:
                sent_sources = True
                yield _sources(state)
            started, clock = time.time(), time.perf_counter()
            attributes: dict[str, Any] = {}
            status: Literal["ok", "skipped", "error"] = "ok"
            error: str | None = None
            try:
                if step.streams:
                    async with aclosing(step.stream(ctx, state, attributes)) as deltas:
                        async for text in deltas:
                            yield Delta(text)
                elif not await step.apply(ctx, state, attributes):
                    status = "skipped"
            except Exception as exc:
                status, error = "error", f"{type(exc).__name__}: {exc}"
                skip = isinstance(exc, ChatdashError) and step.options.on_error == "skip"
                if not skip or step.streams:
                    raise
            finally:
                duration = (time.perf_counter() - clock) * 1000
                spans.append(SpanRecord(step.name, step.id, started, duration, status, error, attributes))
        if not sent_sources:
            yield _sources(state)
        yield Done(state.completion, spans)

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
        return PipelineResult("".join(parts), done.completion, sources, done.spans)


def _sources(state: State) -> Sources:
    return Sources(sales=state.sales, memories=list(state.memories), documents=list(state.documents))


def _build_step(source: str, number: int, table: Any) -> Step:
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
    if not isinstance(name, str) or not name:
        raise PipelineError(f"{source}: step {number}: name must be a non-empty string")
    try:
        validated = cls.Options.model_validate(options)
        return cls(name, validated)
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
    if isinstance(name_or_path, Path) or name_or_path.endswith(".toml") or "/" in name_or_path:
        return Pipeline.from_file(Path(name_or_path))
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
    text = packaged.read_text(encoding="utf-8")
    source = f"chatdash/pipeline/pipelines/{name_or_path}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{source}: not valid TOML ({exc})") from None
    return Pipeline.from_dict(data, source=source)
