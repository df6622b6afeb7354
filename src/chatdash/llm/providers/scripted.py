"""``scripted``: canned, deterministic replies for fast tests of the code around models.

It is registered like the real providers and goes through the same base class (trimming, streaming,
structured-output validation and retries), so a test that uses it exercises chatdash's own logic; only
the text comes from a script. It is never the only test of a path: the real providers have their own
tests against the real model.

With ``queue_size`` it takes turns like the embedded model: each request runs on a real ``ModelWorker``
thread behind its bounded queue (a full queue is ``ModelBusy`` with the worker's own ``retry_after``),
and a callable reply runs on that thread, so a test can hold the model busy for as long as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from chatdash.errors import ModelError, ModelTimeout
from chatdash.llm.provider import Chunks, Provider
from chatdash.llm.types import Capabilities, Final, Message, Options, ProviderStats
from chatdash.llm.worker import Job, ModelWorker, run_job

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
    (after trimming), which is how tests check what chatdash actually sent to a model. ``queue_size``
    puts it behind a real ``ModelWorker`` (see the module docstring); ``aclose()`` stops that thread.
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
        queue_size: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(model=model, context_window=context_window)
        self._replies: deque[Reply] = deque(replies)
        self._scripted = bool(self._replies)
        self._delay = delay_s
        self.timeout = timeout
        self.worker = ModelWorker(model, queue_size) if queue_size is not None else None
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

    def stats(self) -> ProviderStats:
        return self.worker.stats() if self.worker else super().stats()

    async def aclose(self) -> None:
        """Stop the worker thread (with ``queue_size``); waiting requests fail as on a shutdown."""
        if self.worker:
            await asyncio.to_thread(self.worker.close)

    async def _generate(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> Chunks:
        self.requests.append(Request(messages, options, schema))
        if self.worker is None:
            words = _TOKEN.findall(self._next_reply(messages))
            for word in words[: options.max_tokens]:
                if self._delay:
                    await asyncio.sleep(self._delay)
                yield word
            yield self._final(messages, options, len(words))
            return
        work = functools.partial(self._run, messages, options)
        async with contextlib.aclosing(run_job(self.worker, work, timeout=self.timeout)) as items:
            try:
                async for item in items:
                    yield cast(str | Final, item)
                    if isinstance(item, Final):
                        return
            except TimeoutError:
                raise ModelTimeout(f"scripted: no word for {self.timeout:.0f} s") from None

    def _run(self, messages: list[Message], options: Options, job: Job) -> None:
        """One request on the worker thread: the reply's words, then its ``Final``."""
        words = _TOKEN.findall(self._next_reply(messages))
        for word in words[: options.max_tokens]:
            if job.cancelled:
                return
            if self._delay:
                time.sleep(self._delay)
            job.emit(word)
        job.complete(self._final(messages, options, len(words)))

    def _final(self, messages: list[Message], options: Options, words: int) -> Final:
        return Final(
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=min(words, options.max_tokens),
            finish_reason="length" if words > options.max_tokens else "stop",
        )
