"""`chatdash dashboard`: its options and the Streamlit command it becomes (the e2e test runs it)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.cli import dashboard as command
from chatdash.dashboard import SERVER_PATH

runner = CliRunner()


def test_serves_headless_under_the_base_path(monkeypatch: pytest.MonkeyPatch) -> None:
    became: list[list[str]] = []
    monkeypatch.setattr(command.os, "execv", lambda path, argv: became.append(argv))
    result = runner.invoke(app, ["dashboard", "--port", "8601", "--base-path", "/dashboard/"])
    assert result.exit_code == 0, result.output
    assert "dashboard: http://127.0.0.1:8601/dashboard/ " in result.output
    assert "http://127.0.0.1:8601/dashboard/_stcore/health" in result.output
    argv = became[0]
    assert argv[1:5] == ["-m", "chatdash.dashboard.launch", "run", str(SERVER_PATH)]
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options == {
        "--server.address": "127.0.0.1",
        "--server.port": "8601",
        "--server.baseUrlPath": "dashboard",
        "--server.headless": "true",
        "--server.fileWatcherType": "none",
        "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "viewer",
    }


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    became: list[list[str]] = []
    monkeypatch.setattr(command.os, "execv", lambda path, argv: became.append(argv))
    result = runner.invoke(app, ["dashboard"])
    assert result.exit_code == 0, result.output
    assert "dashboard: http://127.0.0.1:8501/ " in result.output
    assert became[0][became[0].index("--server.baseUrlPath") + 1] == ""


@pytest.mark.parametrize(
    ("given", "expected"), [("", ""), ("/", ""), ("dashboard", "dashboard"), ("/bi/sales/", "bi/sales")]
)
def test_base_path_forms(given: str, expected: str) -> None:
    assert command.base_path_of(given) == expected


def test_a_base_path_that_is_not_a_path_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command.os, "execv", lambda path, argv: pytest.fail("must not start"))
    result = runner.invoke(app, ["dashboard", "--base-path", "/dash board?x=1"])
    assert result.exit_code == 2
    assert "is not a URL path like /dashboard" in result.output
