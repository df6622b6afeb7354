"""Which step types exist: built-ins are registered with the same ``register_step`` call a plugin or
a test uses (as in datasette and ``llm``), so nothing distinguishes a built-in step from an outside one.

A step is a small class: a ``type`` name, an ``Options`` model that refuses unknown fields (checked
when the pipeline file is loaded, not when a user is waiting for a reply), and either ``apply`` (it
changes the ``State``) or, for steps that produce the reply, ``stream`` (it yields text).
"""

from __future__ import annotations

from abc import ABC
from collections.abc import AsyncGenerator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from chatdash.pipeline.context import RunContext, State


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
    """True for steps that produce the reply's text (``stream``); ``Sources`` is sent before them."""

    def __init__(self, name: str, options: StepOptions) -> None:
        self.name = name
        self.options = options

    async def apply(self, ctx: RunContext, state: State, span: dict[str, Any]) -> bool:
        """Do the step's work on ``state``; put attributes for the trace in ``span``. Return False
        when there was nothing to do (recorded as ``skipped``)."""
        raise NotImplementedError(f"step {self.id!r} implements neither apply() nor stream()")

    def stream(self, ctx: RunContext, state: State, span: dict[str, Any]) -> AsyncGenerator[str, None]:
        """Text deltas of the reply (for ``streams = True`` steps)."""
        raise NotImplementedError(f"step {self.id!r} does not stream")


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
