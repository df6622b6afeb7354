"""A dependency that is down is a clean 503 that says which one (with Retry-After), never a 500 or a
driver's error text: the database (a PostgreSQL address where nothing listens) and Redis (the same),
under both rate-limit policies; ``/readyz`` reports Redis too."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatdash.chat import ChatService, ProviderResponder
from chatdash.chat.app import create_app
from chatdash.config import load_settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.llm import create
from tests.conftest import Database
from tests.integration.chat_helpers import api
from tests.integration.test_chat_web import csrf


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the socket is


@contextmanager
def app_without_database(tmp_path: Path) -> Iterator[TestClient]:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none"
    settings = load_settings(var_dir=tmp_path, database_url=url, session_secret="s" * 40)
    engine = make_engine(url)
    service = ChatService(engine, settings, ProviderResponder(create("scripted", settings)))
    app = create_app(settings, service=service, ready_checks=None)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        engine.dispose()


def test_a_database_that_is_down_is_a_503_naming_it(tmp_path: Path) -> None:
    with app_without_database(tmp_path) as client:
        bearer = {"Authorization": "Bearer cd_not-checked-while-the-database-is-down"}
        for method, path, body in (
            ("GET", "/chats", None),
            ("POST", "/api/chat", {"messages": [{"role": "user", "content": "hi"}]}),
        ):
            answer = client.request(method, path, json=body, headers=bearer)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["Retry-After"] == "5"
            detail = answer.json()["detail"]
            assert detail.startswith("the database is unavailable right now; try again in a few seconds")
            assert "CHATDASH_DATABASE_URL" in detail
            assert "refused" not in answer.text.lower() and "127.0.0.1" not in answer.text  # no internals
        form = {"csrf": csrf(client), "username": "alice", "password": "long enough password"}
        page = client.post("/signin", data=form)
        assert page.status_code == 503 and "<html" in page.text and "the database is unavailable" in page.text
        assert page.headers["Retry-After"] == "5"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"


@pytest.mark.parametrize("policy", ["fail-open", "fail-closed"])
def test_redis_that_is_down_follows_the_rate_limit_policy(database: Database, policy: str) -> None:
    redis_url = f"redis://127.0.0.1:{closed_port()}/0"
    with api(database, "Hi.", redis_url=redis_url, rate_limit_on_redis_down=policy) as a:
        _, headers = a.user_key(f"redis-{policy}")
        asked = a.client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": "Hi"}]}, headers=headers
        )
        if policy == "fail-open":
            assert asked.status_code == 200, asked.text  # counted in this process meanwhile
        else:
            assert asked.status_code == 503 and asked.headers["Retry-After"] == "5"
            assert asked.json()["detail"].startswith("Redis (the shared rate limits) is unavailable")
            assert a.service.chats(1) == ([], 0)  # refused before anything was stored


def test_readyz_checks_redis_when_it_is_configured(tmp_path: Path) -> None:
    settings = load_settings(
        var_dir=tmp_path, redis_url=f"redis://127.0.0.1:{closed_port()}/0", session_secret="s" * 40
    )
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    try:
        service = ChatService(engine, settings, ProviderResponder(create("scripted", settings)))
        with TestClient(create_app(settings, service=service, ready_checks=None)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"
    finally:
        engine.dispose()
