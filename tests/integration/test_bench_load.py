"""`chatdash bench load` for real: Locust's users against a `chatdash serve` process (SQLite file, the
scripted model allowed on purpose), and the refusal of the scripted model when it is not allowed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdash.bench.load import api_interval, split_users
from chatdash.chat import users
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.errors import ConfigError
from chatdash.llm import create, get_provider
from tests.faults.servers import Process, chatdash_serve, free_port

CHATDASH = str(Path(sys.executable).with_name("chatdash"))
NON_MODEL = {
    "GET / (sign-in page)",
    "POST /signin",
    "GET /c",
    "GET /c/[chat]",
    "GET /chats",
    "GET /chats/[chat]/messages",
}
MODEL = {"POST /c/[chat]/send", "GET /c/[chat]/m/[message]/events", "POST /api/chat"}


def app_env(home: Path, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_DATABASE_URL": f"sqlite:///{home / 'var' / 'chatdash.db'}",
        "CHATDASH_SESSION_SECRET": "load-" + "x" * 40,
        "CHATDASH_LLM_PROVIDER": "scripted",
    }
    return env | {f"CHATDASH_{name.upper()}": value for name, value in settings.items()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Process, dict[str, str]]]:
    if importlib.util.find_spec("locust") is None:  # found, not imported: Locust patches the stdlib
        pytest.skip("locust is not installed (a dev dependency: pip install -e '.[dev]')")
    env = app_env(tmp_path, allow_scripted_model="true", api_rate_limit="1000/second")
    init = [CHATDASH, "init", "--rows", "2000"]
    subprocess.run(init, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    process = chatdash_serve(env, tmp_path / "serve.log")
    process.start()
    try:
        yield process, env
    finally:
        process.stop()


def test_a_short_run_drives_every_route_without_a_failure(
    server: tuple[Process, dict[str, str]], tmp_path: Path
) -> None:
    process, env = server
    # 10 s: each web user's sign-in verifies an argon2 hash, which takes the first seconds of a busy
    # 2-core machine; every route is still reached after it.
    args = [CHATDASH, "bench", "load", "--users", "10", "--seconds", "10", "--think", "0.3"]
    args += ["--url", process.url, "--json"]
    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["name"] == "load"
    assert (result["users"], result["web_users"], result["api_users"], result["seconds"]) == (10, 8, 2, 10)
    assert (result["model"], result["model_source"]) == ("scripted", "the server's traces")
    assert result["scripted_model"] is True
    assert set(result["routes"]) == NON_MODEL, result["routes"]
    assert set(result["model_routes"]) == MODEL, result["model_routes"]
    for route, row in {**result["routes"], **result["model_routes"]}.items():
        assert row["requests"] > 0 and row["rps"] > 0, route
        assert row["failures"] == 0, (route, row.get("first_failure"))
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"], route
    assert result["routes"]["POST /signin"]["requests"] == 8  # each web user signs in once
    for streamed in ("GET /c/[chat]/m/[message]/events", "POST /api/chat"):
        first, whole = result["model_routes"][streamed]["first_text"], result["model_routes"][streamed]
        assert 0 < first["p50_ms"] <= whole["max_ms"]
    assert (result["failures"], result["errors"], result["user_errors"]) == (0, 0, [])
    totals = result["totals"]
    assert result["requests"] == totals["non_model"]["requests"] + totals["model"]["requests"]
    assert totals["non_model"]["requests"] == sum(r["requests"] for r in result["routes"].values())
    assert result["median_ms"] > 0
    assert 0 < result["ramp_s"] < result["wall_s"]
    if result["steady"]:  # after every sign-in: the same figures, without the ramp
        assert "POST /signin" not in result["steady"]["routes"]
        assert 0 < result["steady"]["requests"] < result["requests"]
    assert result["accounts_prefix"].startswith("bench-load-")
    assert result["load_generator"]["tool"].startswith("locust ")

    engine = make_engine(env["CHATDASH_DATABASE_URL"])
    try:  # made in the server's own database
        made = [a for a in users.list_accounts(engine) if a.username.startswith(result["accounts_prefix"])]
    finally:
        engine.dispose()
    assert len(made) == 11  # and one more that warms the server up


def test_the_scripted_model_is_refused_unless_allowed(tmp_path: Path) -> None:
    env = app_env(tmp_path)
    serve = [CHATDASH, "serve", "--port", str(free_port())]
    done = subprocess.run(serve, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "CHATDASH_LLM_PROVIDER=scripted" in done.stderr, done.stderr
    assert "CHATDASH_ALLOW_SCRIPTED_MODEL=true" in done.stderr

    # The settings-driven path refuses; a provider object made on purpose (tests, benchmarks) does not.
    with pytest.raises(ConfigError, match="CHATDASH_ALLOW_SCRIPTED_MODEL"):
        get_provider(Settings(llm_provider="scripted"))
    assert get_provider(Settings(llm_provider="scripted", allow_scripted_model=True)).id == "scripted"
    assert create("scripted").id == "scripted"


def test_the_user_mix_and_the_pace_of_api_clients() -> None:
    assert split_users(100, 0.2) == 20
    assert (split_users(10, 0.2), split_users(2, 0.2), split_users(2, 0.9)) == (2, 1, 1)
    assert (split_users(1, 0.2), split_users(5, 0.0), split_users(5, 1.0)) == (0, 0, 5)
    assert api_interval("1/10seconds") == pytest.approx(10.5)
    assert api_interval("60 per minute") == pytest.approx(1.05)
