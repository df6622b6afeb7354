"""`chatdash keys` and `chatdash serve` as an operator uses them: keys made on the command line open the
API of a real `chatdash serve` process (real model, SQLite file), and the second call within 10 s is 429."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from chatdash.cli import app
from tests.conftest import cli

runner = CliRunner()


run = cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_keys_create_list_revoke_and_serve(cli_env: Path) -> None:
    run("init", "--rows", "0")
    token = run("keys", "create", "reporting script").strip().splitlines()[-1]
    assert token.startswith("cd_")
    listing = run("keys", "list")
    assert "reporting script" in listing and "admin" in listing and "never" in listing
    assert token not in listing

    port = free_port()
    env = {**os.environ, "CHATDASH_CHAT_MAX_TOKENS": "8"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chatdash"), "serve", "--port", str(port)],
        cwd=cli_env,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"messages": [{"role": "user", "content": "Say hi."}]}
        first = httpx.post(base + "/api/chat", json=body, headers=headers, timeout=120)
        assert first.status_code == 200, first.text
        assert first.json()["message"]["content"].strip()
        second = httpx.post(base + "/api/chat", json=body, headers=headers, timeout=120)
        assert second.status_code == 429 and second.headers["Retry-After"]
        assert httpx.post(base + "/api/chat", json=body).status_code == 401
        # The sign-in limit per address: a local client cannot dodge it by claiming other addresses
        # (no proxy is trusted by default).
        with httpx.Client(base_url=base) as browser:
            statuses = []
            for attempt in range(11):
                page = browser.get("/").text
                csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                form = {"csrf": csrf, "username": f"guess{attempt}", "password": "wrong password"}
                spoofed = {"X-Forwarded-For": f"203.0.113.{attempt}"}
                statuses.append(browser.post("/signin", data=form, headers=spoofed).status_code)
            assert statuses[:10] == [400] * 10 and statuses[10] == 429, statuses
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert "never" not in run("keys", "list")  # last-used time recorded
    run("keys", "revoke", "1")
    assert "revoked key 1" in run("keys", "revoke", "1")  # idempotent
    result = runner.invoke(app, ["keys", "revoke", "99"])
    assert result.exit_code == 1 and "no API key 99" in result.output
    result = runner.invoke(app, ["serve", "--role", "nope"])
    assert result.exit_code != 0


def test_users_sign_out_names_a_missing_user(cli_env: Path) -> None:
    run("init", "--rows", "0")
    result = runner.invoke(app, ["users", "sign-out", "nobody"])
    assert result.exit_code == 1 and "no user 'nobody'" in result.output
    run("keys", "create", "a key", "--user", "alice")
    assert "signed out alice everywhere" in run("users", "sign-out", "alice")
