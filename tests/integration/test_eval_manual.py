"""What people add to the test bed after a run, on SQLite and PostgreSQL: a manual score given later
makes the execution's combined score whole (the runner's weighting, checked by hand here), and a
production trace becomes a test case that the scenario's next run executes (the scripted model behind
the real chat pipeline, as in test_eval_runner)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from chatdash.config import load_settings
from chatdash.db.engine import session_factory
from chatdash.db.models import EvalCase, EvalExecution, EvalManualScore, Trace, User
from chatdash.errors import Conflict, InvalidInput, NotFound
from chatdash.evals import (
    Case,
    Runner,
    add_case_from_trace,
    added_cases,
    give_manual_score,
    list_added_cases,
    load_outcome,
    parse_scenario,
    pending_manual,
    queries,
    remove_case,
)
from chatdash.llm import create
from tests.conftest import Database

pytestmark = pytest.mark.timeout(180)

SCENARIO = """\
name: support
pipeline: chat
repeat: 2
threshold: 0.7
vars: {product: Router X}
evaluators:
  - {type: terms, all: [fine], weight: 3}
  - {type: manual, name: tone, instructions: "Is the reply polite?"}
cases:
  - {id: hello, input: "Hello there", expected: "I am fine"}
"""


def run(db: Database, scenario: str, *replies: str) -> Any:
    provider = create("scripted", replies=list(replies))
    settings = load_settings(database_url=db.url)
    runner = Runner(parse_scenario(scenario), engine=db.engine, settings=settings, provider=provider)
    return runner, asyncio.run(runner.run())


def add_user(db: Database, name: str = "alice") -> int:
    with session_factory(db.engine).begin() as session:
        user = User(username=name, is_admin=True)
        session.add(user)
        session.flush()
        return user.id


def add_trace(db: Database, trace_id: str, text: str, *, pipeline: str = "chat") -> None:
    now = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    with session_factory(db.engine).begin() as session:
        session.add(
            Trace(
                id=trace_id,
                source="web",
                pipeline=pipeline,
                input=text,
                output="Some reply.",
                status="complete",
                started_at=now,
                ended_at=now,
                latency_ms=10.0,
                message_id=7,
            )
        )


def test_a_manual_score_given_later_completes_the_combined_score(database: Database) -> None:
    alice = add_user(database)
    _, outcome = run(database, SCENARIO, "I am fine, thanks.", "Not great.")
    assert sorted(e.score for e in outcome.executions) == [0.0, 1.0]  # provisional: terms alone
    waiting = pending_manual(database.engine)
    assert len(waiting) == 2
    assert {(p.case_id, p.evaluator, p.instructions) for p in waiting} == {
        ("hello", "tone", "Is the reply polite?")
    }
    item = next(p for p in waiting if p.output == "Not great.")
    assert (item.input, item.expected, item.scenario, item.provisional) == (
        "Hello there",
        "I am fine",
        "support",
        0.0,
    )
    assert queries.runs(database.engine)[0].waiting == 2

    total = give_manual_score(database.engine, item.execution_id, "tone", 0.8, " curt ", alice)
    # weighted mean: terms 0 x3, tone 0.8 x1
    assert total.status == "scored" and total.value == pytest.approx((3 * 0.0 + 1 * 0.8) / 4)
    with session_factory(database.engine)() as session:
        stored = session.get(EvalExecution, item.execution_id)
        assert stored is not None
        assert stored.score == pytest.approx(0.2) and stored.status == "scored"
        tone = next(s for s in json.loads(stored.scores) if s["evaluator"] == "tone")
        assert tone == {
            "evaluator": "tone",
            "type": "manual",
            "weight": 1.0,
            "value": 0.8,
            "status": "scored",
            "reason": "a person's score: curt",
        }
        given = session.scalars(select(EvalManualScore)).all()
        assert [(g.execution_id, g.evaluator, g.score, g.comment, g.user_id) for g in given] == [
            (item.execution_id, "tone", 0.8, "curt", alice)
        ]
    assert [p.output for p in pending_manual(database.engine)] == ["I am fine, thanks."]
    assert load_outcome(database.engine, outcome.run_id).scores() == {
        "hello": pytest.approx([0.2, 1.0]) if item.repeat == 0 else pytest.approx([1.0, 0.2])
    }

    again = give_manual_score(database.engine, item.execution_id, "tone", 1.0, None, alice)  # replaces
    assert again.value == pytest.approx(0.25)
    with session_factory(database.engine)() as session:
        assert [(g.score, g.comment) for g in session.scalars(select(EvalManualScore))] == [(1.0, None)]

    with pytest.raises(InvalidInput, match="from 0 to 1"):
        give_manual_score(database.engine, item.execution_id, "tone", 1.5, None, alice)
    with pytest.raises(InvalidInput, match="no manual evaluator 'terms'"):
        give_manual_score(database.engine, item.execution_id, "terms", 0.5, None, alice)
    with pytest.raises(NotFound):
        give_manual_score(database.engine, 10_000, "tone", 0.5, None, alice)


def test_only_manual_scores_make_the_execution_pending_until_given(database: Database) -> None:
    scenario = SCENARIO.replace("  - {type: terms, all: [fine], weight: 3}\n", "").replace(
        "repeat: 2", "repeat: 1"
    )
    _, outcome = run(database, scenario, "Hi.")
    (execution,) = outcome.executions
    assert (execution.score, execution.status) == (None, "pending")
    (item,) = pending_manual(database.engine, scenario="support")
    assert pending_manual(database.engine, scenario="other") == []
    total = give_manual_score(database.engine, item.execution_id, "tone", 0.6, "", None)
    assert (total.value, total.status) == (0.6, "scored")
    assert [(e.score, e.status) for e in load_outcome(database.engine, outcome.run_id).executions] == [
        (0.6, "scored")
    ]
    (row,) = queries.runs(database.engine)
    assert (row.mean, row.scored, row.waiting, row.passes, row.pass_rate) == (0.6, 1, 0, 0, 0.0)


def test_a_trace_becomes_a_case_the_next_run_executes(database: Database) -> None:
    alice = add_user(database)
    add_trace(database, "a" * 32, "Why is my router blinking?")
    add_trace(database, "b" * 32, "   ")
    case = add_case_from_trace(database.engine, "support", "a" * 32, "Restart it", alice)
    assert case == Case(id="prod-aaaaaaaa", input="Why is my router blinking?", expected="Restart it")
    with session_factory(database.engine)() as session:
        (row,) = session.scalars(select(EvalCase)).all()
        assert (row.scenario, row.case_id, row.trace_id, row.message_id, row.added_by) == (
            "support",
            "prod-aaaaaaaa",
            "a" * 32,
            7,
            alice,
        )
        assert json.loads(row.expected or "null") == "Restart it"
    with pytest.raises(Conflict, match="already has a case 'prod-aaaaaaaa'"):
        add_case_from_trace(database.engine, "support", "a" * 32, "Restart it", alice)
    structured = add_case_from_trace(
        database.engine, "support", "a" * 32, {"value": 3}, None, case_id="blink-2"
    )
    assert structured.expected == {"value": 3}
    with pytest.raises(InvalidInput, match="has no input"):
        add_case_from_trace(database.engine, "support", "b" * 32, "x", alice)
    with pytest.raises(NotFound, match="no trace"):
        add_case_from_trace(database.engine, "support", "c" * 32, "x", alice)
    with pytest.raises(InvalidInput, match="cannot be a scenario's name"):
        add_case_from_trace(database.engine, "no spaces please", "a" * 32, "x", alice)
    assert [c.id for c in added_cases(database.engine, "support")] == ["prod-aaaaaaaa", "blink-2"]
    assert added_cases(database.engine, "other") == []
    assert queries.scenario_names(database.engine) == ["support"]

    runner, outcome = run(database, SCENARIO, *["fine"] * 6)
    cases = runner.cases()
    assert [c.id for c in cases] == ["hello", "prod-aaaaaaaa", "blink-2"]
    assert cases[1].vars == {"product": "Router X"}  # the scenario's shared variables, as its own cases
    assert {(e.case_id, e.input) for e in outcome.executions} == {
        ("hello", "Hello there"),
        ("prod-aaaaaaaa", "Why is my router blinking?"),
        ("blink-2", "Why is my router blinking?"),
    }
    assert len(outcome.executions) == 6  # 3 cases x 2 repeats
    assert queries.runs(database.engine)[0].cases == 3

    # An added case that takes a file case's id would clash in storage: the run refuses to start.
    add_case_from_trace(database.engine, "support", "a" * 32, "x", alice, case_id="hello")
    with pytest.raises(InvalidInput, match="'hello' added from production has the id"):
        runner.cases()
    remove_case(database.engine, "support", "hello")
    assert [a.case.id for a in list_added_cases(database.engine, "support")] == ["prod-aaaaaaaa", "blink-2"]
    with pytest.raises(NotFound):
        remove_case(database.engine, "support", "hello")
