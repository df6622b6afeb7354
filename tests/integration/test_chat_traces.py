"""Every reply leaves one trace: through the web's service, ``/api/chat`` and ``/v1``, on SQLite and
PostgreSQL, with the scripted model behind the real chat pipeline. A trace holds a span per step under
its root, the tokens the model reported, the prompt version the reply used (a promotion shows in the
next reply's trace without a restart), and an error trace for a failed model; the APIs return the
``trace_id``; ``GET /api/traces/{id}`` shows it to its user and to admins only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from chatdash.chat.responder import PipelineResponder
from chatdash.config import Settings
from chatdash.db.models import User
from chatdash.errors import ModelError
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.pipeline import load_pipeline
from chatdash.prompts import PromptContent, install_shipped, promote, push_prompt
from chatdash.tracing import TraceRecord, get_trace
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api

pytestmark = pytest.mark.timeout(120)

STEPS = ["retrieve", "sales_query", "answer", "template", "llm"]


def grounded(engine):  # type: ignore[no-untyped-def]
    def make(provider: ScriptedProvider, settings: Settings) -> PipelineResponder:
        return PipelineResponder(
            load_pipeline("chat"), provider, engine=engine, memory=None, settings=settings
        )

    return make


def trace_of(a: Api, trace_id: str) -> TraceRecord:
    assert a.service.traces is not None
    assert a.service.traces.flush(10)
    trace = get_trace(a.service.engine, trace_id, user_id=None, admin=True)
    assert trace is not None, f"no trace {trace_id}"
    return trace


def ask(a: Api, headers: dict[str, str], text: str, **body: Any) -> dict[str, Any]:
    answer = a.client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": text}], **body}, headers=headers
    )
    return {**answer.json(), "http": answer.status_code}


def test_a_reply_is_traced_step_by_step_with_its_tokens_and_prompt_version(database: Database) -> None:
    install_shipped(database.engine)
    with api(database, "Hello!", "Hi again.", responder=grounded(database.engine)) as a:
        user_id, headers = a.user_key("traced")
        reply = ask(a, headers, "Good morning")
        assert reply["http"] == 200 and len(reply["trace_id"]) == 32
        trace = trace_of(a, reply["trace_id"])
        assert (trace.user_id, trace.chat_id, trace.message_id) == (
            user_id,
            reply["conversation_id"],
            reply["message_id"],
        )
        assert (trace.source, trace.pipeline, trace.status, trace.error) == ("api", "chat", "complete", None)
        assert (trace.input, trace.output) == ("Good morning", "Hello!")
        root, *steps = trace.spans
        assert (root.kind, root.parent_id) == ("pipeline", None)
        assert [s.name for s in steps] == STEPS and {s.parent_id for s in steps} == {root.id}
        llm = steps[-1]
        sent = a.provider.requests[-1]
        assert (llm.prompt_tokens, llm.completion_tokens) == (trace.prompt_tokens, trace.completion_tokens)
        # what the model reported: its tokenizer over what it was sent, one token per word it wrote
        assert (llm.prompt_tokens, llm.completion_tokens) == (a.provider.count_tokens(sent.messages), 1)
        assert reply["usage"] == {"prompt_tokens": llm.prompt_tokens, "completion_tokens": 1}
        assert (trace.model, llm.model) == ("scripted", "scripted")
        assert (trace.prompt_name, trace.prompt_version) == ("chat-system", 1)
        assert llm.input["messages"]["prompt"] == "chat-system@1"
        assert trace.latency_ms >= llm.latency_ms > 0 and trace.ttft_ms is not None
        # the stored reply names its trace too
        message = a.client.get(
            f"/chats/{reply['conversation_id']}/messages/{reply['message_id']}", headers=headers
        )
        assert message.json()["trace_id"] == reply["trace_id"]

        # `chatdash prompts promote chat-system 2 production`: the next reply's trace says version 2
        v2 = PromptContent.parse({"name": "chat-system", "text": "Version two. {{ figures }}"})
        push_prompt(database.engine, v2)
        promote(database.engine, "chat-system", 2, "production")
        again = trace_of(a, ask(a, headers, "And now?")["trace_id"])
        assert (again.prompt_name, again.prompt_version) == ("chat-system", 2)


def test_a_failed_model_leaves_an_error_trace_and_the_answer_names_it(database: Database) -> None:
    with api(database, ModelError("the model fell over"), responder=grounded(database.engine)) as a:
        _, headers = a.user_key("failing")
        reply = ask(a, headers, "Hello?")
        assert reply["http"] == 502 and len(reply["trace_id"]) == 32
        trace = trace_of(a, reply["trace_id"])
        assert trace.status == "error" and "the model fell over" in (trace.error or "")
        llm = trace.spans[-1]
        assert (llm.name, llm.status) == ("llm", "error") and "the model fell over" in (llm.error or "")


def test_the_openai_endpoint_and_streams_carry_the_trace_id(database: Database) -> None:
    with api(database, "One.", "Two.", responder=grounded(database.engine)) as a:
        _, headers = a.user_key("openai-traced")
        body = {"model": "chatdash", "messages": [{"role": "user", "content": "Hi"}]}
        completion = a.client.post("/v1/chat/completions", json=body, headers=headers).json()
        trace = trace_of(a, completion["chatdash"]["trace_id"])
        assert (trace.source, trace.output) == ("v1", "One.")
        streamed = a.client.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": "Hey"}], "stream": True},
            headers=headers,
        )
        start = next(line for line in streamed.text.splitlines() if line.startswith("data:"))
        assert len(json.loads(start[5:])["trace_id"]) == 32


def test_a_trace_is_for_its_user_and_admins_only(database: Database) -> None:
    with api(database, "Mine.", responder=grounded(database.engine)) as a:
        _, alice = a.user_key("alice-traces")
        _, bob = a.user_key("bob-traces")
        boss_id, boss = a.user_key("boss-traces")
        _make_admin(database, boss_id)
        trace_id = ask(a, alice, "A private question")["trace_id"]
        trace_of(a, trace_id)
        mine = a.client.get(f"/api/traces/{trace_id}", headers=alice)
        assert mine.status_code == 200 and mine.json()["input"] == "A private question"
        theirs = a.client.get(f"/api/traces/{trace_id}", headers=bob)
        missing = a.client.get(f"/api/traces/{'0' * 32}", headers=bob)
        assert (theirs.status_code, missing.status_code) == (404, 404)  # another's reads as a missing one
        assert theirs.json()["detail"] == missing.json()["detail"].replace("0" * 32, trace_id)
        assert a.client.get(f"/api/traces/{trace_id}", headers=boss).status_code == 200
        assert a.client.get(f"/api/traces/{trace_id}").status_code == 401
        assert a.client.get("/api/traces/not-an-id", headers=alice).status_code == 422


def _make_admin(database: Database, user_id: int) -> None:
    with database.engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(is_admin=True))


def test_tracing_off_records_nothing(database: Database) -> None:
    with api(database, "Quiet.", responder=grounded(database.engine), tracing=False) as a:
        _, headers = a.user_key("untraced")
        reply = ask(a, headers, "Hello")
        assert (reply["http"], reply["trace_id"], a.service.traces) == (200, None, None)
