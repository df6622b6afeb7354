"""`chatdash traces list|show`, as an operator runs them, on each backend's real database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from chatdash.chat import users
from chatdash.cli import app
from chatdash.tracing import new_trace_id, write_traces
from tests.conftest import Database, cli, dashboard_url
from tests.unit.test_tracing_records import QUESTION, REPLY, sample_trace

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cli_db(cli_env: Path, database: Database, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI on the test database of each backend (a PostgreSQL schema travels in the URL)."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    return database.engine


def fails(*args: str) -> str:
    """Run `chatdash ARGS...`: it must fail with exit 1 and one clear message, no traceback."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_list_shows_the_newest_traces_of_everyone_or_of_one_user(cli_db: Engine) -> None:
    assert "no traces yet" in cli("traces", "list")
    alice = users.create_user(cli_db, "alice", None).id
    bob = users.create_user(cli_db, "bob", None).id
    now = dt.datetime.now(dt.UTC)
    older = sample_trace(alice, started=now - dt.timedelta(minutes=5))
    newer = sample_trace(bob, started=now, status="error", source="web")
    write_traces(cli_db, [older, newer])

    listed = cli("traces", "list")
    for heading in ("id", "time (UTC)", "user", "source", "status", "latency", "model", "prompt", "tokens"):
        assert heading in listed
    assert listed.index(newer.id) < listed.index(older.id)  # newest first
    row = next(line for line in listed.splitlines() if older.id in line)
    for cell in ("alice", "api", "complete", "850 ms", "smollm2-135m-instruct", "chat-system@3", "42 → 17"):
        assert cell in row, (cell, row)
    assert "bob" in next(line for line in listed.splitlines() if newer.id in line)

    only_alice = cli("traces", "list", "--user", "alice")
    assert older.id in only_alice and newer.id not in only_alice
    assert newer.id in cli("traces", "list", "--limit", "1") and older.id not in cli(
        "traces", "list", "--limit", "1"
    )
    assert "no user 'carol'" in fails("traces", "list", "--user", "carol")

    rows = json.loads(cli("traces", "list", "--json"))
    assert [r["id"] for r in rows] == [newer.id, older.id]
    assert rows[1]["username"] == "alice" and rows[1]["prompt_version"] == 3 and "spans" not in rows[1]


def test_show_prints_a_trace_and_its_span_tree(cli_db: Engine) -> None:
    alice = users.create_user(cli_db, "alice", None).id
    trace = sample_trace(alice)
    trace.spans[2].error = "the model stopped early"
    write_traces(cli_db, [trace])

    shown = cli("traces", "show", trace.id)
    for text in (
        trace.id,
        "alice",
        "api · chat",
        QUESTION,
        REPLY,
        "chat-system@3",
        "first token 120 ms",
        "shown",
    ):
        assert text in shown, text
    assert "steps (3)" in shown
    lines = shown.splitlines()
    root = next(i for i, line in enumerate(lines) if "chat" in line and "pipeline" in line)
    retrieve = next(i for i, line in enumerate(lines) if "retrieve" in line and "40 ms" in line)
    llm = next(i for i, line in enumerate(lines) if "llm" in line and "780 ms" in line)
    assert root < retrieve < llm
    indent = lines[root].index("chat")
    assert lines[retrieve].index("retrieve") > indent and lines[llm].index("llm") > indent  # under the run
    assert "the model stopped early" in shown and '"finish_reason": "stop"' in shown
    assert "42 → 17 tokens" in lines[llm]

    data = json.loads(cli("traces", "show", trace.id.upper(), "--json"))
    assert data["id"] == trace.id and data["username"] == "alice"
    assert [span["name"] for span in data["spans"]] == ["chat", "retrieve", "llm"]
    assert data["spans"][1]["output"][0]["id"] == "doc-1"


def test_show_an_unknown_trace_fails_with_a_clear_message(cli_db: Engine) -> None:
    unknown = new_trace_id()
    said = fails("traces", "show", unknown)
    assert f"no trace '{unknown}'" in said and "chatdash traces list" in said
    assert "no trace" in fails("traces", "show", "nonsense", "--json")
