"""The quality test bed (the PEEL method): scenarios over whole pipelines, run many times, scored,
and decided with statistics, on the same engine that serves users (``chatdash.pipeline.chat_turn``).

Typical use::

    from chatdash.evals import RunReport, Runner, load_scenario

    scenario = load_scenario("scenarios/sales-qa.yaml")       # checked whole: errors name the line
    outcome = await Runner(scenario, engine=engine, settings=settings, provider=provider).run(repeat=3)
    report = RunReport.of(outcome, threshold=scenario.spec.threshold)
    report.print(console); passed, why = report.gate(min_score=0.8)

The parts, from the bottom up: ``types`` (Case, Execution, Score), ``scenario`` (the YAML files),
``evaluators`` (exact, regex, terms, numeric, json_schema, semantic, manual, budgets, figure_check),
``stats`` (two-level bootstrap, assertions over repeats, paired comparison), ``generators`` (cases
computed from the data), ``runner`` (cases x repeats, stored, traced, resumable), ``report``;
``manual`` (scores people give after a run, cases added from production traces) and ``queries``
(what the dashboard's Test bed page reads).
"""

from chatdash.evals import queries
from chatdash.evals.evaluators import Evaluator, EvaluatorError, build_evaluator, combine
from chatdash.evals.gate import GateResult, gate_promotion
from chatdash.evals.generators import GENERATORS
from chatdash.evals.manual import (
    AddedCase,
    PendingScore,
    add_case_from_trace,
    added_cases,
    give_manual_score,
    list_added_cases,
    pending_manual,
    remove_case,
)
from chatdash.evals.promptfoo import import_promptfoo, scenario_yaml
from chatdash.evals.report import RunReport, format_for, print_comparison
from chatdash.evals.runner import Estimate, Progress, Runner, RunOutcome, load_outcome, parse_variant
from chatdash.evals.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from chatdash.evals.stats import Comparison, compare, compare_many, summarize
from chatdash.evals.types import Case, Execution, Score

__all__ = [
    "GENERATORS",
    "AddedCase",
    "Case",
    "Comparison",
    "Estimate",
    "Evaluator",
    "EvaluatorError",
    "Execution",
    "GateResult",
    "PendingScore",
    "Progress",
    "RunOutcome",
    "RunReport",
    "Runner",
    "Scenario",
    "ScenarioError",
    "Score",
    "add_case_from_trace",
    "added_cases",
    "build_evaluator",
    "combine",
    "compare",
    "compare_many",
    "format_for",
    "gate_promotion",
    "give_manual_score",
    "import_promptfoo",
    "list_added_cases",
    "load_outcome",
    "load_scenario",
    "parse_scenario",
    "parse_variant",
    "pending_manual",
    "print_comparison",
    "queries",
    "remove_case",
    "scenario_yaml",
    "summarize",
]
