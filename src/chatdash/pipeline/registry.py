"""Which step types exist: built-ins are registered with the same ``register_step`` call a plugin or
a test uses (as in datasette and ``llm``), so nothing distinguishes a built-in step from an outside one.

A step is a small class: a ``type`` name, an ``Options`` model that refuses unknown fields (checked
when the pipeline file is loaded, not when a user is waiting for a reply), what it ``reads`` (each
input's name and the step type it is fed from unless the file says otherwise), and either ``apply``
(it sets its ``StepRun.output``) or, for steps that write the reply, ``stream`` (it yields text).
"""

from __future__ import annotations

from abc import ABC
from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from chatdash.pipeline.context import RunContext, StepRun


class StepOptions(BaseModel):
    """Options every step takes; subclasses add their own. Unknown names are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_error: Literal["fail", "skip"] = "fail"
    """``skip``: a failure of this step (a ``ChatdashError``) is recorded in its span and the run goes
    on without it; ``fail``: the run stops with the error."""


class Step(ABC):
    """One step of a pipeline. Subclasses set ``type`` and ``Options`` and implement one method."""

    id: ClassVar[str]
    """The ``type`` of pipeline-file tables that use this step."""
    Options: ClassVar[type[StepOptions]] = StepOptions
    streams: ClassVar[bool] = False
    """True for steps that write the reply's text (``stream``); ``Sources`` is sent before them."""
    reads: ClassVar[Mapping[str, str]] = {}
    """The inputs the step reads, each with the step type that feeds it by default (the nearest earlier
    step of that type); a file's ``inputs = {name = "step"}`` feeds one from a named step instead."""
    free_inputs: ClassVar[bool] = False
    """True for steps that take any named input (as a prompt's variables), not only ``reads``."""

    def __init__(self, name: str, options: StepOptions, sources: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.options = options
        self.sources: dict[str, str] = dict(sources or {})
        """Input name -> the step name (or ``input.NAME``) it is read from; set when the file loads."""

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        """Do the step's work: set ``run.output`` (or ``run.skip(why)``); attributes for the trace go
        in ``run.span``."""
        raise NotImplementedError(f"step {self.id!r} implements neither apply() nor stream()")

    def stream(self, ctx: RunContext, run: StepRun) -> AsyncGenerator[str, None]:
        """Text deltas of the reply (for ``streams = True`` steps); ``run.output`` defaults to the text."""
        raise NotImplementedError(f"step {self.id!r} does not stream")

    def pinned(self, value: Any) -> tuple[Any, str]:
        """A pinned value as this step's output, and the text it adds to the reply (streaming steps)."""
        return value, (value if isinstance(value, str) and self.streams else "")


_steps: dict[str, type[Step]] = {}
_builtins_loaded = False


def register_step(step: type[Step], *, replace: bool = False) -> type[Step]:
    """Make ``step`` usable as ``type = "<step.id>"`` in pipeline files (usable as a decorator)."""
    if step.id in _steps and not replace and _steps[step.id] is not step:
        raise ValueError(f"a pipeline step {step.id!r} is already registered")
    _steps[step.id] = step
    return step


def unregister_step(step_type: str) -> None:
    _steps.pop(step_type, None)


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        from chatdash.pipeline import steps  # noqa: F401 - registers the built-in steps


def step_types() -> list[str]:
    _load_builtins()
    return sorted(_steps)


def step_class(step_type: str) -> type[Step] | None:
    _load_builtins()
    return _steps.get(step_type)
