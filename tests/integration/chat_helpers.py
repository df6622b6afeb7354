"""Helpers for the chat API tests: an app on a test database with the scripted model, and SSE parsing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from chatdash.chat import ChatService, ProviderResponder, Responder
from chatdash.chat.app import Role, create_app
from chatdash.config import Settings, load_settings
from chatdash.llm import registry
from chatdash.llm.providers.scripted import ScriptedProvider
from tests.conftest import Database


@dataclass
class Api:
    client: TestClient
    service: ChatService
    provider: ScriptedProvider

    def user_key(self, name: str) -> tuple[int, dict[str, str]]:
        """A new user and the Authorization header of a fresh key of theirs."""
        user = self.service.sign_up(name, "long enough password")
        token = self.service.create_key(user.id, f"{name}'s key").token
        return user.id, {"Authorization": f"Bearer {token}"}


@contextmanager
def api(
    db: Database,
    *replies: Any,
    role: Role = "all",
    rate_limit_prefix: str = "test",
    provider: ScriptedProvider | None = None,
    responder: Callable[[ScriptedProvider, Settings], Responder] | None = None,
    **settings: Any,
) -> Iterator[Api]:
    settings.setdefault("api_rate_limit", "1000/second")
    config = load_settings(**settings)
    if provider is None:
        created = registry.create("scripted", replies=list(replies))
        assert isinstance(created, ScriptedProvider)
        provider = created
    replier = responder(provider, config) if responder else ProviderResponder(provider)
    service = ChatService(db.engine, config, replier)
    app = create_app(config, role, service=service, rate_limit_prefix=rate_limit_prefix, ready_checks={})
    with TestClient(app) as client:
        yield Api(client, service, provider)


def sse(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a Server-Sent Events body as the browser's EventSource joins them, pings
    (comments) left out."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
        if data:
            events.append((name, "\n".join(data)))
    return events


def sse_events(body: str) -> list[tuple[str, Any]]:
    """(event, parsed JSON data) pairs of a Server-Sent Events body, pings left out."""
    return [(name, json.loads(data)) for name, data in sse(body)]
