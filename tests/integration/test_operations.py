"""Running the app: JSON logs with request ids, Prometheus metrics at /metrics, and the drain a SIGTERM
starts (in process here; tests/faults/test_drain.py sends the real signal to a real `chatdash serve`).
TestClient over a real database, replies from the scripted model."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from chatdash.cli import logs
from chatdash.config import load_settings
from chatdash.llm.providers.scripted import ScriptedProvider
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api

ASK = {"messages": [{"role": "user", "content": "Hello?"}]}
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The process's logging as `chatdash serve` sets it up, in JSON, into a buffer; the records so far."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in logs.CHATTY}
    buffer = io.StringIO()
    logs.configure(load_settings(log_format="json", log_level="INFO"), stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    root.handlers[:], level, chatty = saved
    root.setLevel(level)
    for name, value in chatty.items():
        logging.getLogger(name).setLevel(value)
    structlog.reset_defaults()


def request_lines(records: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("logger") == "chatdash.requests" and r["request_id"] == request_id]


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


def value(text: str, name: str, **labels: str) -> float:
    """A sample of the exposition, 0 when it is not there yet (a counter not moved before)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def until(probe: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.01)
    raise AssertionError(f"not within {seconds} s")


def held(gate: threading.Event) -> Callable[[object], str]:
    """A reply that keeps the model busy (on its worker thread) until ``gate`` opens."""

    def reply(_messages: object) -> str:
        gate.wait(30)
        return "Held on."

    return reply


# -- logs --------------------------------------------------------------------------------------


def test_a_request_is_one_json_line_with_its_id(database: Database, json_logs: Callable[[], Any]) -> None:
    with api(database) as a:
        user_id, headers = a.user_key("alice")
        chat_id = a.client.post("/chats", json={}, headers=headers).json()["id"]
        answer = a.client.get(f"/chats/{chat_id}", headers=headers)
        request_id = answer.headers["X-Request-ID"]
        assert HEX32.fullmatch(request_id)
        [line] = request_lines(json_logs(), request_id)
    assert line["event"] == "GET /chats/{chat_id} 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/chats/{chat_id}", 200)
    assert line["user_id"] == user_id and line["client"] == "testclient"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["timestamp"].endswith("Z")
    assert chat_id not in json.dumps(line)  # the route template, not the path with its id


def test_a_well_formed_request_id_is_kept_a_malformed_one_replaced(
    database: Database, json_logs: Callable[[], Any]
) -> None:
    nginx = secrets.token_hex(16)  # what nginx's $request_id looks like
    kept = [nginx, "0b5c1f6e-3d7a-4c1e-9f3b-2a6d8e4c7b10", "01J9ZK3V7Q8X2M4N6P0R5S7T9W"]
    malformed = ["short", "x" * 200, "two words here", 'id"}{"admin":true', "-starts-with-a-dash"]
    with api(database) as a:
        for given in kept:
            answer = a.client.get("/healthz", headers={"X-Request-ID": given})
            assert answer.headers["X-Request-ID"] == given
        replaced = []
        for given in malformed:
            answer = a.client.get("/chats", headers={"X-Request-ID": given})
            assert answer.status_code == 401  # error responses carry it too
            replaced.append(answer.headers["X-Request-ID"])
            assert HEX32.fullmatch(replaced[-1]) and replaced[-1] != given
        records = json_logs()
    assert len(set(replaced)) == len(malformed)
    for request_id in replaced:
        [line] = request_lines(records, request_id)
        assert line["status"] == 401 and line["user_id"] is None
    assert not any(r.get("path") == "/healthz" for r in records)  # probes are DEBUG lines


def test_warnings_during_a_request_carry_its_id(database: Database, json_logs: Callable[[], Any]) -> None:
    """A warning in a worker thread (the rate limiter's Redis is down: fail-open) and an error in the reply's
    own task (its model failed with a bug) both name the request that led to them."""
    with api(database, RuntimeError("a bug in a model"), redis_url="redis://127.0.0.1:1/0") as a:
        _, headers = a.user_key("alice")
        answer = a.client.post("/api/chat", json=ASK, headers=headers)
        assert answer.status_code == 500 and answer.json()["detail"] == "internal error"
        request_id = answer.headers["X-Request-ID"]
        records = json_logs()
    mine = {r["logger"]: r for r in records if r.get("request_id") == request_id}
    redis = mine["chatdash.chat.ratelimit"]
    assert redis["level"] == "warning" and "Redis does not answer" in redis["event"]
    failed = mine["chatdash.chat.generation"]
    assert failed["level"] == "error" and "failed with an internal error" in failed["event"]
    assert "RuntimeError: a bug in a model" in failed["exception"]  # the traceback, as one field
    assert mine["chatdash.requests"]["status"] == 500


def test_an_internal_error_names_its_request_id(database: Database, json_logs: Callable[[], Any]) -> None:
    with api(database) as a:

        async def boom() -> None:
            raise ValueError("a bug")

        a.client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
        client = TestClient(a.client.app, raise_server_exceptions=False)
        request_id = secrets.token_hex(16)
        answer = client.get("/boom", headers={"X-Request-ID": request_id})
        records = json_logs()
    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == request_id
    assert answer.json() == {"detail": f"internal error (request id {request_id})"}
    [line] = request_lines(records, request_id)
    assert (line["path"], line["status"]) == ("/boom", 500)
    [error] = [r for r in records if r.get("logger") == "chatdash.chat.http_errors"]
    assert error["request_id"] == request_id and "ValueError: a bug" in error["exception"]


@pytest.mark.parametrize(
    ("environment", "tty", "expected"),
    [("development", True, "console"), ("development", False, "json"), ("production", True, "json")],
)
def test_the_log_format_follows_the_terminal_unless_set(environment: str, tty: bool, expected: str) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert logs.log_format(load_settings(environment=environment), Stream()) == expected
    assert logs.log_format(load_settings(environment=environment, log_format="json"), Stream()) == "json"
    assert load_settings(log_format="CONSOLE", log_level="debug").log_level == "DEBUG"


# -- metrics -----------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template(database: Database) -> None:
    with api(database, "One two three.") as a:
        _, headers = a.user_key("alice")
        chats = [a.client.post("/chats", json={}, headers=headers).json()["id"] for _ in range(2)]
        before = scrape(a.client)
        for chat_id in chats:
            assert a.client.get(f"/chats/{chat_id}", headers=headers).status_code == 200
        assert a.client.get("/no-such-page-1234", headers=headers).status_code == 404
        reply = a.client.post("/api/chat", json=ASK, headers=headers).json()
        after = scrape(a.client)
        paths = a.client.get("/openapi.json").json()["paths"]
    route = {"method": "GET", "route": "/chats/{chat_id}"}
    total = "chatdash_http_requests_total"
    assert value(after, total, **route, status="200") - value(before, total, **route, status="200") == 2
    count = "chatdash_http_request_duration_seconds_count"
    assert value(after, count, **route) - value(before, count, **route) == 2
    assert value(after, "chatdash_http_request_duration_seconds_bucket", **route, le="+Inf") >= 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, total, **unmatched) - value(before, total, **unmatched) == 1
    assert not any(chat_id in after for chat_id in chats) and "no-such-page" not in after
    tokens = "chatdash_model_tokens_total"
    for kind in ("prompt", "completion"):
        labels = {"provider": "scripted", "model": "scripted", "kind": kind}
        counted = value(after, tokens, **labels) - value(before, tokens, **labels)
        assert counted == reply["usage"][f"{kind}_tokens"] > 0
    assert "/metrics" not in paths


def test_rate_limit_rejections_are_counted(database: Database) -> None:
    with api(database, "One.", "Two.", api_rate_limit="1/minute") as a:
        _, headers = a.user_key("alice")
        before = value(scrape(a.client), "chatdash_rate_limit_rejections_total", scope="api-key")
        assert a.client.post("/api/chat", json=ASK, headers=headers).status_code == 200
        assert a.client.post("/api/chat", json=ASK, headers=headers).status_code == 429
        after = value(scrape(a.client), "chatdash_rate_limit_rejections_total", scope="api-key")
    assert after - before == 1


def test_replies_in_flight_and_the_model_queue_are_read_when_scraped(database: Database) -> None:
    gate = threading.Event()
    provider = ScriptedProvider([held(gate), held(gate)], queue_size=4)
    try:
        with api(database, provider=provider) as a:
            user_id, _ = a.user_key("alice")
            portal = a.client.portal
            assert portal is not None
            replies = [portal.call(a.service.send, user_id, None, f"question {i}") for i in range(2)]
            until(lambda: provider.stats().queued == 1)
            busy = scrape(a.client)
            gate.set()
            for _, gen in replies:
                portal.call(gen.wait)
            idle = scrape(a.client)
    finally:
        gate.set()
        asyncio.run(provider.aclose())
    assert value(busy, "chatdash_replies_in_flight") == 2
    assert value(busy, "chatdash_model_queue_depth") == 1
    assert value(idle, "chatdash_replies_in_flight") == 0 and value(idle, "chatdash_model_queue_depth") == 0
    assert value(idle, "chatdash_draining") == 0


# -- the drain ---------------------------------------------------------------------------------


def drain_soon(a: Api, grace: float) -> Any:
    portal = a.client.portal
    assert portal is not None
    future = portal.start_task_soon(a.service.drain, grace)
    until(lambda: a.service.draining)
    return future


def test_a_draining_app_is_not_ready_starts_no_reply_and_finishes_its_own(database: Database) -> None:
    gate = threading.Event()
    provider = ScriptedProvider([held(gate)], queue_size=1)
    try:
        with api(database, provider=provider) as a:
            user_id, headers = a.user_key("alice")
            portal = a.client.portal
            assert portal is not None
            reply, _ = portal.call(a.service.send, user_id, None, "a long question")
            drained = drain_soon(a, 30)
            ready = a.client.get("/readyz")
            refused = a.client.post("/api/chat", json=ASK, headers=headers)
            listed = a.client.get("/chats", headers=headers)
            draining = value(scrape(a.client), "chatdash_draining")
            gate.set()
            drained.result(timeout=10)
            kept = a.service.message(user_id, reply.chat_id, reply.id)
    finally:
        gate.set()
        asyncio.run(provider.aclose())
    assert ready.status_code == 503 and ready.json()["detail"] == "not ready: shutting down"
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1", refused.text
    assert "shutting down" in refused.json()["detail"]
    assert listed.status_code == 200  # reads go on: a user can still read and stop replies
    assert draining == 1
    assert (kept.status, kept.content) == ("complete", "Held on.")


def test_a_reply_longer_than_the_grace_is_saved_stopped(database: Database) -> None:
    words = " ".join(f"w{i}" for i in range(500))
    with api(database, provider=ScriptedProvider([words], delay_s=0.01)) as a:
        user_id, _ = a.user_key("alice")
        portal = a.client.portal
        assert portal is not None
        reply, gen = portal.call(a.service.send, user_id, None, "talk")
        until(lambda: len(gen.text.split()) >= 5)
        drain_soon(a, 0.3).result(timeout=10)
        kept = a.service.message(user_id, reply.chat_id, reply.id)
    assert kept.status == "stopped" and 5 <= len(kept.content.split()) < 500
