"""Trimming a chat to the context window: the system prompt and newest turns stay, old turns go."""

from __future__ import annotations

import asyncio

import pytest

from chatdash.errors import PromptTooLong
from chatdash.llm import Message
from chatdash.llm.context import fit_to_context
from chatdash.llm.providers.scripted import ScriptedProvider

pytestmark = pytest.mark.timeout(30)


def words(messages: list[Message] | tuple[Message, ...]) -> int:
    return sum(len(m.content.split()) + 2 for m in messages)


def chat(turns: int) -> list[Message]:
    messages = [Message.system("be brief")]
    for turn in range(turns):
        messages.append(Message.user(f"question {turn} " + "word " * 8))
        messages.append(Message.assistant(f"answer {turn} " + "word " * 8))
    messages.append(Message.user("the newest question"))
    return messages


def test_a_short_chat_is_untouched() -> None:
    messages = chat(2)
    kept, dropped = fit_to_context(messages, words, context_window=1000, max_tokens=100)
    assert kept == messages and dropped == 0


def test_a_long_chat_keeps_the_system_prompt_and_the_newest_turns() -> None:
    messages = chat(30)  # 30 turns of 2 x 11 tokens: ~670 tokens
    kept, dropped = fit_to_context(messages, words, context_window=300, max_tokens=100)
    assert words(kept) <= 200
    assert kept[0] == messages[0]
    assert kept[-1] == messages[-1]
    assert kept[1].role == "user"  # the cut lands on a turn boundary
    assert kept[1:] == messages[-(len(kept) - 1) :]  # a contiguous run of the newest messages
    assert dropped == len(messages) - len(kept)
    # As many turns as fit: one more turn would not.
    one_more = [messages[0], *messages[len(messages) - len(kept) - 1 :]]
    assert words(one_more) > 200


def test_nothing_to_drop_means_prompt_too_long() -> None:
    huge = [Message.system("rules " * 50), Message.user("question " * 100)]
    with pytest.raises(PromptTooLong, match="CHATDASH_LLM_CONTEXT"):
        fit_to_context(huge, words, context_window=120, max_tokens=20)
    with pytest.raises(PromptTooLong, match="max_tokens=500"):
        fit_to_context(chat(1), words, context_window=400, max_tokens=500)


def test_the_provider_trims_before_it_generates() -> None:
    provider = ScriptedProvider(["ok"], context_window=300)
    messages = chat(30)
    reply = asyncio.run(provider.complete(messages, max_tokens=100))
    sent = provider.requests[0].messages
    assert reply.dropped_messages == len(messages) - len(sent) > 0
    assert sent[0] == messages[0] and sent[-1] == messages[-1]
    assert provider.count_tokens(sent) + 100 <= 300
