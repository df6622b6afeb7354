"""The chat's system prompt comes from the registry: promoting a version 2 of chat-system to production
changes the next reply's prompt, at once in the app that promoted it and within the TTL in a second app
instance on its own engine (another replica), without a restart. Prompts are read from what the scripted
model was sent."""

from __future__ import annotations

import time

import pytest

from chatdash.chat.responder import PipelineResponder
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.pipeline import load_pipeline
from chatdash.prompts import PromptContent, install_shipped, promote, push_prompt, shipped_prompts
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api

pytestmark = pytest.mark.timeout(120)

V2 = "You are chatdash v2: answer in one sentence.\n{% if figures %}Figures: {{ figures }}{% endif %}"


def grounded(engine):  # type: ignore[no-untyped-def]
    def make(provider: ScriptedProvider, settings: Settings) -> PipelineResponder:
        return PipelineResponder(
            load_pipeline("chat"), provider, engine=engine, memory=None, settings=settings
        )

    return make


def system_prompt_of_a_reply(a: Api, headers: dict[str, str], text: str = "Hello there!") -> str:
    answer = a.client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": text}]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    sent = a.provider.requests[-1].messages
    assert sent[0].role == "system" and sent[-1].content == text
    return sent[0].content


def test_promoting_version_2_changes_the_next_reply_in_this_app_and_in_another(database: Database) -> None:
    install_shipped(database.engine)  # what `chatdash init` does
    other = make_engine(database.url, schema=database.schema)  # the second replica's own engine
    try:
        with (
            api(database, *["Hi."] * 5, responder=grounded(database.engine)) as here,
            api(database, *["Hi."] * 5, responder=grounded(other), prompt_cache_seconds=1.5) as there,
        ):
            _, headers = here.user_key("prompts-here")
            _, headers_there = there.user_key("prompts-there")
            shipped = system_prompt_of_a_reply(here, headers)
            assert shipped.startswith("You are chatdash, a helpful assistant")
            assert system_prompt_of_a_reply(there, headers_there) == shipped

            v2 = push_prompt(database.engine, PromptContent.parse({"name": "chat-system", "text": V2}))
            assert v2.created and v2.version.version == 2
            assert system_prompt_of_a_reply(here, headers) == shipped  # pushed, not promoted: unchanged

            read = time.monotonic()  # the second app's cache entry is at most this old
            assert system_prompt_of_a_reply(there, headers_there) == shipped
            promote(database.engine, "chat-system", 2, "production")  # as `chatdash prompts promote` does
            assert system_prompt_of_a_reply(here, headers) == "You are chatdash v2: answer in one sentence."
            assert system_prompt_of_a_reply(there, headers_there) == shipped  # its cache is not 1.5 s old
            assert time.monotonic() - read < 1.5, "the machine is too slow for this TTL"
            time.sleep(1.6)
            assert system_prompt_of_a_reply(there, headers_there).startswith("You are chatdash v2:")
    finally:
        other.dispose()


def test_before_init_the_shipped_file_is_used_and_user_text_stays_text(database: Database) -> None:
    with api(database, "Fine.", responder=grounded(database.engine)) as a:
        _, headers = a.user_key("prompts-literal")
        message = "What is {{ 7*7 }}? {% for x in range(3) %}x{% endfor %}"
        system = system_prompt_of_a_reply(a, headers, message)
        shipped = shipped_prompts()["chat-system"].text or ""
        assert system == shipped.split("\n{% if sales %}")[0]  # the file's first line: nothing to add
        assert "49" not in system and "xxx" not in system
        stored = a.client.get("/chats", headers=headers).json()["data"][0]["id"]
        messages = a.client.get(f"/chats/{stored}/messages", headers=headers).json()["data"]
        assert messages[0]["content"] == message  # kept and sent as typed, never rendered
        assert a.provider.requests[-1].messages[-1].content == message
