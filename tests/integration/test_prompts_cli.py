"""`chatdash prompts list|show|push|promote|diff` and `chatdash init`'s shipped prompts, as an operator
runs them, on each backend's real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.prompts import get_prompt, prompt_versions, shipped_prompts
from tests.conftest import Database, cli, dashboard_url

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


def test_init_pushes_the_shipped_prompts_once(cli_db: Engine) -> None:
    first = cli("init", "--rows", "0")
    assert "prompts: chat-system v1 (new, production)" in first
    second = cli("init", "--rows", "0")
    assert "prompts: chat-system v1," in second and "new" not in second.split("ready:")[0]
    for name in shipped_prompts():
        assert [v.version for v in prompt_versions(cli_db, name)] == [1]
        assert get_prompt(cli_db, f"{name}@production").version == 1
    listed = cli("prompts", "list")
    assert "chat-system" in listed and "latest → v1, production → v1" in listed


def test_push_show_promote_diff_round_trip(cli_db: Engine, cli_env: Path) -> None:
    cli("init", "--rows", "0")
    path = cli_env / "chat-system.toml"
    path.write_text(
        'name = "chat-system"\nvariables = ["figures"]\n'
        'text = """You are chatdash v2.\n{{ figures }}\n"""\n[params]\ntemperature = 0.1\n',
        encoding="utf-8",
    )
    assert cli("prompts", "push", str(path)).strip() == "pushed chat-system v2 (latest)"
    assert cli("prompts", "push", str(path)).strip() == "chat-system: unchanged, the same as v2"
    assert get_prompt(cli_db, "chat-system").version == 1  # a push alone changes nothing in use

    shown = cli("prompts", "show", "chat-system@latest")
    assert "chat-system v2" in shown and "latest" in shown and '{"temperature": 0.1}' in shown
    assert "You are chatdash v2.\n{{ figures }}" in shown

    promoted = cli("prompts", "promote", "chat-system", "2", "production")
    assert promoted.strip() == "chat-system: production → v2 (was v1)"
    assert get_prompt(cli_db, "chat-system").version == 2
    assert "chat-system v1" in cli("prompts", "show", "chat-system@1")

    diff = cli("prompts", "diff", "chat-system", "1", "2")
    assert diff.startswith("--- chat-system@1\n+++ chat-system@2\n")
    assert "+You are chatdash v2.\n" in diff and "-You are chatdash, a helpful assistant" in diff
    assert "have the same text" in cli("prompts", "diff", "chat-system", "2", "2")

    cli("init", "--rows", "0")  # the shipped file is v1 already: nothing new, production stays on v2
    assert [v.version for v in prompt_versions(cli_db, "chat-system")] == [1, 2]
    assert get_prompt(cli_db, "chat-system").version == 2

    staged = cli_env / "staged.toml"
    staged.write_text('name = "chat-system"\ntext = "v3"\n', encoding="utf-8")
    assert cli("prompts", "push", str(staged), "--label", "staging").strip() == (
        "pushed chat-system v3 (latest, staging)"
    )


def test_errors_are_one_clear_message(cli_db: Engine, cli_env: Path) -> None:
    cli("init", "--rows", "0")
    assert "error: no prompt 'nope'; the registry has: chat-system" in fails("prompts", "show", "nope")
    assert "has no label 'staging'; its labels: latest (v1), production (v1)" in fails(
        "prompts", "show", "chat-system@staging"
    )
    assert "prompt 'chat-system' has no version 9" in fails(
        "prompts", "promote", "chat-system", "9", "production"
    )
    assert "'latest' always names the newest version" in fails(
        "prompts", "promote", "chat-system", "1", "latest"
    )
    bad = cli_env / "bad.toml"
    bad.write_text('name = "chat-system"\ntext = "{% if x %}"\n', encoding="utf-8")
    assert "bad.toml: template does not compile" in fails("prompts", "push", str(bad))
    assert "cannot be read" in fails("prompts", "push", str(cli_env / "missing.toml"))
    assert "expected a .toml prompt file" in fails("prompts", "push", str(cli_env / "prompt.txt"))
