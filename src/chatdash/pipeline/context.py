"""The inputs of one pipeline run (``RunContext``) and what its steps hand each other (``State``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from chatdash.config import Settings, get_settings
from chatdash.llm.provider import Provider
from chatdash.llm.types import Completion, Message
from chatdash.memory.chat import Recalled
from chatdash.memory.documents import Passage
from chatdash.memory.store import VectorStore
from chatdash.sales.answer import SalesAnswer
from chatdash.sales.question import QuerySpec


@dataclass(frozen=True)
class RunContext:
    """Everything a reply needs, given by the caller (the chat service, the API, the test bed).

    ``owner`` scopes every memory and document read: steps never see another user's points.
    ``history`` holds the chat's earlier turns, oldest first, without ``message`` (the new user
    message); the provider trims it to the context window. ``engine`` None skips sales questions,
    ``memory`` None skips retrieval. ``llm_options`` override the pipeline file's generation
    options for this run (e.g. ``{"max_tokens": 64}``); unknown names are refused.
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


@dataclass
class State:
    """What steps produce for the steps after them; ``extra`` is free for steps from outside."""

    memories: list[Recalled] = field(default_factory=list)
    documents: list[Passage] = field(default_factory=list)
    spec: QuerySpec | None = None
    sales: SalesAnswer | None = None
    messages: list[Message] = field(default_factory=list)
    """The prompt for the ``llm`` step (set by ``template``); empty means history + message."""
    completion: Completion | None = None
    extra: dict[str, Any] = field(default_factory=dict)
