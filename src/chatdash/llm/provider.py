"""The provider protocol: what every language model behind chatdash does, and the parts they share.

In the spirit of Simon Willison's ``llm``: a provider is a small class with an id, capability flags and
one generation primitive (``_generate``, an async iterator of text deltas ending with a ``Final`` usage
record). Everything callers use is built once, here, on top of it: options that refuse unknown fields,
trimming the chat to the context window, streaming with timing, plain completion, and validated
structured output with bounded retries. So the scripted test double and the real models differ only in
the primitive, and what the test bed measures is what users get.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar, overload

from pydantic import BaseModel

from chatdash.errors import InvalidStructuredOutput, ModelError
from chatdash.llm import structured as schemas
from chatdash.llm.context import fit_to_context
from chatdash.llm.metrics import count_tokens
from chatdash.llm.types import Capabilities, Completion, Final, Message, Options, ProviderStats, Usage

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

Chunks = AsyncIterator[str | Final]


class Stream:
    """A reply as it is generated: ``async for delta in stream`` yields text; then ``stream.completion``.

    Use it as ``async with provider.stream(...) as stream:`` so that a reader who stops early (a closed
    browser tab) also stops the generation instead of leaving the model busy for nobody. The clock
    starts at the first read, so ``first_token_s`` measures the model (and its queue), not the caller.
    """

    def __init__(self, chunks: Chunks, *, provider: str, model: str, dropped_messages: int) -> None:
        self._chunks = chunks
        self._provider, self._model, self._dropped = provider, model, dropped_messages
        self._parts: list[str] = []
        self._started: float | None = None
        self._first: float | None = None
        self._completion: Completion | None = None

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> str:
        if self._started is None:
            self._started = time.perf_counter()
        while self._completion is None:
            try:
                item = await anext(self._chunks)
            except StopAsyncIteration:
                raise ModelError(f"{self._provider}: the reply ended without its usage record") from None
            if isinstance(item, Final):
                self._finish(item)
            elif item:
                if self._first is None:
                    self._first = time.perf_counter() - self._started
                self._parts.append(item)
                return item
        raise StopAsyncIteration

    def _finish(self, final: Final) -> None:
        assert self._started is not None
        count_tokens(self._provider, self._model, final.prompt_tokens, final.completion_tokens)
        usage = Usage(
            prompt_tokens=final.prompt_tokens,
            completion_tokens=final.completion_tokens,
            first_token_s=self._first,
            total_s=time.perf_counter() - self._started,
            queue_s=final.queue_s,
        )
        self._completion = Completion(
            text="".join(self._parts),
            usage=usage,
            finish_reason=final.finish_reason,
            provider=self._provider,
            model=self._model,
            dropped_messages=self._dropped,
        )

    @property
    def text(self) -> str:
        """The text so far (all of it once the stream is done)."""
        return "".join(self._parts)

    @property
    def completion(self) -> Completion:
        """The finished reply with its usage; only after the last delta has been read."""
        if self._completion is None:
            raise RuntimeError("the stream has not finished yet: read it to the end (or use collect())")
        return self._completion

    async def collect(self) -> Completion:
        """Read the rest of the stream and return the finished reply."""
        async for _ in self:
            pass
        return self.completion

    async def aclose(self) -> None:
        """Stop generating (if still running) and release the model."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()


@dataclass(frozen=True, slots=True)
class Structured(Generic[T]):
    """A validated structured reply, with the completion that produced it and how many attempts it took."""

    value: T
    completion: Completion
    attempts: int


class Provider(ABC):
    """A language model chatdash can talk to. Subclasses set ``id`` and implement two methods."""

    id: ClassVar[str]
    capabilities: Capabilities = Capabilities()

    def __init__(self, *, model: str, context_window: int) -> None:
        self.model = model
        self.context_window = context_window

    @abstractmethod
    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of the prompt these messages make, formatted as the model sees them."""

    @abstractmethod
    def _generate(self, messages: list[Message], options: Options, schema: dict[str, Any] | None) -> Chunks:
        """Text deltas of the reply, then one ``Final``; ``schema`` constrains the reply to JSON."""

    def stats(self) -> ProviderStats:
        """Queue depth and waiting times; providers without a queue report zeros."""
        return ProviderStats()

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing to close
        """Release connections; the embedded model itself lives as long as the process."""

    def stream(self, messages: Sequence[Message], options: Options | None = None, **overrides: Any) -> Stream:
        """Start a reply; the history is trimmed to the context window first."""
        return self._stream(messages, self.options(options, overrides), None)

    async def complete(
        self, messages: Sequence[Message], options: Options | None = None, **overrides: Any
    ) -> Completion:
        """The whole reply at once."""
        async with self.stream(messages, options, **overrides) as stream:
            return await stream.collect()

    @overload
    async def structured(
        self,
        messages: Sequence[Message],
        schema: type[M],
        options: Options | None = None,
        *,
        attempts: int = 3,
        **overrides: Any,
    ) -> Structured[M]: ...

    @overload
    async def structured(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        options: Options | None = None,
        *,
        attempts: int = 3,
        **overrides: Any,
    ) -> Structured[Any]: ...

    async def structured(
        self,
        messages: Sequence[Message],
        schema: schemas.Schema,
        options: Options | None = None,
        *,
        attempts: int = 3,
        **overrides: Any,
    ) -> Structured[Any]:
        """A reply that validates against ``schema``, asking again (up to ``attempts`` times) with the
        validation error when it does not; then ``InvalidStructuredOutput``."""
        opts = self.options(options, overrides)
        json_schema = schemas.json_schema(schema)
        conversation = schemas.with_instructions(messages, json_schema)
        reason, reply = "no attempt made", ""
        for attempt in range(1, max(attempts, 1) + 1):
            async with self._stream(conversation, opts, json_schema) as stream:
                completion = await stream.collect()
            reply = completion.text
            try:
                return Structured(schemas.parse(reply, schema), completion, attempt)
            except ValueError as exc:
                reason = str(exc)
            conversation = schemas.retry_messages(conversation, reply, reason)
        raise InvalidStructuredOutput(
            f"{self.id} ({self.model}) gave no reply matching the {schemas.schema_name(schema)} schema in "
            f"{attempts} attempts; last problem: {reason}. Check that the prompt asks for what the schema "
            "needs, or use a more capable model (CHATDASH_LLM_BASE_URL)",
            last_reply=reply,
        )

    def options(self, options: Options | None, overrides: Mapping[str, Any]) -> Options:
        """``options`` with ``overrides`` applied; unknown names raise pydantic's ``ValidationError``."""
        if not overrides:
            return options or Options()
        base = options.model_dump() if options else {}
        return Options.model_validate({**base, **overrides})

    def fit(self, messages: Sequence[Message], max_tokens: int) -> tuple[list[Message], int]:
        """The messages trimmed to leave ``max_tokens`` of the context window, and how many were dropped."""
        return fit_to_context(messages, self.count_tokens, self.context_window, max_tokens)

    def _stream(self, messages: Sequence[Message], options: Options, schema: dict[str, Any] | None) -> Stream:
        fitted, dropped = self.fit(messages, options.max_tokens)
        return Stream(
            self._generate(fitted, options, schema),
            provider=self.id,
            model=self.model,
            dropped_messages=dropped,
        )
