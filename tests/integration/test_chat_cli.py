"""`chatdash keys` and `chatdash serve` as an operator uses them: keys made on the command line open the
API of a real `chatdash serve` process (real model, SQLite file), and the second call within 10 s is 429.
A key acts for an existing account, so what is asked through the API shows in that person's web UI."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from chatdash.chat import users
from chatdash.cli import app
from tests.conftest import Database, cli, dashboard_url
from tests.integration.chat_helpers import api

runner = CliRunner()


run = cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PASSWORD = "long enough password"


def add_user(name: str, *options: str) -> None:
    made = runner.invoke(app, ["users", "create", name, "--password-stdin", *options], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output


def test_keys_create_list_revoke_and_serve(cli_env: Path) -> None:
    run("init", "--rows", "0")
    add_user("ann")
    token = run("keys", "create", "reporting script").strip().splitlines()[-1]
    assert token.startswith("cd_")
    listing = run("keys", "list")
    assert "reporting script" in listing and "ann" in listing and "never" in listing
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
    add_user("alice")
    run("keys", "create", "a key", "--user", "alice")
    assert "signed out alice everywhere" in run("users", "sign-out", "alice")


def test_a_key_acts_for_an_existing_account_and_its_chats_show_in_their_web_ui(
    cli_env: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No account is made behind the operator's back: a key is for a named user, or the only admin."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    nobody = runner.invoke(app, ["keys", "create", "demo"])
    assert nobody.exit_code == 1
    assert nobody.output.strip() == (
        "error: no admin to own the key: name its user with --user NAME, or create an admin first with "
        "`chatdash users create NAME --admin`"
    )
    unknown = runner.invoke(app, ["keys", "create", "demo", "--user", "ann"])
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: no user 'ann'; create one with `chatdash users create ann`"
    assert users.list_accounts(database.engine) == []

    add_user("ann")  # the first account: an admin
    made = run("keys", "create", "demo")
    assert "for ann" in made
    token = made.strip().splitlines()[-1]
    with api(database, "Hello from the API.") as a:
        asked = a.client.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": "Asked through the API"}]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert asked.status_code == 200, asked.text
        chat_id = asked.json()["conversation_id"]
        page = a.client.get("/").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "username": "ann", "password": PASSWORD, "action": "signin"}
        assert a.client.post("/signin", data=form, follow_redirects=False).status_code == 303
        chats = a.client.get("/c")
        assert chats.status_code == 200 and f"/c/{chat_id}" in chats.text  # ann's web UI lists it

    add_user("cy", "--admin")
    two = runner.invoke(app, ["keys", "create", "demo"])
    assert two.exit_code == 1
    assert two.output.strip() == "error: there are 2 admins (ann, cy): name the key's user with --user NAME"
    assert "for cy" in run("keys", "create", "demo", "--user", "cy")
    add_user("bob")
    assert "for bob" in run("keys", "create", "demo", "--user", "bob")  # any account, admin or not
