"""A promptfoo config imported as a scenario: each test a case with its rendered prompt as the input
and its asserts as the case's own evaluators (defaultTest's as the scenario's), notes for what is not
imported; the scenario then runs through the Runner and through `chatdash eval`."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import load_settings
from chatdash.evals.promptfoo import import_promptfoo, scenario_yaml
from chatdash.evals.runner import Runner
from chatdash.evals.scenario import ScenarioError, parse_scenario
from chatdash.llm import create
from chatdash.memory import VectorStore
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames
from tests.conftest import Database

pytestmark = pytest.mark.timeout(300)

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "promptfoo-example" / "promptfooconfig.yaml"


def own(case: dict[str, Any]) -> list[dict[str, Any]]:
    return case.get("evaluators", [])


def test_the_example_maps_every_assert_it_can_and_notes_the_rest() -> None:
    data, notes = import_promptfoo(EXAMPLE)
    assert (data["name"], data["pipeline"], data["threshold"]) == ("sales-assistant-smoke-test", "chat", 1.0)
    assert data["evaluators"] == [{"type": "latency", "max_ms": 30000}]  # defaultTest: every case
    cases = {case["id"]: case for case in data["cases"]}
    assert list(cases) == [
        "greeting",
        "revenue-in-2019",
        "electronics-orders",
        "top-products",
        "revenue-as-json",
        "thanks",
        "compare-years",  # the two from more-tests.csv
        "short-greeting",
    ]
    greeting = cases["greeting"]
    assert greeting["input"] == "Hello! What can you help me with?"  # "{{question}}" rendered
    assert greeting["vars"] == {"question": "Hello! What can you help me with?"}
    assert own(greeting) == [
        {"type": "terms", "any": ["hello", "hi", "welcome", "help"], "case_sensitive": False},
        {
            "type": "semantic",
            "rubric": "A friendly greeting that offers help, with no invented sales figures.",
            "weight": 2,
        },
    ]
    assert own(cases["revenue-in-2019"]) == [
        {"type": "terms", "all": ["revenue"], "case_sensitive": False},
        {"type": "regex", "pattern": r"\$[\d,]+\.\d{2}"},
    ]
    # "{{category}}" in an assert value is filled from the test's vars; not-contains is not imported
    assert own(cases["electronics-orders"]) == [
        {"type": "terms", "all": ["orders", "Electronics"], "case_sensitive": False, "min_share": 1.0}
    ]
    (top,) = own(cases["top-products"])  # cost is not imported
    assert (top["type"], top["case_sensitive"], top["weight"], len(top["any"])) == ("terms", True, 2, 8)
    assert own(cases["revenue-as-json"]) == [
        {"type": "json_schema", "schema": {"type": "object", "required": ["revenue"]}}
    ]
    assert own(cases["thanks"]) == [
        {
            "type": "semantic",
            "method": "embedding",
            "expected": "You're welcome! Ask me anything about your sales.",
        }
    ]
    assert own(cases["compare-years"]) == [{"type": "terms", "all": ["2023"], "case_sensitive": False}]
    assert own(cases["short-greeting"]) == [
        {"type": "terms", "any": ["Hello", "Hi", "Hey"], "case_sensitive": True}
    ]
    assert "not imported: not-contains (1 case)" in notes
    assert "not imported: javascript (1 case)" in notes
    assert "not imported: cost (1 case)" in notes
    assert "a test's own threshold not imported: the scenario's (1.0) applies (1 case)" in notes
    assert "similar: threshold not imported (chatdash keeps the score itself) (1 case)" in notes
    assert any(note.startswith("providers ignored (openai:chat:qwen2.5-0.5b-instruct)") for note in notes)
    scenario = parse_scenario(scenario_yaml(data, notes, source=str(EXAMPLE)))
    assert [len(c.evaluators) for c in scenario.cases] == [2, 2, 1, 1, 1, 1, 1, 1]


def test_templates_files_list_vars_and_what_cannot_be_imported(tmp_path: Path) -> None:
    (tmp_path / "chat.json").write_text(
        '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sales of {{product}}?"}]'
    )
    (tmp_path / "tests.yaml").write_text(
        "- description: laptops\n  vars: {product: Laptop}\n"
        "  assert: [{type: icontains, value: '{{product}}', metric: named}]\n"
    )
    (tmp_path / "rows.csv").write_text(
        "product,__expected,__expected2,__note\nDesk,similar(0.8): desks sold,fn: output.length > 3,x\n"
        "Pen,Pens: 12,is-json,y\n"
    )
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            prompts: [file://chat.json, "Other: {{product}}"]
            defaultTest:
              vars: {region: north}
              assert: [{type: contains, value: x, weight: 0}]
              threshold: 0.6
            evaluateOptions: {repeat: 3, maxConcurrency: 2}
            tests:
              - vars: {product: [Chair, Cabinet]}
                assert: [{type: llm-rubric, value: "Mentions {{product}} in {{region}}", threshold: 0.5}]
              - file://tests.yaml
              - file://rows.csv
            """
        )
    )
    data, notes = import_promptfoo(config, name="imported")
    assert (data["name"], data["repeat"], data["threshold"], data["evaluators"]) == ("imported", 3, 0.6, [])
    ids = [case["id"] for case in data["cases"]]
    assert ids == ["test-1-1", "test-1-2", "laptops", "test-3", "test-4"]
    chair, cabinet, laptops, desk, pen = data["cases"]
    assert (chair["input"], cabinet["input"]) == ("Sales of Chair?", "Sales of Cabinet?")  # the user message
    assert cabinet["vars"] == {"region": "north", "product": "Cabinet"}
    assert own(cabinet) == [{"type": "semantic", "rubric": "Mentions Cabinet in north"}]
    assert own(laptops) == [{"type": "terms", "all": ["Laptop"], "case_sensitive": False, "name": "named"}]
    assert own(desk) == [{"type": "semantic", "method": "embedding", "expected": "desks sold"}]
    assert own(pen) == [  # a cell that is no assertion type means equals
        {"type": "exact", "value": "Pens: 12", "case_sensitive": True, "normalize": False},
        {"type": "json_schema", "schema": {}},
    ]
    for note in (
        "only the first of 2 prompts is imported",
        "ignored: evaluateOptions.maxConcurrency",
        "ignored: the CSV column __note",
        "not imported: contains (5 cases)",  # weight 0, from defaultTest: every case
        "contains: weight 0: chatdash weights are above 0",
        "not imported: javascript (1 case)",
        "llm-rubric: threshold not imported (chatdash keeps the score itself) (2 cases)",
        "only the prompt's last user message is imported",
    ):
        assert any(line.startswith(note) for line in notes), (note, notes)

    config.write_text("prompts: ['Hi {{name}}']\ntests: [{vars: {other: 1}}]\n")
    with pytest.raises(ScenarioError, match="test 'test 1': a variable is missing: 'name' is undefined"):
        import_promptfoo(config)
    config.write_text("prompts: ['Hi']\ntests: [{vars: {a: 1}}]\n")  # a case without any evaluator
    with pytest.raises(ScenarioError, match="every case its own"):
        import_promptfoo(config)


def test_the_imported_scenario_runs_with_its_cases_own_evaluators(database: Database, tmp_path: Path) -> None:
    load_frames(database.engine, [generate_frame(2_000, 3)], replace=True)
    data, notes = import_promptfoo(EXAMPLE)
    scenario = parse_scenario(scenario_yaml(data, notes))
    settings = load_settings(database_url=database.url, var_dir=tmp_path)
    memory = VectorStore.open(settings)  # embeds for the `similar` assert
    judge = create("scripted", replies=['{"score": 0.9, "reason": "friendly"}'] * 5)
    try:
        runner = Runner(
            scenario,
            engine=database.engine,
            settings=settings,
            provider=create("scripted"),  # echoes the message
            judge=judge,
            memory=memory,
        )
        outcome = asyncio.run(runner.run())
    finally:
        memory.close()
    by_case = {e.case_id: e for e in outcome.executions}
    assert set(by_case) == {case["id"] for case in data["cases"]}
    for execution in outcome.executions:  # the scenario's latency budget, then the case's own
        case = next(c for c in data["cases"] if c["id"] == execution.case_id)
        assert [s["type"] for s in execution.scores] == ["latency"] + [e["type"] for e in case["evaluators"]]
        assert execution.status == "scored", (execution.case_id, execution.scores)
    greeting = by_case["greeting"]
    assert "You said: Hello!" in greeting.output
    assert [s["value"] for s in greeting.scores] == [1.0, 1.0, 0.9]
    assert greeting.score == pytest.approx((1 + 1 + 2 * 0.9) / 4)
    assert by_case["short-greeting"].score == 1.0  # "Hi there" echoed: "Hi" found
    assert by_case["revenue-as-json"].score == 0.5  # within the budget, but not JSON


def test_the_cli_imports_and_runs_the_example(cli_env: Path) -> None:
    cli = CliRunner()
    env = {"CHATDASH_LLM_PROVIDER": "scripted", "CHATDASH_ALLOW_SCRIPTED_MODEL": "true"}
    assert cli.invoke(app, ["init", "--rows", "0"], env=env).exit_code == 0
    imported = cli.invoke(
        app, ["eval", "import-promptfoo", str(EXAMPLE), "--out", "s.yaml", "--name", "pf"], env=env
    )
    assert imported.exit_code == 0, imported.output
    assert "wrote s.yaml: scenario pf, 8 cases" in imported.output
    assert "note: not imported: javascript (1 case)" in imported.output
    assert (cli_env / "s.yaml").read_text().startswith(f"# Imported from {EXAMPLE}")
    ran = cli.invoke(app, ["eval", "run", "s.yaml"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "mean score" in ran.output
    printed = cli.invoke(app, ["eval", "import-promptfoo", str(EXAMPLE)], env=env)
    assert printed.exit_code == 0 and "name: sales-assistant-smoke-test" in printed.output
    bad = cli_env / "bad.yaml"
    bad.write_text("prompts: ['{{missing}}']\ntests: [{assert: [{type: equals, value: x}]}]\n")
    failed = cli.invoke(app, ["eval", "import-promptfoo", str(bad)], env=env)
    assert failed.exit_code == 1 and "a variable is missing" in failed.output


def test_a_scenario_may_leave_its_evaluators_to_every_case() -> None:
    both = (
        "name: own\nevaluators: [{type: terms, all: [a]}]\n"
        "cases: [{input: hi, evaluators: [{type: exact, value: hi}]}]\n"
    )
    (case,) = parse_scenario(both).cases
    assert case.evaluators == ({"type": "exact", "value": "hi"},)
    only_cases = "name: own\ncases:\n  - {id: a, input: hi, evaluators: [{type: exact, value: hi}]}\n"
    assert parse_scenario(only_cases).evaluators == []
    with pytest.raises(ScenarioError, match=r"every case its own \(without any: b\)"):
        parse_scenario(only_cases + "  - {id: b, input: bye}\n")
    with pytest.raises(ScenarioError, match="cases from generate are scored by the scenario's"):
        parse_scenario("name: own\ngenerate: sales\n")
