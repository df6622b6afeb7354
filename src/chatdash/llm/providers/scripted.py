"""``scripted``: canned, deterministic replies for fast tests of the code around models.

It is registered like the real providers and goes through the same base class (trimming, streaming,
structured-output validation and retries), so a test that uses it exercises chatdash's own logic; only
the text comes from a script. It is never the only test of a path: the real providers have their own
tests against the real model.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from chatdash.errors import ModelError
from chatdash.llm.provider import Chunks, Provider
from chatdash.llm.types import Capabilities, Final, FinishReason, Message, Options

Reply = str | Exception | Callable[[list[Message]], str]
"""A canned text, an error to raise (e.g. ``ModelBusy``), or a function of the messages."""

_TOKEN = re.compile(r"\S+\s*|\s+")


def count_words(text: str) -> int:
    """The scripted provider's "tokenizer": one token per whitespace-separated word."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class Request:
    """What the provider was asked, for assertions."""

    messages: list[Message]
    options: Options
    schema: dict[str, Any] | None


class ScriptedProvider(Provider):
    """Replies from a queue of canned answers, in order; with no script it echoes the last message.

    Deltas are whole words, so streaming code sees several chunks. ``requests`` records every call
    (after trimming), which is how tests check what chatdash actually sent to a model.
    """

    id = "scripted"
    capabilities = Capabilities(streaming=True, structured=True, exact_token_count=True)

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        model: str = "scripted",
        context_window: int = 4096,
        delay_s: float = 0.0,
    ) -> None:
        super().__init__(model=model, context_window=context_window)
        self._replies: deque[Reply] = deque(replies)
        self._scripted = bool(self._replies)
        self._delay = delay_s
        self.requests: list[Request] = []

    def add(self, *replies: Reply) -> None:
        """Queue more replies."""
        self._replies.extend(replies)
        self._scripted = True

    def count_tokens(self, messages: Sequence[Message]) -> int:
        # Two tokens of framing per message, like a chat template's role markers.
        return sum(count_words(m.content) + 2 for m in messages)

    def _next_reply(self, messages: list[Message]) -> str:
        if not self._scripted:
            return f"You said: {messages[-1].content}" if messages else "Hello."
        if not self._replies:
            raise ModelError("scripted provider: no canned replies left; add more with .add() in the test")
        reply = self._replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return reply(messages) if callable(reply) else reply

    async def _generate(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> Chunks:
        self.requests.append(Request(messages, options, schema))
        words = _TOKEN.findall(self._next_reply(messages))
        finish: FinishReason = "length" if len(words) > options.max_tokens else "stop"
        for word in words[: options.max_tokens]:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield word
        yield Final(
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=min(len(words), options.max_tokens),
            finish_reason=finish,
        )
