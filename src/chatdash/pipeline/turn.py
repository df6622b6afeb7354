"""The one place a chat turn becomes a pipeline run: the web pages, ``/api/chat``, the OpenAI-compatible
endpoint (all through ``ChatService``) and the test bed build their runs here, so a reply and a test-bed
case are the same run given the same turn, and nothing drifts between copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from chatdash.config import Settings
from chatdash.llm import Message, Provider
from chatdash.memory import VectorStore
from chatdash.pipeline.context import RunContext


def chat_turn(
    *,
    user_id: int | str,
    chat_id: str | None,
    history: Sequence[Message],
    provider: Provider,
    engine: Engine | None,
    memory: VectorStore | None,
    settings: Settings,
    llm_options: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    pinned: Mapping[str, Any] | None = None,
) -> RunContext:
    """The run answering the last message of ``history`` (the user's), with the turns before it as the
    chat's history, the user's memory and documents, the sales data, and the reply capped at
    ``CHATDASH_CHAT_MAX_TOKENS``. ``llm_options``, ``inputs`` and ``pinned`` are the test bed's."""
    if not history or history[-1].role != "user":
        raise ValueError("a chat turn answers a user's message: history must end with one")
    *earlier, last = history
    return RunContext(
        owner=str(user_id),
        message=last.content,
        provider=provider,
        history=earlier,
        chat_id=chat_id,
        engine=engine,
        memory=memory,
        settings=settings,
        llm_options=dict(llm_options or {}),
        max_tokens=settings.chat_max_tokens,
        inputs=dict(inputs or {}),
        pinned=dict(pinned or {}),
    )
