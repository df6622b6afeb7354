"""What the test bed passes around: a test case, one execution of it, and one evaluator's score.

Plain frozen records, so evaluators, the runner, the statistics and the reports share them without
importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ScoreStatus = Literal["scored", "unscorable", "pending"]


@dataclass(frozen=True, slots=True)
class Case:
    """One test case of a scenario: the user's message (``input``), its case-specific variables
    (``vars``: the pipeline's declared inputs, and what evaluators may read), the ``expected`` output
    (text, a number, a structure; None when the evaluators need none) and outputs ``pinned`` for it.
    ``evaluators``: the case's own evaluator tables, scored in addition to the scenario's (an imported
    promptfoo test keeps its own assertions this way)."""

    id: str
    input: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    pinned: Mapping[str, Any] = field(default_factory=dict)
    evaluators: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of one case (repeat ``repeat``, from 0): what the pipeline wrote and what it cost.

    ``answer`` is the sales answer as data (``SalesAnswer.as_dict``) when the run produced one;
    ``figure_check`` what the figure check said of the model's prose (``shown``, ``empty`` or why it
    was held back; None when nothing was checked); ``outputs`` every step's output as JSON values."""

    case_id: str
    repeat: int
    output: str
    latency_ms: float
    outputs: Mapping[str, Any] = field(default_factory=dict)
    answer: Mapping[str, Any] | None = None
    figure_check: str | None = None
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """One evaluator's verdict on one execution: ``value`` in [0, 1] with its ``reason``; ``status``
    ``unscorable`` (a judge whose reply could not be read after retries: counted and reported, never
    0, 1 or NaN) or ``pending`` (a manual score not given yet) leave ``value`` None."""

    value: float | None
    reason: str
    status: ScoreStatus = "scored"

    def __post_init__(self) -> None:
        if self.status == "scored" and (self.value is None or not 0.0 <= self.value <= 1.0):
            raise ValueError(f"a score is a number in [0, 1], not {self.value!r}")
        if self.status != "scored" and self.value is not None:
            raise ValueError(f"an {self.status} score has no value")

    @classmethod
    def unscorable(cls, reason: str) -> Score:
        return cls(None, reason, "unscorable")

    @classmethod
    def pending(cls, reason: str = "waiting for a person's score") -> Score:
        return cls(None, reason, "pending")
