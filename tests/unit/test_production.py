"""CHATDASH_ENVIRONMENT=production refuses what is unsafe to serve with, naming every setting at once:
at the settings (``check_production``), at the app factory and at `chatdash serve` before it touches
the database. Development refuses nothing."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatdash.config import load_settings
from chatdash.errors import ConfigError

STRONG = secrets.token_hex(32)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CHATDASH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def refusal(role: str = "all", **settings: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environment="production", **settings).check_production(role)
    return str(caught.value)


def test_development_refuses_nothing() -> None:
    load_settings(auth="open", llm_provider="scripted").check_production("db-api")


def test_a_strong_production_setup_starts() -> None:
    settings = load_settings(environment="production", session_secret=STRONG)
    settings.check_production("all")
    settings.check_production("ui")
    load_settings(
        environment="production", session_secret=STRONG, db_api_key=secrets.token_urlsafe(32)
    ).check_production("db-api")


def test_every_problem_is_named_at_once() -> None:
    message = refusal("ui", db_api_url="http://db-api:8001", auth="open", llm_provider="scripted")
    assert message.startswith("CHATDASH_ENVIRONMENT=production: refusing to start")
    for name in ("SESSION_SECRET", "DB_API_KEY", "AUTH", "LLM_PROVIDER"):
        assert f"CHATDASH_{name}:" in message, message
    assert "openssl rand -hex 32" in message


def test_the_session_secret_is_required() -> None:
    message = refusal()
    assert "CHATDASH_SESSION_SECRET: unset" in message
    assert "DB_API_KEY" not in message  # no data API here


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("change-me", "only 9 characters, at least 32"),
        ("change-me-change-me-change-me-change-me", "a placeholder"),
        ("CHANGEME" + STRONG, "a placeholder"),
        ("your-session-secret-goes-here-please-1234", "a placeholder"),
        ("a" * 64, "a placeholder"),
        ("   ", "unset"),
    ],
)
def test_a_weak_session_secret_is_refused(secret: str, why: str) -> None:
    message = refusal(session_secret=secret)
    assert f"CHATDASH_SESSION_SECRET: {why}" in message, message


@pytest.mark.parametrize(("role", "db_api_url"), [("db-api", None), ("ui", "http://db-api:8001")])
def test_a_data_api_needs_its_key(role: str, db_api_url: str | None) -> None:
    message = refusal(role, session_secret=STRONG, db_api_url=db_api_url)
    assert "CHATDASH_DB_API_KEY: unset" in message
    assert "SESSION_SECRET" not in message
    weak = refusal(role, session_secret=STRONG, db_api_url=db_api_url, db_api_key="short")
    assert "CHATDASH_DB_API_KEY: only 5 characters" in weak


def test_open_sign_in_is_refused() -> None:
    assert "CHATDASH_AUTH: `open`" in refusal(session_secret=STRONG, auth="open")


def test_the_scripted_model_only_when_allowed() -> None:
    assert "CHATDASH_LLM_PROVIDER: `scripted`" in refusal(session_secret=STRONG, llm_provider="scripted")
    load_settings(
        environment="production", session_secret=STRONG, llm_provider="scripted", allow_scripted_model=True
    ).check_production()


def test_the_app_factory_refuses_before_opening_anything(tmp_path: Path) -> None:
    from chatdash.chat.app import create_app

    settings = load_settings(environment="production", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match="CHATDASH_SESSION_SECRET"):
        create_app(settings)
    assert not (tmp_path / "x.db").exists()


def test_chatdash_serve_refuses_with_every_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chatdash.cli import app
    from chatdash.config import get_settings

    monkeypatch.setenv("CHATDASH_ENVIRONMENT", "production")
    monkeypatch.setenv("CHATDASH_AUTH", "open")
    monkeypatch.setenv("CHATDASH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--role", "db-api", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    for name in ("SESSION_SECRET", "DB_API_KEY", "AUTH"):
        assert f"CHATDASH_{name}:" in output, output
    assert not (tmp_path / "x.db").exists()  # refused before the migrations ran
