"""Gated prompt promotion: the scenario runs with the label's current version and with the candidate
(the scripted model answers well or badly depending on the system prompt it is sent); a significantly
worse candidate is refused and the label stays, an equal or better one is promoted; the CLI wires it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import load_settings
from chatdash.evals.gate import GateResult, decide, gate_promotion
from chatdash.evals.scenario import parse_scenario
from chatdash.evals.stats import compare
from chatdash.llm import Message, create
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.prompts import PromptContent, get_prompt, install_shipped, promote, push_prompt
from tests.conftest import Database

pytestmark = pytest.mark.timeout(240)

# Eight cases: the paired sign-flip test can call a difference significant from six cases up.
SCENARIO = "name: gate\nrepeat: 1\nevaluators: [{type: terms, all: [fine]}]\ncases:\n" + "".join(
    f"  - {{id: c{n}, input: 'Message number {n}'}}\n" for n in range(8)
)


def answer(messages: list[Message]) -> str:
    """Well for every system prompt but one that says BAD."""
    system = messages[0].content if messages and messages[0].role == "system" else ""
    return "No." if "BAD" in system else "All fine, thanks."


def model(calls: int = 200) -> ScriptedProvider:
    provider = create("scripted", replies=[answer] * calls)
    assert isinstance(provider, ScriptedProvider)
    return provider


def gate(database: Database, version: int, **options: Any) -> GateResult:
    run = gate_promotion(
        parse_scenario(SCENARIO),
        name="chat-system",
        version=version,
        label="production",
        engine=database.engine,
        settings=load_settings(database_url=database.url),
        provider=model(),
        **options,
    )
    return asyncio.run(run)


def production(database: Database) -> int:
    return get_prompt(database.engine, "chat-system@production").version


def test_a_worse_candidate_is_refused_and_an_equal_or_better_one_promoted(database: Database) -> None:
    install_shipped(database.engine)  # chat-system v1 is production
    for text in ("BAD: answer curtly.", "Answer kindly."):
        push_prompt(database.engine, PromptContent.parse({"name": "chat-system", "text": text}))

    worse = gate(database, 2)
    assert (worse.promote, worse.current, worse.candidate) == (False, 1, 2)
    assert worse.comparison is not None and worse.comparison.verdict == "worse"
    assert worse.reason.startswith("v2 against v1 (production now): refused: significantly worse")
    assert "mean difference -1.000 (95% CI -1.000 to -1.000), p = 0.00781" in worse.reason
    assert worse.reason.endswith("; production stays at v1")
    assert production(database) == 1  # the gate decides; it never moves the label itself
    assert worse.runs is not None and len(set(worse.runs)) == 2

    equal = gate(database, 3)
    assert equal.promote and equal.comparison is not None
    assert equal.comparison.verdict == "no significant difference"
    assert "mean difference +0.000" in equal.reason

    tolerated = gate(database, 2, min_effect=1.0)
    assert tolerated.promote and "worse, but by no more than --min-effect 1" in tolerated.reason

    promote(database.engine, "chat-system", 2, "production")  # now the bad one is in production
    better = gate(database, 3)
    assert better.promote and better.comparison is not None and better.comparison.verdict == "better"

    same = gate(database, 2)
    assert (same.promote, same.comparison, same.reason) == (
        True,
        None,
        "chat-system@production already points at v2",
    )
    first = gate_promotion(
        parse_scenario(SCENARIO),
        name="chat-system",
        version=3,
        label="staging",
        engine=database.engine,
        settings=load_settings(database_url=database.url),
        provider=model(),
    )
    assert asyncio.run(first).reason == "chat-system has no label staging yet: nothing to compare with"


def test_decide_states_the_difference_either_way() -> None:
    scores_a = {f"c{n}": [1.0, 1.0] for n in range(8)}
    scores_b = {f"c{n}": [0.9, 0.9] for n in range(8)}
    comparison = compare(scores_a, scores_b)
    assert comparison.verdict == "worse"
    refused, why = decide(comparison)
    assert not refused and why.startswith("refused: significantly worse (alpha 0.05): mean difference -0.100")
    allowed, why = decide(comparison, min_effect=0.1)
    assert allowed and why.startswith("worse, but by no more than --min-effect 0.1")


def test_the_cli_promotes_only_through_the_gate(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = CliRunner()
    assert cli.invoke(app, ["init", "--rows", "0"]).exit_code == 0
    monkeypatch.setattr("chatdash.cli.prompts.get_provider", lambda settings: model())
    (cli_env / "gate.yaml").write_text(SCENARIO)
    for n, text in ((2, "BAD: answer curtly."), (3, "Answer kindly.")):
        (cli_env / f"v{n}.toml").write_text(f'name = "chat-system"\ntext = "{text}"\n')
        assert cli.invoke(app, ["prompts", "push", f"v{n}.toml"]).exit_code == 0

    refused = cli.invoke(app, ["prompts", "promote", "chat-system", "2", "production", "--gate", "gate.yaml"])
    assert refused.exit_code == 1, refused.output
    assert "running gate with chat-system@1 (current)" in refused.output
    assert "verdict" in refused.output and "worse" in refused.output  # the comparison table
    assert "refused: significantly worse" in refused.output and "production stays at v1" in refused.output
    shown = cli.invoke(app, ["prompts", "show", "chat-system@production"])
    assert "chat-system v1" in shown.output

    promoted = cli.invoke(
        app, ["prompts", "promote", "chat-system", "3", "production", "--gate", "gate.yaml", "--repeat", "2"]
    )
    assert promoted.exit_code == 0, promoted.output
    assert "no significant difference" in promoted.output
    assert "chat-system: production → v3 (was v1)" in promoted.output
