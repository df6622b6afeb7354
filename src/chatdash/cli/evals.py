"""`chatdash eval run|report|compare|runs|import-promptfoo`: the quality test bed from the shell, and
the CI gate.

``run`` checks the scenario files whole first, runs one execution to estimate the rest (time and
tokens), then every case ``--repeat`` times with a progress bar, prints the statistics and writes the
reports asked for; ``--min-score`` / ``--min-pass-rate`` (or a failed assertion) exit 1, and
``--warn-score`` only warns. Ctrl-C stops the run: ``--resume RUN`` finishes it later.
``import-promptfoo`` turns a promptfoo config into a scenario file and prints what it could not map.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from chatdash.cli.common import console, edge, engine, err_console
from chatdash.config import Settings, get_settings
from chatdash.db.models import EvalRun
from chatdash.errors import ChatdashError, InvalidInput
from chatdash.evals import Progress as RunProgress
from chatdash.evals import (
    Runner,
    RunReport,
    format_for,
    import_promptfoo,
    load_outcome,
    load_scenario,
    parse_variant,
    print_comparison,
    scenario_yaml,
)
from chatdash.evals import compare as compare_runs
from chatdash.llm import Provider, get_provider
from chatdash.memory import VectorStore, get_store
from chatdash.tracing import writer_for

app = typer.Typer(
    help="The quality test bed: scenarios, runs, statistics, comparisons.", no_args_is_help=True
)


@app.command("run")
@edge
def run(
    scenarios: list[Path] = typer.Argument(..., help="Scenario files (YAML)."),
    repeat: int | None = typer.Option(
        None, min=1, max=1000, help="Executions per case (default: the file's)."
    ),
    variant: list[str] = typer.Option(
        [], help="KEY=VALUE execution parameter: prompt=NAME@LABEL, model=, temperature=, max_tokens=, seed="
    ),
    concurrency: int = typer.Option(4, min=1, max=64, help="Executions at a time."),
    timeout: float = typer.Option(120.0, min=1.0, help="Seconds an execution may take (then it scores 0)."),
    min_score: float | None = typer.Option(None, help="Exit 1 when a scenario's mean score is below this."),
    min_pass_rate: float | None = typer.Option(
        None, help="Exit 1 when a scenario's pass rate is below this."
    ),
    warn_score: float | None = typer.Option(None, help="Warn (but pass) when the mean score is below this."),
    report: list[Path] = typer.Option([], help="Write the report here too: .md, .json or .xml (JUnit)."),
    resume: str | None = typer.Option(
        None, help="A run id to finish (one scenario): only what it lacks runs."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print each run's report as JSON instead of tables."),
    early_stop: bool = typer.Option(
        True, help="Leave out further repeats once every assertion's verdict is clear."
    ),
    judge_model: str | None = typer.Option(
        None,
        help="The semantic judge: a model of CHATDASH_LLM_BASE_URL (default: the model under test).",
    ),
) -> None:
    """Run scenarios through the engine that serves users; print and gate on the statistics."""
    loaded = [load_scenario(path) for path in scenarios]  # every file checked before anything runs
    if resume is not None and len(loaded) != 1:
        raise InvalidInput("--resume finishes one run: give its one scenario")
    for path in report:
        format_for(str(path))
    settings = get_settings()
    db = engine()
    chosen = parse_variant(variant)
    memory = _memory(settings, needed=any(s.spec.context.documents for s in loaded))
    traces = writer_for(db, settings)
    ok = True
    try:
        for scenario in loaded:
            runner = Runner(
                scenario,
                engine=db,
                settings=settings,
                provider=get_provider(settings),
                judge=_judge(settings, judge_model),
                memory=memory,
                traces=traces,
                variant=chosen,
                concurrency=concurrency,
                timeout=timeout,
                early_stop=early_stop,
            )
            outcome = _with_progress(runner, resume, repeat)
            result = RunReport.of(
                outcome,
                threshold=scenario.spec.threshold,
                assertions=[(a.below, a.at_most) for a in scenario.spec.assertions],
            )
            passed, lines = result.gate(
                min_score=min_score, min_pass_rate=min_pass_rate, warn_score=warn_score
            )
            if as_json:
                print(result.render("json"))
            else:
                result.print(console)
            for path in report:
                target = path if len(loaded) == 1 else path.with_name(f"{scenario.name}-{path.name}")
                target.write_text(result.render(format_for(str(path))), encoding="utf-8")
            for line in lines:
                err_console.print(("[red]" if not passed else "[yellow]") + line)
            ok = ok and passed
    finally:
        if traces is not None:
            traces.close()
    if not ok:
        raise typer.Exit(1)


def _judge(settings: Settings, model: str | None) -> Provider | None:
    """Another model as the judge: independent of the model under test."""
    if model is None:
        return None
    if not settings.llm_base_url:
        raise InvalidInput(
            "--judge-model names a model of an OpenAI-compatible server: set CHATDASH_LLM_BASE_URL"
        )
    return get_provider(settings.model_copy(update={"llm_model": model}))


def _memory(settings: object, *, needed: bool) -> VectorStore | None:
    try:
        return get_store(settings)  # type: ignore[arg-type]
    except ChatdashError as exc:
        if needed:
            raise
        err_console.print(f"[yellow]no vector store ({exc}): retrieval steps are skipped")
        return None


def _with_progress(runner: Runner, resume: str | None, repeat: int | None):  # type: ignore[no-untyped-def]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(runner.scenario.name, total=None)
        shown = False

        def update(state: RunProgress) -> None:
            nonlocal shown
            bar.update(task, total=state.total, completed=state.done)
            if state.estimate is not None and not shown:
                shown = True
                console.print(f"estimate: {state.estimate}")
            if state.stopped_early:
                console.print(
                    f"every assertion's verdict is clear: {state.stopped_early} more repeats left out"
                )

        return asyncio.run(runner.run(run_id=resume, repeat=repeat, progress=update))


@app.command("report")
@edge
def report_(
    run_id: str = typer.Argument(..., help="A run id (`chatdash eval runs` lists them)."),
    out: Path | None = typer.Option(
        None, help="Write it to a file (.md, .json, .xml) instead of the terminal."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A stored run's statistics again."""
    db = engine()
    outcome = load_outcome(db, run_id)
    settings = _run_settings(run_id)
    result = RunReport.of(
        outcome,
        threshold=float(settings.get("threshold", 0.5)),
        assertions=[(a["below"], a["at_most"]) for a in settings.get("assertions", [])],
    )
    if out is not None:
        out.write_text(result.render(format_for(str(out))), encoding="utf-8")
    elif as_json:
        print(result.render("json"))
    else:
        result.print(console)


@app.command("compare")
@edge
def compare(
    run_a: str = typer.Argument(..., help="The baseline run."),
    run_b: str = typer.Argument(..., help="The candidate run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """B against A, case by case: the mean difference with its interval, a paired test, the effect size."""
    db = engine()
    a, b = load_outcome(db, run_a), load_outcome(db, run_b)
    comparison = compare_runs(a.scores(), b.scores())
    if as_json:
        print(json.dumps(comparison.as_dict(), indent=1))
        return
    print_comparison(
        console, f"{b.scenario} {_variant(b.variant)} vs {a.scenario} {_variant(a.variant)}", comparison
    )


@app.command("runs")
@edge
def runs(limit: int = typer.Option(20, min=1, max=1000, help="How many, newest first.")) -> None:
    """The newest runs: id, scenario, variant, status, cases x repeats, when."""
    with engine().connect() as connection:
        rows = connection.execute(select(EvalRun).order_by(EvalRun.started_at.desc()).limit(limit)).all()
    table = Table("run", "scenario", "variant", "status", "cases x repeats", "started (UTC)")
    for r in rows:
        table.add_row(
            r.id,
            r.scenario,
            _variant(json.loads(r.variant)),
            r.status,
            f"{r.cases} x {r.repeat}",
            f"{r.started_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


def _variant(variant: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(variant.items())) or "(as written)"


def _run_settings(run_id: str) -> dict[str, Any]:
    with engine().connect() as connection:
        row = connection.execute(select(EvalRun.settings).where(EvalRun.id == run_id)).scalar_one_or_none()
    return json.loads(row) if row else {}


@app.command("import-promptfoo")
@edge
def import_promptfoo_(
    file: Path = typer.Argument(..., help="A promptfoo config (promptfooconfig.yaml)."),
    out: Path | None = typer.Option(None, help="Write the scenario here (default: print it)."),
    name: str | None = typer.Option(
        None, help="The scenario's name (default: from the config's description)."
    ),
) -> None:
    """A promptfoo config as a scenario: tests become cases, asserts evaluators; notes say what is not."""
    data, notes = import_promptfoo(file, name=name)
    text = scenario_yaml(data, notes, source=str(file))
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}: scenario {data['name']}, {len(data['cases'])} cases", highlight=False)
    for note in notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
