"""Chats, messages and feedback in the database, every read and write scoped by owner.

Each method looks the chat up *with* the acting ``user_id``, so another user's chat id raises
``NotFound`` exactly like a missing one: its existence never leaks. Messages get the next ``position``
in their chat inside the same transaction (and a unique constraint backs it), so order never depends
on timestamps.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, and_, delete, func, select, text, update
from sqlalchemy.orm import Session

from chatdash.chat.repository.base import END_MARK, MARK, Rating, SearchHit, Turn, search_terms
from chatdash.db.engine import session_factory
from chatdash.db.models import Chat, ChatMessage, Feedback, UtcDateTime
from chatdash.errors import Conflict, InvalidInput, NotFound

UNTITLED = "New chat"
TITLE_CHARS = 80
"""A title taken from a first message is cut near this many characters."""
HISTORY_LIMIT = 200
"""Most turns handed to a reply; the provider trims them further to its context window."""
HISTORY_STATUSES = ("complete", "stopped")
"""Messages in those states reached the user, so a later reply answers them (errors do not)."""
REPLY_FIELDS = frozenset(
    {"content", "status", "error", "prompt_tokens", "completion_tokens", "sources", "answer", "trace_id"}
)
"""What the writer of a reply may change (``update_reply``)."""
REPLY_LEASE = dt.timedelta(seconds=15)
"""How long a ``streaming`` reply stays its writer's with no save or heartbeat (the default of
``CHATDASH_CHAT_REPLY_LEASE_SECONDS``)."""
INTERRUPTED = "interrupted: the server writing this reply stopped; retry it"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def title_from(text: str) -> str:
    """A chat title from its first message: the first line, cut at a word near ``TITLE_CHARS``."""
    line = " ".join(text.strip().split())[: TITLE_CHARS + 1]
    if len(line) > TITLE_CHARS:
        line = line[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return line or UNTITLED


class SqlRepository:
    """The chats of the database behind ``engine`` (SQLite or PostgreSQL).

    A ``streaming`` reply is leased to its writer: every save and heartbeat (``renew_leases``) moves its
    ``updated_at``, and one not moved for ``lease`` has lost its writer (a killed process, a lost final
    save). Every read shows it ``stopped`` with ``INTERRUPTED`` and a retry may take it over; the row
    itself changes only when a writer saves again or ``close_abandoned`` runs, so nothing is lost if the
    writer was only slow.
    """

    def __init__(self, engine: Engine, *, lease: dt.timedelta = REPLY_LEASE) -> None:
        self.engine = engine
        self.lease = lease
        self._sessions = session_factory(engine)

    def create_chat(self, user_id: int, title: str | None) -> Chat:
        with self._sessions.begin() as session:
            chat = Chat(id=uuid.uuid4().hex, user_id=user_id, title=title or UNTITLED)
            session.add(chat)
        return chat

    def get_chat(self, user_id: int, chat_id: str) -> Chat:
        with self._sessions() as session:
            return _chat(session, user_id, chat_id)

    def list_chats(self, user_id: int, *, skip: int = 0, limit: int = 50) -> tuple[list[Chat], int]:
        """One page of the user's chats, most recently active first, and how many there are."""
        with self._sessions() as session:
            count = session.scalar(select(func.count()).select_from(Chat).where(Chat.user_id == user_id))
            page = session.scalars(
                select(Chat)
                .where(Chat.user_id == user_id)
                .order_by(Chat.updated_at.desc(), Chat.id)
                .offset(skip)
                .limit(limit)
            )
            return list(page), count or 0

    def rename_chat(self, user_id: int, chat_id: str, title: str) -> Chat:
        with self._sessions.begin() as session:
            chat = _chat(session, user_id, chat_id)
            chat.title = title
        return chat

    def delete_chat(self, user_id: int, chat_id: str) -> None:
        with self._sessions.begin() as session:
            chat = _chat(session, user_id, chat_id)
            # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign keys on, and we do
            # not want correctness to hang on a pragma.
            ids = select(ChatMessage.id).where(ChatMessage.chat_id == chat.id)
            session.execute(delete(Feedback).where(Feedback.message_id.in_(ids)))
            session.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat.id))
            session.delete(chat)

    def add_message(self, user_id: int, chat_id: str, role: str, content: str) -> ChatMessage:
        """Append a message at the end of the chat; the first user message names an untitled chat."""
        with self._sessions.begin() as session:
            chat = _chat(session, user_id, chat_id)
            message = _append(session, chat, role, content, "complete", _next_position(session, chat.id))
            session.flush()
            return message

    def start_turn(
        self, user_id: int, chat_id: str | None, text: str, earlier: Sequence[tuple[str, str]] = ()
    ) -> Turn:
        with self._sessions.begin() as session:
            if chat_id is None:
                chat = Chat(id=uuid.uuid4().hex, user_id=user_id, title=UNTITLED)
                session.add(chat)
                position = 0
            else:
                chat = _chat(session, user_id, chat_id)
                position = _next_position(session, chat.id)
            added = [
                _append(session, chat, role, content, "complete", position + i)
                for i, (role, content) in enumerate([*earlier, ("user", text)])
            ]
            reply = _append(session, chat, "assistant", "", "streaming", position + len(added))
            session.flush()  # one batched INSERT for the messages, and their ids
            return Turn(chat.id, reply, _history(session, chat.id, reply.position))

    def reset_reply(self, user_id: int, chat_id: str, message_id: int) -> Turn:
        with self._sessions.begin() as session:
            message = _reply(session, user_id, chat_id, message_id, "only a reply can be retried")
            if message.status == "streaming" and not self._expired(message):
                raise Conflict("this reply is still being written; stop it before retrying")
            history = _history(session, message.chat_id, message.position)
            if not history or history[-1].role != "user":
                raise Conflict("this reply follows no message of yours, so there is nothing to write it from")
            message.content, message.status, message.error = "", "streaming", None
            message.prompt_tokens = message.completion_tokens = None
            message.updated_at = now()
            return Turn(chat_id, message, history)

    def edit_turn(self, user_id: int, chat_id: str, message_id: int, text: str) -> Turn:
        with self._sessions.begin() as session:
            message = _message(session, user_id, chat_id, message_id)
            if message.role != "user":
                raise Conflict("only your own messages can be edited; a reply can be retried")
            later = (ChatMessage.chat_id == message.chat_id, ChatMessage.position > message.position)
            if any(
                r.status == "streaming" and not self._expired(r)
                for r in session.scalars(select(ChatMessage).where(*later))
            ):
                raise Conflict("a reply is still being written in this chat; wait for it or stop it")
            session.execute(
                delete(Feedback).where(Feedback.message_id.in_(select(ChatMessage.id).where(*later)))
            )
            session.execute(delete(ChatMessage).where(*later))
            message.content, message.updated_at = text, now()
            chat = _chat(session, user_id, chat_id)
            reply = _append(session, chat, "assistant", "", "streaming", message.position + 1)
            session.flush()
            return Turn(chat.id, reply, _history(session, chat.id, reply.position))

    def list_messages(
        self, user_id: int, chat_id: str, *, skip: int = 0, limit: int | None = None
    ) -> tuple[list[ChatMessage], int]:
        """Messages of the chat in order, one page of them, and how many there are."""
        with self._sessions() as session:
            chat = _chat(session, user_id, chat_id)
            count = session.scalar(
                select(func.count()).select_from(ChatMessage).where(ChatMessage.chat_id == chat.id)
            )
            query = (
                select(ChatMessage)
                .where(ChatMessage.chat_id == chat.id)
                .order_by(ChatMessage.position)
                .offset(skip)
            )
            if limit is not None:
                query = query.limit(limit)
            rows = list(session.scalars(query))
        return [self._as_read(row) for row in rows], count or 0

    def get_message(self, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
        with self._sessions() as session:
            message = _message(session, user_id, chat_id, message_id)
        return self._as_read(message)

    def renew_leases(self, replies: Sequence[tuple[int, str, int]]) -> None:
        """The heartbeat of the replies this process writes, as (user, chat, message) ids: one UPDATE."""
        if not replies:
            return
        ids = [message_id for _, _, message_id in replies]
        with self.engine.begin() as connection:
            connection.execute(
                update(ChatMessage)
                .where(ChatMessage.id.in_(ids), ChatMessage.status == "streaming")
                .values(updated_at=now())
            )

    def save_reply(
        self,
        user_id: int,
        chat_id: str,
        message_id: int,
        content: str,
        status: str,
        *,
        error: str | None = None,
        tokens: tuple[int, int] | None = None,
        sources: Sequence[str] | None = None,
        answer: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> None:
        """No ownership lookup: only the writer of a reply saves it, and it created the reply for this
        user moments before (this is on the way to every token the user reads)."""
        values: dict[str, object] = {"content": content, "status": status, "error": error}
        values["updated_at"] = now()
        if tokens is not None:
            values["prompt_tokens"], values["completion_tokens"] = tokens
        if sources:
            values["sources"] = json.dumps(list(sources))
        if answer:
            values["answer"] = json.dumps(dict(answer))
        if trace_id is not None:
            values["trace_id"] = trace_id
        # A plain Core UPDATE on a connection: through a Session it is an ORM bulk update, which costs as
        # much again in Python to keep a session's objects in step that this method never has.
        with self.engine.begin() as connection:
            connection.execute(update(ChatMessage).where(ChatMessage.id == message_id).values(**values))

    def update_reply(
        self, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
    ) -> ChatMessage:
        if unknown := set(changes) - REPLY_FIELDS:
            raise InvalidInput(f"a reply update may not change {', '.join(sorted(unknown))}")
        with self._sessions.begin() as session:
            refusal = "only a reply can be updated, not the user's own message"
            message = _reply(session, user_id, chat_id, message_id, refusal)
            for name, value in changes.items():
                if name == "sources":
                    value = json.dumps(list(value)) if value else None  # type: ignore[call-overload]
                elif name == "answer":
                    value = json.dumps(value) if value else None
                setattr(message, name, value)
            message.updated_at = now()
            return message

    def search(self, user_id: int, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Titles by substring; messages by the database's full-text index (SQLite FTS5, PostgreSQL
        ``to_tsvector('english', ...)``, migration 0006), best match first."""
        words = search_terms(query)
        if not words:
            return []
        with self.engine.connect() as connection:
            titled = connection.execute(
                select(Chat.id, Chat.title, Chat.updated_at)
                .where(Chat.user_id == user_id, and_(*(Chat.title.ilike(f"%{w}%") for w in words)))
                .order_by(Chat.updated_at.desc())
                .limit(limit)
            ).all()
            hits = [
                SearchHit(c.id, c.title, None, None, _marked(c.title, words), c.updated_at) for c in titled
            ]
            found = connection.execute(
                _SEARCH[connection.dialect.name],
                {
                    "user_id": user_id,
                    "limit": limit,
                    "match": " ".join(f'"{w}"' for w in words),
                    "words": " ".join(words),
                    "marks": f"StartSel={MARK}, StopSel={END_MARK}, MaxWords=24, MinWords=10",
                    "mark": MARK,
                    "end_mark": END_MARK,
                },
            ).all()
        hits += [
            SearchHit(row.chat_id, row.title, row.id, row.role, row.snippet, row.updated_at) for row in found
        ]
        return hits[:limit]

    def set_feedback(
        self, user_id: int, chat_id: str, message_id: int, rating: Rating, comment: str | None
    ) -> Feedback:
        """Record (or replace) the user's rating of one of their replies."""
        with self._sessions.begin() as session:
            message = _reply(
                session, user_id, chat_id, message_id, "feedback is for replies, not for your own messages"
            )
            feedback = session.scalar(
                select(Feedback).where(Feedback.message_id == message.id, Feedback.user_id == user_id)
            )
            if feedback is None:
                feedback = Feedback(message_id=message.id, user_id=user_id)
                session.add(feedback)
            feedback.kind, feedback.rating, feedback.score = rating.kind, rating.rating, rating.score
            feedback.comment = comment
            session.flush()
            return feedback

    def chat_feedback(self, user_id: int, chat_id: str) -> dict[int, Feedback]:
        """The user's feedback on the replies of one of their chats, by message id."""
        with self._sessions() as session:
            chat = _chat(session, user_id, chat_id)
            rows = session.scalars(
                select(Feedback)
                .join(ChatMessage, ChatMessage.id == Feedback.message_id)
                .where(ChatMessage.chat_id == chat.id, Feedback.user_id == user_id)
            )
            return {row.message_id: row for row in rows}

    def close_abandoned(self) -> int:
        """Stores what every read already shows of replies whose lease has expired: ``stopped``, with
        their partial text."""
        cutoff = now() - self.lease
        with self._sessions.begin() as session:
            result = session.execute(
                update(ChatMessage)
                .where(ChatMessage.status == "streaming", ChatMessage.updated_at < cutoff)
                .values(status="stopped", error=INTERRUPTED)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _expired(self, message: ChatMessage) -> bool:
        return message.status == "streaming" and message.updated_at < now() - self.lease

    def _as_read(self, message: ChatMessage) -> ChatMessage:
        """A reply whose writer's lease has expired reads as ``stopped`` (on a detached row: the stored
        one is left for a writer that was only slow)."""
        if self._expired(message):
            message.status, message.error = "stopped", INTERRUPTED
        return message

    def close(self) -> None:
        """The engine belongs to the caller."""


def _chat(session: Session, user_id: int, chat_id: str) -> Chat:
    if "\x00" in chat_id:  # no chat has one (PostgreSQL refuses it in a query: an error, not a miss)
        raise NotFound(f"no chat {chat_id!r}")
    chat = session.scalar(select(Chat).where(Chat.id == chat_id, Chat.user_id == user_id))
    if chat is None:
        raise NotFound(f"no chat {chat_id!r}")
    return chat


def _message(session: Session, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
    chat = _chat(session, user_id, chat_id)
    message = session.scalar(
        select(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.chat_id == chat.id)
    )
    if message is None:
        raise NotFound(f"no message {message_id} in chat {chat_id!r}")
    return message


def _reply(session: Session, user_id: int, chat_id: str, message_id: int, refusal: str) -> ChatMessage:
    """One of the user's replies; ``refusal`` is the ``Conflict`` message for their own messages (the
    request is well formed; the message it names is not a reply)."""
    message = _message(session, user_id, chat_id, message_id)
    if message.role != "assistant":
        raise Conflict(refusal)
    return message


def _next_position(session: Session, chat_id: str) -> int:
    last = session.scalar(select(func.max(ChatMessage.position)).where(ChatMessage.chat_id == chat_id))
    return 0 if last is None else last + 1


def _append(session: Session, chat: Chat, role: str, content: str, status: str, position: int) -> ChatMessage:
    if role == "user" and chat.title == UNTITLED:
        chat.title = title_from(content)
    message = ChatMessage(chat_id=chat.id, position=position, role=role, content=content, status=status)
    chat.updated_at = now()
    session.add(message)
    return message


def _history(session: Session, chat_id: str, position: int) -> list[ChatMessage]:
    """Earlier messages that reached the user (no errors, no empty stops), the newest ``HISTORY_LIMIT``
    of them, in order."""
    rows = session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.chat_id == chat_id,
            ChatMessage.position < position,
            ChatMessage.status.in_(HISTORY_STATUSES),
            ChatMessage.content != "",
        )
        .order_by(ChatMessage.position.desc())
        .limit(HISTORY_LIMIT)
    )
    return list(reversed(list(rows)))


_SEARCH = {
    "sqlite": text(
        "SELECT m.id, m.chat_id, m.role, c.title, c.updated_at, "
        "snippet(messages_fts, 0, :mark, :end_mark, '…', 16) AS snippet "
        "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN chats c ON c.id = m.chat_id "
        "WHERE messages_fts MATCH :match AND c.user_id = :user_id "
        "ORDER BY bm25(messages_fts) LIMIT :limit"
    ).columns(updated_at=UtcDateTime),
    "postgresql": text(
        "SELECT m.id, m.chat_id, m.role, c.title, c.updated_at, "
        "ts_headline('english', m.content, q, :marks) AS snippet "
        "FROM messages m JOIN chats c ON c.id = m.chat_id, plainto_tsquery('english', :words) AS q "
        "WHERE to_tsvector('english', m.content) @@ q AND c.user_id = :user_id "
        "ORDER BY ts_rank(to_tsvector('english', m.content), q) DESC LIMIT :limit"
    ).columns(updated_at=UtcDateTime),
}
"""A message search per dialect: the user's messages holding every word, best first, with a snippet."""


def _marked(title: str, words: Sequence[str]) -> str:
    """``title`` with each word holding a searched one marked whole, as the databases mark snippets."""
    pattern = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.sub(f"(?i)\\w*(?:{pattern})\\w*", lambda m: f"{MARK}{m.group(0)}{END_MARK}", title)
