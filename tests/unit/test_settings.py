from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatdash.config import SETTING_FIELDS, Settings, load_settings
from chatdash.errors import ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets: no CHATDASH_* from the caller's shell, no .env from the checkout."""
    import os

    for name in list(os.environ):
        if name.startswith("CHATDASH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings()
    assert settings.effective_database_url == "sqlite:///var/chatdash.db"
    assert settings.redis_url is None and settings.qdrant_url is None
    assert settings.llm_base_url is None
    assert settings.api_rate_limit == "1/10seconds"


def test_environment_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATDASH_API_RATE_LIMIT=5 per minute\nCHATDASH_VAR_DIR=data\n")
    monkeypatch.setenv("CHATDASH_DATABASE_URL", "postgres://me@db:5432/sales")
    settings = load_settings()
    assert settings.api_rate_limit == "5 per minute"
    assert settings.effective_database_url == "postgresql+psycopg://me@db:5432/sales"
    assert settings.var_dir == Path("data")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db", "supported drivers: sqlite, postgresql"),
        ("DATABASE_URL", "just-a-path.db", "expected sqlite:///"),
        ("REDIS_URL", "localhost:6379", "expected redis://"),
        ("LLM_BASE_URL", "127.0.0.1:8080", "expected an http:// or https:// URL"),
        ("API_RATE_LIMIT", "fast", "expected a rate like 1/10seconds"),
        ("EMBEDDINGS", "bert", "wordllama"),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(f"CHATDASH_{variable}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"CHATDASH_{variable}:" in message
    assert expected in message


def readme_settings() -> dict[str, str]:
    """The README's settings table: variable name (without the prefix) -> its default cell."""
    rows = re.findall(r"^\| `CHATDASH_([A-Z_]+)` \| ([^|]+) \|", README.read_text(), re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_readme_documents_every_setting() -> None:
    """The README's settings table and the Settings class list the same names."""
    assert set(readme_settings()) == {name.upper() for name in SETTING_FIELDS}
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no docstring"


def test_readme_defaults_are_the_settings_defaults() -> None:
    """Each row's default is the Settings default: `value` as written, or "unset..." for None/empty."""
    documented = readme_settings()
    for name, field in Settings.model_fields.items():
        default, cell = field.default, documented[name.upper()]
        if default is None or default == "":
            assert cell.startswith("unset"), f"CHATDASH_{name.upper()}: README says {cell}, Settings: unset"
            continue
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert cell == f"`{shown}`", f"CHATDASH_{name.upper()}: README says {cell}, Settings: {shown}"
