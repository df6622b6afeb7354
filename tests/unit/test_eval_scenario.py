"""Scenario files: a valid file becomes cases with the scenario's variables and pins; every mistake is
a ScenarioError naming the file and the line, before anything runs; cases from JSONL and CSV files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chatdash.evals.scenario import ScenarioError, load_scenario, parse_scenario

GOOD = """\
name: support
pipeline: chat
repeat: 3
threshold: 0.7
vars: {product: Nimbus}
pinned: {sales_query: null}
evaluators:
  - {type: terms, all: [reset button, 3 seconds], weight: 2}
assertions:
  - {below: 0.3, at_most: 0.2}
cases:
  - {id: reset, input: "How do I reset it?", expected: Hold the reset button for 3 seconds}
  - input: And the lights?
    vars: {product: Nimbus R2}
"""


def test_a_scenario_becomes_its_cases_with_shared_variables_and_pins() -> None:
    scenario = parse_scenario(GOOD)
    assert scenario.name == "support" and scenario.spec.repeat == 3
    first, second = scenario.cases
    assert (first.id, first.input, first.vars, first.pinned) == (
        "reset",
        "How do I reset it?",
        {"product": "Nimbus"},
        {"sales_query": None},
    )
    assert (second.id, second.vars) == ("case-2", {"product": "Nimbus R2"})  # a case's own vars win
    assert str(scenario.spec.assertions[0]) == "at most 20% of executions below 0.3"
    assert [s["type"] for s in scenario.pipeline_table()["steps"]][-1] == "llm"  # the shipped chat file


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("repeat: 3", "repeat: 0"), 3, "repeat: Input should be greater than or equal to 1"),
        (("threshold: 0.7", "treshold: 0.7"), 4, "treshold: unknown key"),
        (("  - {below: 0.3, at_most: 0.2}", "  - {below: 3, at_most: 0.2}"), 10, "assertions.0.below"),
        (("  - {type: terms,", "  - {kind: terms,"), 8, "evaluators.0.type: Field required"),
        (("  - input: And the lights?", "  - inpt: And the lights?"), 13, "cases.1.input: Field required"),
        (("name: support", "name: two words"), 1, "name: String should match pattern"),
    ],
)
def test_a_mistake_names_the_line(change: tuple[str, str], line: int, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(GOOD.replace(*change), Path("s.yaml"))
    assert str(caught.value).startswith(f"s.yaml, line {line}: "), str(caught.value)
    assert message in str(caught.value)


def test_not_yaml_duplicates_and_no_cases_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"line 2: not valid YAML"):
        parse_scenario("name: x\n  - broken: [", Path("s.yaml"))
    with pytest.raises(ScenarioError, match="the case id 'reset' is used twice"):
        parse_scenario(
            GOOD.replace("  - input: And the lights?", "  - id: reset\n    input: And the lights?")
        )
    with pytest.raises(ScenarioError, match="no test cases"):
        parse_scenario("name: x\nevaluators: [{type: exact}]\n")
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path / "missing.yaml")


def test_cases_from_jsonl_and_csv_files_beside_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a", "input": "Hello", "expected": "Hi"}\n\n{"input": "Bye", "vars": {"tone": "warm"}}\n'
    )
    (tmp_path / "cases.csv").write_text("id,input,expected,tone\nc,Morning,Good morning,cheerful\n")
    head = "name: files\nvars: {tone: dry}\nevaluators: [{type: exact}]\n"
    (tmp_path / "j.yaml").write_text(head + "cases_file: cases.jsonl\n")
    (tmp_path / "c.yaml").write_text(head + "cases_file: cases.csv\n")
    a, b = load_scenario(tmp_path / "j.yaml").cases
    assert (a.id, a.expected, a.vars, b.id, b.vars) == (
        "a",
        "Hi",
        {"tone": "dry"},
        "case-2",
        {"tone": "warm"},
    )
    (c,) = load_scenario(tmp_path / "c.yaml").cases
    assert (c.id, c.input, c.expected, c.vars) == ("c", "Morning", "Good morning", {"tone": "cheerful"})
    (tmp_path / "cases.jsonl").write_text('{"input": "x"}\n{"input": 3, "oops": 1}\n')
    with pytest.raises(ScenarioError, match=r"cases.jsonl, line 2: unknown key\(s\) oops"):
        load_scenario(tmp_path / "j.yaml")
    (tmp_path / "cases.jsonl").write_text("not json\n")
    with pytest.raises(ScenarioError, match=r"cases.jsonl, line 1: not JSON"):
        load_scenario(tmp_path / "j.yaml")


def test_an_inline_pipeline_is_the_engines_own_table() -> None:
    text = textwrap.dedent(
        """\
        name: inline
        pipeline:
          inputs: [audience]
          steps:
            - {type: llm, name: draft, system: "Write for {{ audience }}."}
        evaluators: [{type: exact}]
        cases: [{input: hi, vars: {audience: kids}}]
        """
    )
    scenario = parse_scenario(text)
    assert scenario.pipeline_table()["steps"][0]["name"] == "draft"
