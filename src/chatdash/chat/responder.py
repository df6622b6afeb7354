"""The seam between the chat and whatever writes replies.

``ChatService`` only knows the ``Responder`` protocol: given the user, the chat and the ordered turns
(ending with the new user message), yield text deltas and then exactly one ``ReplyDone``. Today
``PipelineResponder`` (the default) runs the ``chat`` pipeline: retrieval, exact sales figures, prompt,
model; ``ProviderResponder`` sends the history straight to a provider (tests, plain chat).

Cancelling the consumer must stop the model: implementations hold the model's stream in an
``async with`` so that ``CancelledError`` (a stop button, a closed request) closes it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy import Engine

from chatdash.config import Settings
from chatdash.errors import ChatdashError, InvalidInput
from chatdash.llm import Message, Options, Provider
from chatdash.memory import ChatMemory, Remembered, VectorStore
from chatdash.pipeline import Delta, Done, Pipeline, Sources, chat_turn, load_pipeline
from chatdash.sales import dashboard_url
from chatdash.tracing import Source, SpanRecord

log = logging.getLogger(__name__)

SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and accurately."


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """What a reply answers: ``history`` is every kept turn in order, the newest user message last.
    ``max_tokens`` caps the reply (``CHATDASH_CHAT_MAX_TOKENS``); None leaves the pipeline's value.
    ``spans`` receives the run's spans as its steps finish (for the reply's trace, also when it fails)."""

    user_id: int
    chat_id: str
    history: Sequence[Message]
    max_tokens: int | None = None
    source: Source = "web"
    spans: list[SpanRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """The last item of a reply: token usage, and how many old turns were left out to fit the context."""

    prompt_tokens: int
    completion_tokens: int
    dropped_messages: int = 0
    sources: tuple[str, ...] = field(default=())
    first_token_s: float | None = None
    """The model's own time to first token (queue included), as its provider measured it."""
    answer: dict[str, Any] | None = None
    """A sales answer as data (``SalesAnswer.as_dict`` and whether the model's commentary was shown),
    or ``{"declined": why}``; None for other messages."""


class Responder(Protocol):
    """Writes replies. ``reply`` yields ``str`` deltas, then one ``ReplyDone``; errors are ``ModelError``.
    ``forget_chat`` drops what the responder keeps of a deleted chat (its memory points); ``check_fits``
    refuses, before anything is stored, a message the model could never answer (``InvalidInput``).
    ``pipeline`` names what writes the replies, in their traces."""

    pipeline: str

    def reply(self, request: ReplyRequest) -> AsyncIterator[str | ReplyDone]: ...

    def forget_chat(self, user_id: int, chat_id: str) -> None: ...

    def check_fits(self, text: str) -> None: ...


GROUNDING_SHARE = 0.25
"""Of the context window, what a message leaves for the grounding a reply adds to the prompt (recalled
messages, documents, the sales answer)."""


def check_fits(provider: Provider, text: str, system: str, reply_tokens: int, reserve: int = 0) -> None:
    """``InvalidInput``, in a user's terms, for a message that cannot fit in ``provider``'s context
    window next to the system prompt, the reply's tokens and ``reserve``: a reply to it could only fail
    (with an operator's message about context sizes), whatever the user retried."""
    room = provider.context_window - reply_tokens - reserve
    frame = provider.count_tokens([Message.system(system), Message.user("")])
    if frame + len(text) + 8 <= room:  # surely fits (a token is a character or more): no tokenizing
        return
    tokens = provider.count_tokens([Message.system(system), Message.user(text)])
    if tokens <= room:
        return
    words = max(len(text.split()), 1)
    per_token = words / max(tokens - frame, 1)
    most = max(int((room - frame) * per_token) // 10 * 10, 0)
    raise InvalidInput(
        f"this message is too long for the model: about {most:,} words at most (it has about {words:,}); "
        "shorten it or split it over several messages"
    )


class ProviderResponder:
    """A system prompt plus the history, straight to an LLM provider (trimmed to its context window)."""

    pipeline = "provider"

    def __init__(self, provider: Provider, system_prompt: str = SYSTEM_PROMPT) -> None:
        self.provider = provider
        self.system_prompt = system_prompt

    async def reply(self, request: ReplyRequest) -> AsyncIterator[str | ReplyDone]:
        messages = [Message.system(self.system_prompt), *request.history]
        cap: dict[str, Any] = {} if request.max_tokens is None else {"max_tokens": request.max_tokens}
        async with self.provider.stream(messages, **cap) as stream:
            async for delta in stream:
                yield delta
            done = stream.completion
        yield ReplyDone(
            done.usage.prompt_tokens,
            done.usage.completion_tokens,
            done.dropped_messages,
            first_token_s=done.usage.first_token_s,
        )

    def forget_chat(self, user_id: int, chat_id: str) -> None:
        """Nothing is kept beyond the stored messages."""

    def check_fits(self, text: str) -> None:
        check_fits(self.provider, text, self.system_prompt, Options().max_tokens)


class PipelineResponder:
    """Replies through the pipeline engine (retrieval, exact sales figures, prompt, model).

    The figures and documents a reply is grounded in come back as ``ReplyDone.sources`` (stored with
    the reply and shown under it), whatever the model writes. After each reply the user's message is
    remembered in the vector memory, so later chats can recall it. ``memory`` None (or a memory that
    fails) only loses retrieval; it never fails the reply.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        provider: Provider,
        *,
        engine: Engine | None,
        memory: VectorStore | None,
        settings: Settings,
    ) -> None:
        self._pipeline, self.provider = pipeline, provider
        self.pipeline = pipeline.name
        self.engine, self.memory, self.settings = engine, memory, settings

    async def reply(self, request: ReplyRequest) -> AsyncIterator[str | ReplyDone]:
        ctx = chat_turn(
            user_id=request.user_id,
            chat_id=request.chat_id,
            history=request.history,
            provider=self.provider,
            engine=self.engine,
            memory=self.memory,
            settings=self.settings,
        )
        sources: tuple[str, ...] = ()
        answer: dict[str, Any] | None = None
        async for event in self._pipeline.run(ctx, trace=request.spans):
            if isinstance(event, Sources):
                sources = source_lines(event)
                answer = event.sales.as_dict() if event.sales is not None else None
            elif isinstance(event, Delta):
                yield event.text
            elif isinstance(event, Done):
                usage = event.usage
                dropped = event.completion.dropped_messages if event.completion else 0
                yield ReplyDone(
                    usage.prompt_tokens if usage else 0,
                    usage.completion_tokens if usage else 0,
                    dropped,
                    sources,
                    first_token_s=usage.first_token_s if usage else None,
                    answer=_with_outcome(answer, event, self.settings.dashboard_url),
                )
        await anyio.to_thread.run_sync(self._remember, request, ctx.message)

    def check_fits(self, text: str) -> None:
        """Room for the template, the reply (``max_tokens``, capped by ``CHATDASH_CHAT_MAX_TOKENS``) and
        a share of the window for grounding."""
        system, reply_tokens = self._pipeline.prompt_frame()
        reply_tokens = reply_tokens or Options().max_tokens
        if self.settings.chat_max_tokens is not None:
            reply_tokens = min(reply_tokens, self.settings.chat_max_tokens)
        reserve = int(self.provider.context_window * GROUNDING_SHARE)
        check_fits(self.provider, text, system, reply_tokens, reserve)

    def forget_chat(self, user_id: int, chat_id: str) -> None:
        """A deleted chat is not recalled in later ones: its messages leave the vector memory too."""
        if self.memory is None:
            return
        try:
            ChatMemory(self.memory).forget_chat(str(user_id), chat_id)
        except ChatdashError as exc:  # the chat is deleted either way; say what could not be forgotten
            log.warning("chat %s is deleted but its memory points could not be removed: %s", chat_id, exc)

    def _remember(self, request: ReplyRequest, text: str) -> None:
        if self.memory is None:
            return
        message_id = f"{request.chat_id}:{len(request.history)}"
        try:
            ChatMemory(self.memory, min_score=self.settings.memory_min_score).remember(
                str(request.user_id), [Remembered(request.chat_id, message_id, "user", text)]
            )
        except ChatdashError:
            # Memory is an aid to later replies; losing one message must not fail this one.
            return


def default_responder(engine: Engine, settings: Settings) -> Responder:
    """The ``chat`` pipeline over the configured model, the sales data and the vector memory."""
    from chatdash.llm import get_provider
    from chatdash.memory import get_store

    try:
        memory: VectorStore | None = get_store(settings)
    except ChatdashError as exc:
        # e.g. the local folder is held by another process: replies go on without recall.
        log.warning("vector memory unavailable, replies will not recall earlier messages: %s", exc)
        memory = None
    return PipelineResponder(
        load_pipeline("chat"), get_provider(settings), engine=engine, memory=memory, settings=settings
    )


def _with_outcome(answer: dict[str, Any] | None, done: Done, dashboard: str) -> dict[str, Any] | None:
    """The answer with what became of the model's commentary and the link to its dashboard view; a
    declined question's reason."""
    for span in done.spans:
        if "declined" in span.attributes and isinstance(span.attributes["declined"], str):
            return {"declined": span.attributes["declined"]}
    if answer is None:
        return None
    check = next((s.attributes["figure_check"] for s in done.spans if "figure_check" in s.attributes), None)
    return {**answer, "commentary": check, "dashboard_url": dashboard_url(dashboard, answer["dashboard"])}


def source_lines(sources: Sources) -> tuple[str, ...]:
    """The grounding of a reply as lines a person reads under it: exact figures first."""
    lines: list[str] = []
    if sources.sales is not None:
        lines.append(sources.sales.figures())
    lines += [
        f"Document: {d.source}, line {d.start_line}" + (f" ({d.heading})" if d.heading else "")
        for d in sources.documents
    ]
    if sources.memories:
        lines.append(f"Recalled {len(sources.memories)} of your earlier messages")
    return tuple(lines)
