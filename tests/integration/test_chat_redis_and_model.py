"""The rate limit shared by two app instances through the real Redis; a reply from the real model;
readiness over the real database."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatdash.chat import ChatService, ProviderResponder
from chatdash.chat.app import create_app
from chatdash.config import load_settings
from chatdash.llm import registry
from tests.conftest import Database
from tests.integration.chat_helpers import api, sse_events

ASK = {"messages": [{"role": "user", "content": "Say hello."}]}
REDIS_SKIP = (
    "CHATDASH_TEST_REDIS_URL is not set: the shared rate-limit test needs a real Redis "
    "(e.g. redis://127.0.0.1:6379/0; CI sets it)"
)


def test_two_app_instances_share_one_budget_through_redis(database: Database) -> None:
    redis_url = os.environ.get("CHATDASH_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip(REDIS_SKIP)
    prefix = f"chatdash-test-{uuid.uuid4().hex}"
    options = {"api_rate_limit": "1/10seconds", "redis_url": redis_url, "rate_limit_prefix": prefix}
    with api(database, "one", **options) as first, api(database, "two", **options) as second:
        _, headers = first.user_key("alice")
        assert first.client.post("/api/chat", json=ASK, headers=headers).status_code == 200
        limited = second.client.post("/api/chat", json=ASK, headers=headers)
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        assert limited.headers["RateLimit-Remaining"] == "0"
        first.client.app.state.limiter.reset()  # type: ignore[attr-defined]


def test_a_reply_from_the_real_bundled_model(database: Database, tmp_path: Path) -> None:
    settings = load_settings(chat_max_tokens=8, api_rate_limit="100/second", var_dir=tmp_path)
    provider = registry.create("llamacpp", settings)
    service = ChatService(database.engine, settings, ProviderResponder(provider))
    app = create_app(settings, service=service, rate_limit_prefix=uuid.uuid4().hex)
    with TestClient(app) as client:
        user = service.sign_up("alice", "long enough password")
        headers = {"Authorization": f"Bearer {service.create_key(user.id, 'k').token}"}
        answer = client.post("/api/chat", json={**ASK, "stream": True}, headers=headers)
        assert answer.status_code == 200, answer.text
        events = sse_events(answer.text)
        done = events[-1]
        assert done[0] == "done", events
        text = "".join(data["content"] for name, data in events if name == "delta")
        assert text.strip() and done[1]["message"]["content"] == text
        assert 1 <= done[1]["usage"]["completion_tokens"] <= 8
        stored = client.get(f"/chats/{done[1]['conversation_id']}/messages", headers=headers).json()
        assert stored["data"][1]["content"] == text and stored["data"][1]["status"] == "complete"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"database", "llm", "vector_store", "prompts"}
