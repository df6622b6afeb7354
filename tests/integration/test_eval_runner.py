"""The test bed's runner on SQLite and PostgreSQL, with the scripted model behind the real chat
pipeline: cases x repeats with concurrency, every execution stored and traced (source eval, tagged
with run, case and repeat), the sales answer read for numeric scoring, a timeout scored 0 as an error,
an interrupted run resumed without redoing anything, variants (a prompt label, a temperature), and the
CLI's reports and gate."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import load_settings
from chatdash.errors import InvalidInput
from chatdash.evals import RunReport
from chatdash.evals.runner import Runner, load_outcome, parse_variant
from chatdash.evals.scenario import parse_scenario
from chatdash.llm import create
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.prompts import PromptContent, install_shipped, promote, push_prompt
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames
from chatdash.tracing import TraceWriter, list_traces
from tests.conftest import Database

pytestmark = pytest.mark.timeout(180)

SCENARIO = """\
name: runner
pipeline: chat
repeat: 3
threshold: 0.8
evaluators:
  - {type: terms, all: [fine]}
  - {type: latency, max_ms: 60000}
cases:
  - {id: hello, input: "Hello there"}
  - {id: weather, input: "How are you today?"}
"""


def scripted(*replies: Any, **options: Any) -> ScriptedProvider:
    provider = create("scripted", replies=list(replies), **options)
    assert isinstance(provider, ScriptedProvider)
    return provider


def runner(db: Database, scenario: str, provider: ScriptedProvider, **kwargs: Any) -> Runner:
    settings = load_settings(database_url=db.url)
    return Runner(parse_scenario(scenario), engine=db.engine, settings=settings, provider=provider, **kwargs)


def test_every_case_runs_its_repeats_is_scored_stored_and_traced(database: Database) -> None:
    traces = TraceWriter(database.engine, buffer=100, retention_days=30)
    provider = scripted(*["I am fine, thanks."] * 3, *["Not great."] * 3)
    outcome = asyncio.run(runner(database, SCENARIO, provider, traces=traces, concurrency=3).run())
    assert traces.close(10)
    assert len(outcome.executions) == 6 and {(e.case_id, e.repeat) for e in outcome.executions} == {
        (case, r) for case in ("hello", "weather") for r in range(3)
    }
    scores = sorted(e.score for e in outcome.executions if e.score is not None)
    assert scores == [0.5, 0.5, 0.5, 1.0, 1.0, 1.0]  # terms 1/0 and the latency budget 1, equally weighted
    fine = next(e for e in outcome.executions if e.score == 1.0)
    assert [s["type"] for s in fine.scores] == ["terms", "latency"] and fine.status == "scored"
    stored = {t.id: t for t in list_traces(database.engine, limit=50)}
    assert {e.trace_id for e in outcome.executions} <= set(stored)
    trace = stored[fine.trace_id or ""]
    assert (trace.source, trace.pipeline, trace.status, trace.user_id) == ("eval", "chat", "complete", None)
    assert load_outcome(database.engine, outcome.run_id).executions == outcome.executions


def test_a_sales_question_is_scored_on_the_answers_own_value(database: Database) -> None:
    load_frames(database.engine, [generate_frame(2_000, 3)], replace=True)
    scenario = textwrap.dedent(
        """\
        name: sales
        evaluators: [{type: numeric}, {type: figure_check}]
        cases:
          - {id: orders, input: "How many orders did we have in 2019?", expected: 0}
        """
    )
    provider = scripted("That is quite a lot.")
    first = asyncio.run(runner(database, scenario, provider).run())
    (execution,) = first.executions
    value = int(execution.output.splitlines()[0].split(": ")[1].rstrip(".").replace(",", ""))  # its sentence
    right = scenario.replace("expected: 0", f"expected: {value}")
    again = asyncio.run(runner(database, right, scripted("Quite a lot.")).run())
    assert [e.score for e in first.executions] == [0.5] and [e.score for e in again.executions] == [1.0]


def test_a_timeout_is_an_error_scored_0_and_an_interrupted_run_resumes(database: Database) -> None:
    slow = scripted("fine " * 50, delay_s=0.2)
    outcome = asyncio.run(runner(database, SCENARIO, slow, timeout=0.5).run(repeat=1))
    assert {e.status for e in outcome.executions} == {"error"} and {e.score for e in outcome.executions} == {
        0.0
    }
    assert "no result within 0.5 s" in (outcome.executions[0].error or "")
    # run 1 of 3 repeats, then resume the same run for all 3: only the missing 4 executions run
    provider = scripted(*["fine"] * 10)
    first = asyncio.run(runner(database, SCENARIO, provider).run(repeat=1))
    asked = len(provider.requests)
    resumed = asyncio.run(runner(database, SCENARIO, provider).run(run_id=first.run_id, repeat=3))
    assert (asked, len(provider.requests) - asked) == (2, 4)
    assert resumed.run_id == first.run_id and len(resumed.executions) == 6
    with pytest.raises(InvalidInput, match="had the variant"):
        asyncio.run(
            runner(database, SCENARIO, provider, variant={"temperature": "1"}).run(run_id=first.run_id)
        )


def test_variants_change_the_prompt_label_and_the_temperature(database: Database) -> None:
    install_shipped(database.engine)
    push_prompt(database.engine, PromptContent.parse({"name": "chat-system", "text": "Version two."}))
    promote(database.engine, "chat-system", 2, "staging")
    provider = scripted(*["fine"] * 12)
    variant = parse_variant(["prompt=chat-system@staging", "temperature=0.9"])
    asyncio.run(runner(database, SCENARIO, provider, variant=variant).run(repeat=1))
    assert provider.requests[-1].messages[0].content == "Version two."
    assert {r.options.temperature for r in provider.requests} == {0.9}
    with pytest.raises(InvalidInput, match="unknown variant key 'temprature'"):
        parse_variant(["temprature=1"])
    with pytest.raises(InvalidInput, match="no step of the scenario's pipeline uses other"):
        runner(database, SCENARIO, provider, variant={"prompt": "other@staging"})


def test_the_cli_runs_reports_and_gates(cli_env: Path) -> None:
    """`chatdash eval run` with the scripted provider (it echoes the message): reports written,
    --min-score 1.01 exits 1, a passing bar exits 0; `eval report`, `eval runs` and `eval compare`."""
    cli = CliRunner()
    env = {"CHATDASH_LLM_PROVIDER": "scripted", "CHATDASH_ALLOW_SCRIPTED_MODEL": "true"}
    assert cli.invoke(app, ["init", "--rows", "0"], env=env).exit_code == 0
    scenario = cli_env / "echo.yaml"
    scenario.write_text(
        "name: echo\nrepeat: 2\nevaluators: [{type: terms, all: [hello]}]\n"
        "cases: [{id: a, input: hello world}, {id: b, input: hello again}]\n"
    )
    ran = cli.invoke(
        app,
        ["eval", "run", str(scenario), "--report", "r.md", "--report", "r.xml", "--report", "r.json"],
        env=env,
    )
    assert ran.exit_code == 0, ran.output
    assert "mean score" in ran.output and "1.000" in ran.output
    report = json.loads((cli_env / "r.json").read_text())
    assert report["summary"]["mean"]["value"] == 1.0 and len(report["executions"]) == 4
    assert "| mean score | 1.000" in (cli_env / "r.md").read_text()
    assert 'failures="0"' in (cli_env / "r.xml").read_text()
    gated = cli.invoke(app, ["eval", "run", str(scenario), "--min-score", "1.01"], env=env)
    assert gated.exit_code == 1 and "below --min-score 1.01" in gated.output
    runs = cli.invoke(app, ["eval", "runs"], env=env)
    ids = [line.split()[1] for line in runs.output.splitlines() if "echo" in line]
    assert len(ids) == 2, runs.output
    again = cli.invoke(app, ["eval", "report", ids[0], "--json"], env=env)
    assert json.loads(again.output)["run_id"] == ids[0]
    compared = cli.invoke(app, ["eval", "compare", ids[1], ids[0]], env=env)
    assert compared.exit_code == 0 and "no significant difference" in compared.output
    bad = cli.invoke(app, ["eval", "run", str(cli_env / "missing.yaml")], env=env)
    assert bad.exit_code == 1 and "cannot be read" in bad.output


def test_repeats_stop_early_once_every_assertion_is_clear(database: Database) -> None:
    cases = "\n".join(f"  - {{id: c{n}, input: 'hello {n}'}}" for n in range(25))
    scenario = (
        "name: early\nrepeat: 5\nevaluators: [{type: terms, all: [hello]}]\n"
        f"assertions: [{{below: 0.5, at_most: 0.5}}]\ncases:\n{cases}\n"
    )
    provider = scripted()  # echoes: every execution scores 1
    outcome = asyncio.run(runner(database, scenario, provider).run())
    assert len(outcome.executions) == 25  # one round was enough: 0 of 25 below 0.5, limit 50 %
    full = asyncio.run(runner(database, scenario, provider, early_stop=False).run())
    assert len(full.executions) == 125


def test_a_judge_that_judges_each_output_three_times_shows_its_consistency(database: Database) -> None:
    scenario = (
        "name: judged\nevaluators: [{type: semantic, rubric: 'Is it polite?', judgements: 3}]\n"
        "cases: [{id: a, input: hi, expected: Hello!}, {id: b, input: hey, expected: Hello!}]\n"
    )
    verdicts = [0.8, 0.8, 0.9, 0.2, 0.9, 0.5]  # a: alike within 0.1; b: spread
    judge = scripted(*(json.dumps({"score": v, "reason": "as seen"}) for v in verdicts))
    outcome = asyncio.run(
        runner(database, scenario, scripted("Hello!", "Hello!"), judge=judge, concurrency=1).run()
    )
    result = RunReport.of(outcome, threshold=0.5)
    consistency = result.judges["semantic"]
    assert (consistency.outputs, consistency.agreeing) == (2, 1)
    assert sorted(e.score for e in outcome.executions) == pytest.approx(
        [(0.2 + 0.9 + 0.5) / 3, (0.8 + 0.8 + 0.9) / 3]
    )
    assert "judge semantic: consistency | 1 of 2 outputs judged alike within 0.1" in result.markdown()
