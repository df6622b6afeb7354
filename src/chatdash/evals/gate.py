"""Gated prompt promotion: a label moves to a new version only when the test bed does not find the new
version worse than the one the label points at now.

``gate_promotion`` runs one scenario twice through the ``Runner``, with the variant
``prompt=NAME@CURRENT`` (the version the label points at now: run a) and ``prompt=NAME@VERSION`` (the
candidate: run b), the same cases and repeats, then compares them case by case with
``chatdash.evals.compare``. It decides; it does not move the label (the caller does, with
``chatdash.prompts.promote``, when ``GateResult.promote``). Both runs are stored like any other, so
``chatdash eval compare A B`` shows them again.

The rule: promote unless the candidate is significantly worse (``verdict == "worse"``: the paired
sign-flip test's p-value below alpha, and a negative mean difference) by more than ``min_effect``
(default 0: any significant drop refuses). "No significant difference" promotes: with few cases a
real drop may go unseen, so the reason states the interval; more cases or repeats narrow it. A
label that points nowhere yet, or already at the version, has nothing to compare: promoted without
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from chatdash.config import Settings
from chatdash.errors import InvalidInput, PromptError, PromptNotFound
from chatdash.evals.runner import Runner, RunOutcome
from chatdash.evals.scenario import Scenario
from chatdash.evals.stats import Comparison, compare
from chatdash.llm import Provider
from chatdash.memory import VectorStore
from chatdash.prompts import LATEST, get_prompt, parse_ref
from chatdash.tracing import TraceWriter


@dataclass(frozen=True, slots=True)
class GateResult:
    """The decision: ``promote`` or not and why; the ``comparison`` (b = candidate, a = current; None
    when nothing was run), the versions and the two runs' ids."""

    promote: bool
    reason: str
    comparison: Comparison | None
    current: int | None
    candidate: int
    runs: tuple[str, str] | None = None


async def gate_promotion(
    scenario: Scenario,
    *,
    name: str,
    version: int,
    label: str,
    engine: Engine,
    settings: Settings,
    provider: Provider,
    repeat: int | None = None,
    min_effect: float = 0.0,
    memory: VectorStore | None = None,
    judge: Provider | None = None,
    traces: TraceWriter | None = None,
    concurrency: int = 4,
    timeout: float = 120.0,
    say: Callable[[str], None] | None = None,
) -> GateResult:
    """Should ``label`` of prompt ``name`` move to ``version``? Runs ``scenario`` with the current and
    the candidate version (``repeat`` times each case: the scenario's count by default) and decides
    (see the module docstring). ``PromptNotFound`` for a version that does not exist; ``InvalidInput``
    for a label that cannot move or a scenario whose pipeline does not use the prompt."""
    if min_effect < 0:
        raise InvalidInput(f"min_effect is a difference of mean scores, 0 or more, not {min_effect:g}")
    parse_ref(f"{name}@{label}")  # PromptError (InvalidInput) for a malformed name or label
    if label == LATEST:
        raise PromptError("the label 'latest' always names the newest version: it cannot be moved")
    get_prompt(engine, f"{name}@{version}")
    try:
        current: int | None = get_prompt(engine, f"{name}@{label}").version
    except PromptNotFound:
        current = None
    if current is None:
        return GateResult(
            True, f"{name} has no label {label} yet: nothing to compare with", None, None, version
        )
    if current == version:
        return GateResult(True, f"{name}@{label} already points at v{version}", None, current, version)
    outcomes: list[RunOutcome] = []
    for which, number in (("current", current), ("candidate", version)):
        if say is not None:
            say(f"running {scenario.name} with {name}@{number} ({which})")
        runner = Runner(
            scenario,
            engine=engine,
            settings=settings,
            provider=provider,
            memory=memory,
            judge=judge,
            traces=traces,
            variant={"prompt": f"{name}@{number}"},
            concurrency=concurrency,
            timeout=timeout,
        )
        outcomes.append(await runner.run(repeat=repeat))
    a, b = outcomes
    runs = (a.run_id, b.run_id)
    try:
        comparison = compare(a.scores(), b.scores())
    except ValueError as exc:  # no case was scored in both runs (all unscorable, pending or failed)
        reason = f"refused: the runs cannot be compared ({exc}); {label} stays at v{current}"
        return GateResult(False, reason, None, current, version, runs)
    promote, reason = decide(comparison, min_effect=min_effect)
    where = f"v{version} against v{current} ({label} now)"
    stays = "" if promote else f"; {label} stays at v{current}"
    return GateResult(promote, f"{where}: {reason}{stays}", comparison, current, version, runs)


def decide(comparison: Comparison, *, min_effect: float = 0.0) -> tuple[bool, str]:
    """Promote (True) unless the candidate (b) is significantly worse by more than ``min_effect``; the
    reason gives the mean difference with its interval and the p-value either way."""
    c = comparison
    d = c.mean_difference
    figures = (
        f"mean difference {d.value:+.3f} ({d.confidence:.0%} CI {d.low:+.3f} to {d.high:+.3f}), "
        f"p = {c.p_value:.3g} ({c.test}) over {c.cases} cases"
    )
    if c.left_out:
        figures += f" ({len(c.left_out)} left out: scored in one run only)"
    if c.verdict != "worse":
        return True, f"{c.verdict}: {figures}"
    if -d.value <= min_effect:
        return True, f"worse, but by no more than --min-effect {min_effect:g}: {figures}"
    return False, f"refused: significantly worse (alpha {c.alpha:g}): {figures}"
