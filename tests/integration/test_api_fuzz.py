"""The HTTP APIs as their OpenAPI document describes them, checked by schemathesis against a real
`chatdash serve` (the scripted model; SQLite, and PostgreSQL when CHATDASH_TEST_DATABASE_URL is set).

Every operation, with an API key and without one, every check (``--checks all``): no 5xx, every
status declared, every body (error bodies and stream events included) matching its schema, requests
the schema allows accepted and the ones it refuses refused. A fixed seed and a bounded number of
examples keep it to a couple of minutes per database; the counts are printed (``pytest -s``) and kept
with each run's report in ``test-artifacts/``.

To reproduce a failure by hand: start ``chatdash serve`` with the environment of ``server`` below and
run the ``st run`` command a failure shows (with ``SCHEMATHESIS_HOOKS=tests.integration.fuzz_hooks``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database, dashboard_url
from tests.e2e.processes import running, wait_healthy
from tests.faults.servers import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
"""Where each run's report (counts, failures by kind) is kept: ``schemathesis-<database>-<run>.json``."""
SEED = 20261126
EXAMPLES = 50
"""Examples per operation and phase with the API key (a fifth of that without one: every answer is 401)."""


@dataclass
class Server:
    url: str
    token: str
    log: Path


def chatdash(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    command = [str(BIN / "chatdash"), *args]
    done = subprocess.run(command, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"chatdash {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    """`chatdash serve` on the test database, with sales data and a user whose key comes from the CLI."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_DATABASE_URL": dashboard_url(database),
        "CHATDASH_VAR_DIR": str(tmp_path / "var"),
        "CHATDASH_LLM_PROVIDER": "scripted",
        "CHATDASH_ALLOW_SCRIPTED_MODEL": "true",
        "CHATDASH_API_RATE_LIMIT": "1000000/second",
        "CHATDASH_CHAT_REPLY_LEASE_SECONDS": "2",  # a reply with no writer (POST .../turns) ends soon
        "CHATDASH_SESSION_SECRET": "fuzz-" + "x" * 40,
    }
    chatdash(env, tmp_path, "data", "generate", "--rows", "2000", "--seed", "7")
    chatdash(env, tmp_path, "users", "create", "fuzz", "--password-stdin", stdin="long enough password\n")
    created = chatdash(env, tmp_path, "keys", "create", "schemathesis", "--user", "fuzz")
    token = created.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    with running([str(BIN / "chatdash"), "serve", "--port", str(port)], env, tmp_path, log) as process:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url + "/healthz", process, log)
        yield Server(url, token, log)


def schemathesis(server: Server, folder: Path, examples: int, *headers: str) -> dict[str, Any]:
    """One ``st run`` over every operation; its JSON report."""
    report = folder / "report.json"
    command = [str(BIN / "st"), "run", server.url + "/openapi.json", "--checks", "all", "--seed", str(SEED)]
    command += ["--max-examples", str(examples), "--generation-database", "none", "--request-timeout", "30"]
    command += ["--no-color", "--report", "json", "--report-json-path", str(report)]
    for header in headers:
        command += ["--header", header]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    folder.mkdir()
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=600)
    shown = shlex.join(command).replace(server.token, "$TOKEN")
    assert report.exists(), f"{shown}\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(report.read_text())
    result["output"] = f"$ {shown}\n{done.stdout.replace(server.token, '$TOKEN')}\n{done.stderr}"
    return result


@pytest.mark.timeout(900)
def test_every_operation_answers_as_its_openapi_document_says(
    server: Server, database: Database, tmp_path: Path
) -> None:
    runs = {
        "with-key": schemathesis(server, tmp_path / "key", EXAMPLES, f"Authorization: Bearer {server.token}"),
        "without-key": schemathesis(server, tmp_path / "anonymous", EXAMPLES // 5),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    for name, run in runs.items():
        cases = run["test_cases"]
        summary = (
            f"schemathesis on {database.backend}, {name}: {run['operations']['tested']} operations, "
            f"{cases['generated']} cases, {cases['with_failures']} failing ({cases['unique_failures']} "
            f"unique), {cases['errored']} errors"
        )
        print("\n" + summary)
        report = {key: value for key, value in run.items() if key != "output"} | {"summary": summary}
        (ARTIFACTS / f"schemathesis-{database.backend}-{name}.json").write_text(json.dumps(report, indent=1))
    for name, run in runs.items():
        cases = run["test_cases"]
        failed = cases["with_failures"] or cases["errored"] or run["errors"] or run["exit_code"] != 0
        assert not failed, f"{name}:\n{run['output']}\n--- chatdash serve:\n{server.log.read_text()[-5000:]}"
        assert cases["generated"] > 0 and run["complete"], run["output"]
