"""The inputs of one pipeline run (``RunContext``) and what its steps hand each other (``State``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from chatdash.config import Settings, get_settings
from chatdash.llm import Completion, Message, Provider
from chatdash.memory import Passage, Recalled, VectorStore
from chatdash.sales import QuerySpec, SalesAnswer


@dataclass(frozen=True)
class RunContext:
    """Everything a reply needs, given by the caller (the chat service, the API, the test bed).

    ``owner`` scopes every memory and document read: steps never see another user's points.
    ``history`` holds the chat's earlier turns, oldest first, without ``message`` (the new user
    message); the provider trims it to the context window. ``engine`` None skips sales questions,
    ``memory`` None skips retrieval. ``llm_options`` deliberately override the pipeline file's
    generation options for this run (a test-bed variant, a fixed seed); unknown names are refused.
    ``max_tokens`` caps every ``llm`` step of the run after that: it lowers the file's value, never
    raises it (the chat passes ``CHATDASH_CHAT_MAX_TOKENS`` here, not as an override).
    """

    owner: str
    message: str
    provider: Provider
    history: Sequence[Message] = ()
    chat_id: str | None = None
    engine: Engine | None = None
    memory: VectorStore | None = None
    settings: Settings = field(default_factory=get_settings)
    llm_options: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None


@dataclass
class State:
    """What steps produce for the steps after them; ``extra`` is free for steps from outside."""

    memories: list[Recalled] = field(default_factory=list)
    documents: list[Passage] = field(default_factory=list)
    spec: QuerySpec | None = None
    sales: SalesAnswer | None = None
    declined: str | None = None
    """A sales question that cannot be answered as asked: why, and what the data has (or a question
    back). The reply says this instead of the model guessing."""
    messages: list[Message] = field(default_factory=list)
    """The prompt for the ``llm`` step (set by ``template``); empty means history + message."""
    completion: Completion | None = None
    extra: dict[str, Any] = field(default_factory=dict)
