"""What a run says, in the forms people and tools read: a terminal table, JSON, JUnit XML (one test per
case, for CI dashboards) and Markdown; and the gate that turns it into an exit status.

``RunReport`` gathers a stored run's statistics once (``chatdash.evals.stats``): the mean with its
bootstrap interval, the pass rate, the executions below chosen thresholds, each assertion's verdict
(pass / fail / inconclusive with its bound), the flaky cases (measured), and the unscorable and
pending executions, which are counted, never scored.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from chatdash.evals.runner import RunOutcome
from chatdash.evals.stats import (
    Comparison,
    Consistency,
    Summary,
    Verdict,
    check_share,
    judge_consistency,
    summarize,
)

BELOW = (0.3, 0.5)
"""The thresholds every report counts executions below ("80 of 100 below 0.3")."""


@dataclass(frozen=True)
class RunReport:
    outcome: RunOutcome
    threshold: float
    summary: Summary | None
    """None when no execution could be scored."""
    verdicts: list[Verdict]
    statuses: dict[str, int]
    judges: dict[str, Consistency]
    """Per semantic evaluator that judged outputs more than once (``judgements: N``): how consistent
    its judge was, shown beside its scores."""

    @classmethod
    def of(
        cls, outcome: RunOutcome, *, threshold: float, assertions: Sequence[tuple[float, float]] = ()
    ) -> RunReport:
        scores: dict[str, list[float | None]] = {}
        statuses: dict[str, int] = {}
        for e in outcome.executions:
            scores.setdefault(e.case_id, []).append(e.score)
            statuses[e.status] = statuses.get(e.status, 0) + 1
        scored = any(s is not None for values in scores.values() for s in values)
        summary = summarize(scores, threshold=threshold, below=BELOW) if scored else None
        verdicts = (
            [check_share(scores, below=below, at_most=at_most) for below, at_most in assertions]
            if scored
            else []
        )
        judged: dict[str, dict[str, list[float | None]]] = {}
        for e in outcome.executions:
            for entry in e.scores:
                if len(entry.get("judgements") or []) > 1:
                    judged.setdefault(entry["evaluator"], {})[f"{e.case_id}#{e.repeat}"] = entry["judgements"]
        judges = {name: judge_consistency(outputs) for name, outputs in judged.items()}
        return cls(outcome, threshold, summary, verdicts, statuses, judges)

    def as_dict(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "run_id": o.run_id,
            "scenario": o.scenario,
            "variant": o.variant,
            "interrupted": o.interrupted,
            "threshold": self.threshold,
            "statuses": self.statuses,
            "summary": self.summary.as_dict() if self.summary else None,
            "assertions": [v.as_dict() for v in self.verdicts],
            "judge_consistency": {name: c.as_dict() for name, c in self.judges.items()},
            "executions": [
                {
                    "case": e.case_id,
                    "repeat": e.repeat,
                    "score": e.score,
                    "status": e.status,
                    "scores": e.scores,
                    "output": e.output,
                    "error": e.error,
                    "latency_ms": e.latency_ms,
                    "trace_id": e.trace_id,
                }
                for e in o.executions
            ],
        }

    # -- the gate --------------------------------------------------------------------------------

    def gate(
        self,
        *,
        min_score: float | None = None,
        min_pass_rate: float | None = None,
        warn_score: float | None = None,
    ) -> tuple[bool, list[str]]:
        """Whether the run clears the bar, and what to say: failures (below ``min_score`` or
        ``min_pass_rate``, a failed assertion, nothing scored) fail; ``warn_score`` only warns."""
        problems: list[str] = []
        notes: list[str] = []
        s = self.summary
        if s is None:
            return (min_score is None and min_pass_rate is None), ["no execution could be scored"]
        if min_score is not None and s.mean.value < min_score:
            problems.append(f"mean score {s.mean.value:.3f} is below --min-score {min_score:g}")
        if min_pass_rate is not None and s.pass_rate.value < min_pass_rate:
            problems.append(f"pass rate {s.pass_rate.value:.1%} is below --min-pass-rate {min_pass_rate:.1%}")
        problems += [f"assertion {v}" for v in self.verdicts if v.verdict == "fail"]
        if warn_score is not None and s.mean.value < warn_score:
            notes.append(f"warning: mean score {s.mean.value:.3f} is below --warn-score {warn_score:g}")
        notes += [f"assertion {v}" for v in self.verdicts if v.verdict == "inconclusive"]
        return not problems, problems + notes

    # -- forms -----------------------------------------------------------------------------------

    def print(self, console: Console) -> None:
        o, s = self.outcome, self.summary
        variant = ", ".join(f"{k}={v}" for k, v in sorted(o.variant.items())) or "as the scenario says"
        console.print(
            f"[bold]{o.scenario}[/bold] run {o.run_id} ({variant})"
            + (" [red]interrupted[/red]" if o.interrupted else "")
        )
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items()))
        console.print(f"executions: {sum(self.statuses.values())} ({counts})")
        if s is None:
            console.print("[yellow]no execution could be scored[/yellow]")
            return
        table = Table("figure", "value")
        table.add_row("mean score", str(s.mean))
        table.add_row(
            f"pass rate (score >= {self.threshold:g})",
            f"{s.pass_rate.value:.1%} ({s.pass_rate.low:.1%} to {s.pass_rate.high:.1%})",
        )
        for below in s.below:
            table.add_row(f"below {below.threshold:g}", str(below))
        table.add_row("cases", f"{s.cases} ({len(s.flaky)} flaky: {', '.join(s.flaky[:5]) or 'none'})")
        table.add_row("histogram (0 to 1, tenths)", " ".join(str(n) for n in s.histogram))
        for verdict in self.verdicts:
            table.add_row("assertion", str(verdict))
        for name, judge in self.judges.items():
            table.add_row(f"judge {name}: consistency", _consistency(judge))
        console.print(table)
        worst = sorted((c for c in s.per_case if c.mean is not None), key=lambda c: c.mean or 0.0)[:5]
        if worst:
            cases = Table("lowest cases", "mean", "std", "passes")
            for c in worst:
                std = f"{c.std:.2f}" if c.std is not None else "-"
                cases.add_row(c.case_id, f"{c.mean:.2f}", std, f"{c.passes} of {c.n}")
            console.print(cases)

    def markdown(self) -> str:
        o, s = self.outcome, self.summary
        lines = [f"# {o.scenario}: run {o.run_id}", ""]
        if o.variant:
            lines += ["Variant: " + ", ".join(f"`{k}={v}`" for k, v in sorted(o.variant.items())), ""]
        lines += ["| status | executions |", "| --- | ---: |"]
        lines += [f"| {status} | {n} |" for status, n in sorted(self.statuses.items())]
        if s is not None:
            lines += [
                "",
                "| figure | value |",
                "| --- | --- |",
                f"| mean score | {s.mean} |",
                f"| pass rate (score >= {self.threshold:g}) | {s.pass_rate.value:.1%} "
                f"({s.pass_rate.low:.1%} to {s.pass_rate.high:.1%}) |",
                *(f"| below {b.threshold:g} | {b} |" for b in s.below),
                f"| cases | {s.cases} |",
                f"| flaky cases | {', '.join(s.flaky) or 'none'} |",
                *(f"| assertion | {v} |" for v in self.verdicts),
                *(f"| judge {name}: consistency | {_consistency(j)} |" for name, j in self.judges.items()),
                "",
                "| case | n | mean | std | passes |",
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for c in s.per_case:
                mean = f"{c.mean:.3f}" if c.mean is not None else "-"
                std = f"{c.std:.3f}" if c.std is not None else "-"
                lines.append(f"| {c.case_id} | {c.n} | {mean} | {std} | {c.passes} |")
        return "\n".join(lines) + "\n"

    def junit(self) -> str:
        """One testcase per case: it fails when its mean is below the threshold (or it errored)."""
        o, s = self.outcome, self.summary
        per_case = {c.case_id: c for c in s.per_case} if s else {}
        suite = ET.Element("testsuite", name=o.scenario, tests=str(len({e.case_id for e in o.executions})))
        failures = 0
        for case_id in sorted({e.case_id for e in o.executions}):
            runs = [e for e in o.executions if e.case_id == case_id]
            element = ET.SubElement(suite, "testcase", classname=o.scenario, name=case_id)
            stats = per_case.get(case_id)
            errors = [e.error for e in runs if e.error]
            if stats is None or stats.mean is None:
                ET.SubElement(element, "skipped", message="no scored execution")
            elif stats.mean < self.threshold or errors:
                failures += 1
                reasons = "; ".join(str(r["reason"]) for e in runs for r in e.scores if r.get("value") != 1.0)
                ET.SubElement(
                    element, "failure", message=f"mean {stats.mean:.3f} < {self.threshold:g}"
                ).text = "\n".join(errors) or reasons
        suite.set("failures", str(failures))
        return ET.tostring(suite, encoding="unicode", xml_declaration=True)

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(self.as_dict(), indent=1)
        if fmt == "md":
            return self.markdown()
        if fmt == "junit":
            return self.junit()
        raise ValueError(f"unknown report format {fmt!r}: json, md or junit")


def _consistency(c: Consistency) -> str:
    return (
        f"{c.agreeing} of {c.outputs} outputs judged alike within {c.tolerance:g} "
        f"(mean std {c.mean_std:.3f}, max {c.max_std:.3f})"
    )


def format_for(path: str) -> str:
    """The report format a file name asks for: .json, .md, .xml (JUnit)."""
    for suffix, fmt in ((".json", "json"), (".md", "md"), (".xml", "junit")):
        if path.endswith(suffix):
            return fmt
    raise ValueError(f"a report file ends in .json, .md or .xml (JUnit), not {path!r}")


def print_comparison(console: Console, name: str, comparison: Comparison) -> None:
    c = comparison
    table = Table("figure", "value")
    table.add_row(
        "cases compared",
        f"{c.cases}" + (f" ({len(c.left_out)} in only one run, left out)" if c.left_out else ""),
    )
    table.add_row("mean difference (B - A)", f"{c.mean_difference}")
    table.add_row(
        "p-value",
        f"{c.p_value:.4f} ({c.test})"
        + (f", adjusted {c.p_adjusted:.4f}" if c.p_adjusted is not None else ""),
    )
    table.add_row("effect size (d_z)", f"{c.effect_size:.2f}" if c.effect_size is not None else "-")
    table.add_row("verdict", f"[bold]{c.verdict}[/bold] (alpha {c.alpha:g})")
    console.print(f"[bold]{name}[/bold]")
    console.print(table)
