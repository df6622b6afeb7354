"""Chat memory: past messages a user can be reminded of, found by meaning.

As in the published production API: every new message is embedded and stored, and before answering,
the most relevant earlier messages (10 by default) are recalled to give the model context beyond its
window. Recall is always for one user; it can span all their chats or stay within one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from qdrant_client import models

from chatdash.llm import Role
from chatdash.memory.store import VectorStore, field_is, point_id


@dataclass(frozen=True, slots=True)
class Remembered:
    """A message to store: ``message_id`` makes storing it twice harmless."""

    chat_id: str
    message_id: str
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Recalled:
    """A stored message recalled for a query, with its cosine similarity (higher is closer)."""

    chat_id: str
    message_id: str
    role: str
    text: str
    score: float
    created_at: float


@dataclass(frozen=True, slots=True)
class Kept:
    """A stored message as its owner sees it in their list: ``id`` (the point's) forgets it."""

    id: str
    chat_id: str
    text: str
    created_at: float


class ChatMemory:
    """The chat-memory collection of a ``VectorStore``, seen per user."""

    def __init__(self, store: VectorStore, *, min_score: float = 0.3) -> None:
        self.store = store
        self.min_score = min_score

    def remember(self, owner: str, messages: Sequence[Remembered]) -> None:
        """Embed and store ``messages`` of ``owner`` (one batch, one round trip)."""
        if not messages:
            return
        vectors = self.store.embed([m.text for m in messages])
        now = time.time()
        points = [
            models.PointStruct(
                id=point_id("chat", owner, m.chat_id, m.message_id),
                vector=vector,
                payload={
                    "chat_id": m.chat_id,
                    "message_id": m.message_id,
                    "role": m.role,
                    "text": m.text,
                    "created_at": now,
                },
            )
            for m, vector in zip(messages, vectors, strict=True)
        ]
        self.store.upsert("chat", owner, points)

    def recall(
        self,
        owner: str,
        query: str,
        *,
        k: int = 10,
        min_score: float | None = None,
        chat_id: str | None = None,
    ) -> list[Recalled]:
        """``owner``'s ``k`` stored messages closest in meaning to ``query``, best first.

        Messages scoring under ``min_score`` (default: the store's floor, CHATDASH_MEMORY_MIN_SCORE)
        are left out: an unrelated memory misleads a small model more than no memory.
        """
        conditions = [field_is("chat_id", chat_id)] if chat_id else []
        floor = self.min_score if min_score is None else min_score
        points = self.store.search("chat", owner, query, conditions=conditions, limit=k, min_score=floor)
        return [
            Recalled(
                chat_id=str(p.payload["chat_id"]),
                message_id=str(p.payload["message_id"]),
                role=str(p.payload["role"]),
                text=str(p.payload["text"]),
                score=float(p.score),
                created_at=float(p.payload["created_at"]),
            )
            for p in points
            if p.payload
        ]

    def kept(self, owner: str) -> list[Kept]:
        """Everything ``owner``'s chats keep in memory, newest first."""
        kept = [
            Kept(str(r.id), str(r.payload["chat_id"]), str(r.payload["text"]), float(r.payload["created_at"]))
            for r in self.store.scroll("chat", owner)
            if r.payload
        ]
        return sorted(kept, key=lambda k: k.created_at, reverse=True)

    def forget(self, owner: str, memory_id: str) -> bool:
        """Forget one of ``owner``'s stored messages; False when they have none with that id."""
        this = [models.HasIdCondition(has_id=[memory_id])]
        if not self.store.count("chat", owner, this):
            return False
        self.store.delete("chat", owner, this)
        return True

    def count(self, owner: str, chat_id: str | None = None) -> int:
        return self.store.count("chat", owner, [field_is("chat_id", chat_id)] if chat_id else [])

    def forget_chat(self, owner: str, chat_id: str) -> None:
        """Delete one chat's messages (when the user deletes the chat)."""
        self.store.delete("chat", owner, [field_is("chat_id", chat_id)])

    def forget_user(self, owner: str) -> None:
        """Delete every message ``owner`` ever stored."""
        self.store.delete("chat", owner)
