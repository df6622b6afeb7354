"""SIGTERM on a real `chatdash serve` mid-reply: the process drains before it stops. `/readyz` answers 503
at once, a new reply is refused with 503 + Retry-After, reads still work, the reply being written ends
whole (stored `complete`) within the grace period, or is saved `stopped` when the grace is shorter than
the reply; then the process exits. Its log is JSON lines, the request's with its request id."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.faults.servers import Process, Stream, chatdash_serve, slow_model, until
from tests.faults.test_faults import api_key, client_for, env_for, message, row

pytestmark = pytest.mark.timeout(180)

WORDS = 40
DELAY = 0.1
FULL_TEXT = " ".join(f"w{i}" for i in range(WORDS)) + " "
ASK = {"messages": [{"role": "user", "content": "another question"}]}


@pytest.fixture
def model(tmp_path: Path) -> Iterator[Process]:
    lm = slow_model(tmp_path / "model.log", words=WORDS, delay=DELAY)
    lm.start()
    yield lm
    lm.stop()


def stored(database_url: str, message_id: int) -> tuple[str, str]:
    """The reply's status and text as the database holds them once the process is gone."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT status, content FROM messages WHERE id = :id"), {"id": message_id}
            ).one()
    finally:
        engine.dispose()
    return str(found[0]), str(found[1])


def json_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def serve(tmp_path: Path, model: Process, grace: float) -> tuple[Process, str, str]:
    database_url = f"sqlite:///{tmp_path / 'chatdash.db'}"
    env = env_for(
        tmp_path / "var",
        database_url,
        model,
        api_rate_limit="100/second",
        shutdown_grace_seconds=str(grace),
        log_format="json",
    )
    app = chatdash_serve(env, tmp_path / "app.log")
    app.start()
    return app, api_key(env), database_url


def test_sigterm_lets_the_reply_finish(tmp_path: Path, model: Process) -> None:
    app, key, database_url = serve(tmp_path, model, grace=30)
    try:
        with client_for(app, key) as client:
            stream = Stream(client, "Tell me a long story").start()
            chat_id, message_id = stream.ids()
            until(lambda: stream.deltas() >= 3, 10)
            assert app.process is not None
            app.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            ready = until(lambda: (answer := client.get("/readyz")).status_code == 503 and answer, 5)
            not_ready_after = time.monotonic() - signalled
            refused = client.post("/api/chat", json=ASK)
            during = message(client, chat_id, message_id)  # reads are still served
            stream.join(30)
            status = app.process.wait(30)
            exited_after = time.monotonic() - signalled
    finally:
        app.stop()
    assert ready.json()["checks"] == {"shutdown": "draining: finishing the replies in flight, starting none"}
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"].isdigit()
    assert "shutting down" in refused.json()["detail"]
    assert refused.headers["X-Request-ID"]
    assert during["status"] == "streaming"
    assert stream.failure is None, stream.failure
    assert stream.events[-1][0] == "done" and stream.events[-1][1]["status"] == "complete"
    assert stream.text_streamed() == FULL_TEXT
    assert stored(database_url, message_id) == ("complete", FULL_TEXT)
    assert status in (0, -signal.SIGTERM), status
    logged = json_lines(tmp_path / "app.log")
    chat_lines = [line for line in logged if line.get("path") == "/api/chat"]
    assert {line["status"] for line in chat_lines} == {200, 503}, chat_lines
    assert all(len(line["request_id"]) == 32 and line["user_id"] for line in chat_lines), chat_lines
    assert any("shutting down: 1 replies finished" in line["event"] for line in logged), logged[-5:]
    row(
        "SIGTERM to `chatdash serve` mid-reply (grace 30 s)",
        f"`/readyz` 503 after {not_ready_after:.2f} s; a new reply 503 + Retry-After; the stream ends `done`",
        "the whole reply, `complete`",
        f"the process exited {exited_after:.1f} s after the signal, once the reply had ended",
    )


def test_sigterm_stops_a_reply_longer_than_the_grace(tmp_path: Path, model: Process) -> None:
    app, key, database_url = serve(tmp_path, model, grace=1)
    try:
        with client_for(app, key) as client:
            stream = Stream(client, "Tell me a long story").start()
            _, message_id = stream.ids()
            until(lambda: stream.deltas() >= 3, 10)
            assert app.process is not None
            app.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            stream.join(30)
            status = app.process.wait(30)
            exited_after = time.monotonic() - signalled
    finally:
        app.stop()
    state, content = stored(database_url, message_id)
    assert state == "stopped" and content and FULL_TEXT.startswith(content) and content != FULL_TEXT
    assert stream.events[-1][0] == "done" and stream.events[-1][1]["status"] == "stopped", stream.events[-1]
    assert status in (0, -signal.SIGTERM), status
    assert exited_after < 1 + 10, exited_after
    row(
        "SIGTERM to `chatdash serve` mid-reply (grace 1 s, reply ~4 s)",
        "the stream ends `done` with status `stopped` after the grace",
        f"the text written so far ({len(content)} chars), `stopped`; retry writes it whole",
        f"the process exited {exited_after:.1f} s after the signal",
    )
