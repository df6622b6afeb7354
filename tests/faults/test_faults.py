"""Faults on real processes: ``kill -9`` of ``chatdash serve`` mid-reply, PostgreSQL stopped and started
under replies and list requests, Redis stopped and started, the model server killed mid-reply. Clients
never see a 500 or a reset; no reply stays ``streaming`` past its lease; nothing written is lost; the
app recovers without a restart. Each test prints its row of the fault table (run with ``-s``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.servers import Process, Stream, chatdash_serve, postgres, redis, slow_model, until

LEASE = 3.0
WORDS = 40
FULL_TEXT = " ".join(f"w{i}" for i in range(WORDS)) + " "


def env_for(home: Path, database_url: str, model: Process, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_")}
    env.update(
        CHATDASH_VAR_DIR=str(home),
        CHATDASH_DATABASE_URL=database_url,
        CHATDASH_LLM_BASE_URL=model.url + "/v1",
        CHATDASH_CHAT_REPLY_LEASE_SECONDS=str(LEASE),
        CHATDASH_SESSION_SECRET="fault-tests-" + "s" * 32,
        **{f"CHATDASH_{name.upper()}": value for name, value in settings.items()},
    )
    return env


def api_key(env: dict[str, str]) -> str:
    chatdash = Path(sys.executable).with_name("chatdash")
    account = [str(chatdash), "users", "create", "alice", "--password-stdin"]
    made = subprocess.run(account, env=env, input="long enough password\n", capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [str(chatdash), "keys", "create", "faults", "--user", "alice"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def row(fault: str, clients: str, stored: str, recovery: str) -> None:
    print(f"\n| {fault} | {clients} | {stored} | {recovery} |")


def _words(text: str) -> str:
    """``text`` when it has ten words or more (a truthy probe for ``until``), else empty."""
    return text if len(text.split()) >= 10 else ""


def message(client: httpx.Client, chat_id: str, message_id: int) -> dict[str, Any]:
    answer = client.get(f"/chats/{chat_id}/messages/{message_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def client_for(app: Process, key: str) -> httpx.Client:
    return httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def model(tmp_path: Path) -> Iterator[Process]:
    lm = slow_model(tmp_path / "model.log", words=WORDS, delay=0.1)
    lm.start()
    yield lm
    lm.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chatdash.db'}"
        return
    with postgres() as cluster:
        yield cluster.url


def test_kill_9_mid_reply_then_restart(tmp_path: Path, model: Process, database_url: str) -> None:
    env = env_for(tmp_path / "var", database_url, model)
    app = chatdash_serve(env, tmp_path / "app.log")
    app.start()
    key = api_key(env)
    try:
        with client_for(app, key) as client:
            stream = Stream(client, "Tell me a long story").start()
            chat_id, message_id = stream.ids()
            # Ten words in: at least one partial save (every 0.5 s) has landed.
            seen = until(lambda: _words(message(client, chat_id, message_id)["content"]), 10)
            app.kill()
            killed = time.monotonic()
            app.start()
            while (read := message(client, chat_id, message_id))["status"] == "streaming":
                time.sleep(0.1)
            recovered = time.monotonic() - killed
            assert read["status"] == "stopped" and "interrupted" in read["error"]
            saved = read["content"]
            assert saved and seen.startswith(saved) and saved != FULL_TEXT  # what was saved is kept
            assert recovered <= LEASE + 10
            retried = client.post(f"/chats/{chat_id}/messages/{message_id}/retry")
            assert retried.status_code == 202, retried.text
            until(lambda: message(client, chat_id, message_id)["status"] == "complete", 30, 0.2)
            assert message(client, chat_id, message_id)["content"] == FULL_TEXT
        row(
            f"`kill -9` of `chatdash serve` mid-reply, restarted at once ({database_url.split(':')[0]})",
            "the stream breaks (the process is gone); after the restart the reply reads `streaming`,"
            " then `stopped`",
            f"the partial text saved before the kill ({len(saved)} chars), `stopped`/interrupted;"
            " retry writes it whole",
            f"{recovered:.1f} s from the kill to `stopped` (lease {LEASE:g} s + restart)",
        )
    finally:
        app.stop()


def test_postgresql_stopped_and_started_under_replies_and_lists(tmp_path: Path, model: Process) -> None:
    with postgres() as cluster:
        env = env_for(tmp_path / "var", cluster.url, model)
        app = chatdash_serve(env, tmp_path / "app.log")
        app.start()
        key = api_key(env)
        try:
            with client_for(app, key) as client, client_for(app, key) as lister:
                statuses: list[int] = []
                listing = threading.Event()

                def list_chats() -> None:
                    while not listing.is_set():
                        answer = lister.get("/chats")
                        statuses.append(answer.status_code)
                        if answer.status_code == 503:
                            assert answer.headers["Retry-After"].isdigit()
                            assert "database is unavailable" in answer.json()["detail"]
                        time.sleep(0.05)

                lists = threading.Thread(target=list_chats, daemon=True)
                lists.start()
                stream = Stream(client, "Tell me a long story").start()
                chat_id, message_id = stream.ids()
                until(lambda: stream.deltas() >= 3, 10)
                cluster.stop()
                down = client.get(f"/chats/{chat_id}/messages/{message_id}")
                ready = client.get("/readyz")
                until(lambda: stream.deltas() >= WORDS, 20)  # the model finishes while the database is down
                time.sleep(1.0)
                cluster.start()
                back = time.monotonic()
                until(
                    lambda: statuses and statuses[-1] == 200 and client.get("/chats").status_code == 200, 30
                )
                recovered = time.monotonic() - back
                stream.join(30)
                listing.set()
                lists.join(10)
                final = message(client, chat_id, message_id)
        finally:
            app.stop()
    assert down.status_code == 503 and down.headers["Retry-After"].isdigit(), down.text
    assert ready.status_code == 503
    assert stream.failure is None, stream.failure
    assert stream.events[-1][0] == "done", stream.events[-1]
    assert (final["status"], final["content"]) == ("complete", FULL_TEXT)  # the final save, retried, landed
    assert set(statuses) <= {200, 503} and 503 in statuses and statuses[-1] == 200, sorted(set(statuses))
    row(
        "PostgreSQL stopped (`pg_ctl stop -m fast`) mid-reply, started ~5 s later",
        f"lists: {statuses.count(503)} x 503 + Retry-After naming the database,"
        f" {statuses.count(200)} x 200, no 500;"
        " the stream goes on and ends `done` once saved",
        "the whole reply, `complete` (the final save retried until the database was back)",
        f"{recovered:.1f} s from the database's start to the first 200",
    )


def test_redis_stopped_and_started(tmp_path: Path, model: Process) -> None:
    with redis() as server:
        env = env_for(tmp_path / "var", f"sqlite:///{tmp_path / 'chatdash.db'}", model, redis_url=server.url)
        app = chatdash_serve(env, tmp_path / "app.log")
        app.start()
        key = api_key(env)
        body = {"messages": [{"role": "user", "content": "hello"}]}
        try:
            with client_for(app, key) as client:
                assert client.get("/readyz").status_code == 200
                server.stop()
                ready = client.get("/readyz")
                during = client.post("/api/chat", json=body, timeout=60)
                server.start()
                back = time.monotonic()
                until(lambda: client.get("/readyz").status_code == 200, 30, 0.2)
                recovered = time.monotonic() - back
                after = client.post("/api/chat", json=body, timeout=60)
        finally:
            app.stop()
    assert ready.status_code == 503 and "redis" in ready.text.lower(), ready.text
    assert during.status_code == 200, during.text  # the default policy: fail open to per-process limits
    assert during.json()["message"]["content"] == FULL_TEXT
    assert after.status_code == 200 and "RateLimit-Remaining" in after.headers, after.headers
    row(
        "Redis killed, started again",
        "`/readyz` 503 naming Redis; `/api/chat` 200 (fail-open: per-process limits, logged)",
        "every reply, `complete`",
        f"{recovered:.1f} s from Redis's start to `/readyz` 200",
    )


def test_model_server_killed_mid_reply(tmp_path: Path, model: Process) -> None:
    env = env_for(tmp_path / "var", f"sqlite:///{tmp_path / 'chatdash.db'}", model)
    app = chatdash_serve(env, tmp_path / "app.log")
    app.start()
    key = api_key(env)
    try:
        with client_for(app, key) as client:
            stream = Stream(client, "Tell me a long story").start()
            chat_id, message_id = stream.ids()
            until(lambda: stream.deltas() >= 5, 10)
            model.kill()
            stream.join(30)
            failed = message(client, chat_id, message_id)
            model.start()
            back = time.monotonic()
            assert client.post(f"/chats/{chat_id}/messages/{message_id}/retry").status_code == 202
            until(lambda: message(client, chat_id, message_id)["status"] == "complete", 30, 0.2)
            recovered = time.monotonic() - back
            assert message(client, chat_id, message_id)["content"] == FULL_TEXT
    finally:
        app.stop()
    assert stream.events[-1][0] == "error", stream.events[-1]
    assert failed["status"] == "error" and failed["content"].startswith("w0 w1 w2 w3 w4"), failed
    row(
        "the model server killed (`kill -9`) mid-reply",
        "the stream ends with an `error` event naming the model server",
        f"the partial text ({len(failed['content'])} chars), `error`;"
        " retry after the restart writes it whole",
        f"{recovered:.1f} s from the model's restart to the retried reply complete",
    )
