"""Chats, messages and feedback in the database, every read and write scoped by owner.

Each function takes the acting ``user_id`` and looks the chat up *with* it, so another user's chat id
raises ``NotFound`` exactly like a missing one: its existence never leaks. Messages get the next
``position`` in their chat inside the same transaction (and a unique constraint backs it), so order
never depends on timestamps.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from chatdash.db.engine import session_factory
from chatdash.db.models import Chat, ChatMessage, Feedback
from chatdash.errors import NotFound

TITLE_CHARS = 80
HISTORY_LIMIT = 200
"""Most turns handed to a reply; the provider trims them further to its context window."""
HISTORY_STATUSES = ("complete", "stopped")
"""Messages in those states reached the user, so a later reply answers them (errors do not)."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def title_from(text: str) -> str:
    """A chat title from its first message: the first line, cut at a word near ``TITLE_CHARS``."""
    line = " ".join(text.strip().split())[: TITLE_CHARS + 1]
    if len(line) > TITLE_CHARS:
        line = line[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return line or "New chat"


def _chat(session: Session, user_id: int, chat_id: str) -> Chat:
    chat = session.scalar(select(Chat).where(Chat.id == chat_id, Chat.user_id == user_id))
    if chat is None:
        raise NotFound(f"no chat {chat_id!r}")
    return chat


def create_chat(engine: Engine, user_id: int, title: str | None = None) -> Chat:
    """A new chat; without a title it takes one from its first message."""
    with session_factory(engine).begin() as session:
        chat = Chat(id=uuid.uuid4().hex, user_id=user_id, title=(title or "").strip()[:200] or "New chat")
        session.add(chat)
    return chat


def get_chat(engine: Engine, user_id: int, chat_id: str) -> Chat:
    with session_factory(engine)() as session:
        return _chat(session, user_id, chat_id)


def list_chats(engine: Engine, user_id: int, *, skip: int = 0, limit: int = 50) -> tuple[list[Chat], int]:
    """One page of the user's chats, most recently active first, and how many there are."""
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Chat).where(Chat.user_id == user_id)) or 0
        page = session.scalars(
            select(Chat)
            .where(Chat.user_id == user_id)
            .order_by(Chat.updated_at.desc(), Chat.id)
            .offset(skip)
            .limit(limit)
        )
        return list(page), count


def rename_chat(engine: Engine, user_id: int, chat_id: str, title: str) -> Chat:
    title = title.strip()
    if not title:
        raise ValueError("a chat title cannot be empty")
    with session_factory(engine).begin() as session:
        chat = _chat(session, user_id, chat_id)
        chat.title = title[:200]
    return chat


def delete_chat(engine: Engine, user_id: int, chat_id: str) -> None:
    with session_factory(engine).begin() as session:
        chat = _chat(session, user_id, chat_id)
        # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign keys on, and we do
        # not want correctness to hang on a pragma.
        ids = select(ChatMessage.id).where(ChatMessage.chat_id == chat.id)
        session.execute(delete(Feedback).where(Feedback.message_id.in_(ids)))
        session.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat.id))
        session.delete(chat)


def add_message(
    engine: Engine,
    user_id: int,
    chat_id: str,
    role: str,
    content: str,
    status: str = "complete",
) -> ChatMessage:
    """Append a message at the end of the chat; the first user message names an untitled chat."""
    with session_factory(engine).begin() as session:
        chat = _chat(session, user_id, chat_id)
        message = _append(session, chat, role, content, status, _next_position(session, chat.id))
        session.flush()
        return message


@dataclass(frozen=True, slots=True)
class Turn:
    """A new exchange: the user's message, the empty ``streaming`` reply after it, and the history that
    reply answers (what ``history_before`` gives for it, ending with the user's message)."""

    chat_id: str
    message: ChatMessage
    reply: ChatMessage
    history: list[ChatMessage]


def start_turn(
    engine: Engine,
    user_id: int,
    chat_id: str | None,
    text: str,
    earlier: Sequence[tuple[str, str]] = (),
) -> Turn:
    """Everything a reply needs before the model starts, in one transaction: the chat (a new one when
    ``chat_id`` is None), any ``earlier`` (role, content) messages, the user's message, an empty
    ``streaming`` reply, and the history that reply answers."""
    with session_factory(engine).begin() as session:
        if chat_id is None:
            chat = Chat(id=uuid.uuid4().hex, user_id=user_id, title="New chat")
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
        return Turn(chat.id, added[-1], reply, _history(session, chat.id, reply.position))


def _next_position(session: Session, chat_id: str) -> int:
    last = session.scalar(select(func.max(ChatMessage.position)).where(ChatMessage.chat_id == chat_id))
    return 0 if last is None else last + 1


def _append(session: Session, chat: Chat, role: str, content: str, status: str, position: int) -> ChatMessage:
    if role == "user" and chat.title == "New chat":
        chat.title = title_from(content)
    message = ChatMessage(chat_id=chat.id, position=position, role=role, content=content, status=status)
    chat.updated_at = now()
    session.add(message)
    return message


def list_messages(
    engine: Engine, user_id: int, chat_id: str, *, skip: int = 0, limit: int | None = None
) -> tuple[list[ChatMessage], int]:
    """Messages of the chat in order, one page of them, and how many there are."""
    with session_factory(engine)() as session:
        chat = _chat(session, user_id, chat_id)
        count = (
            session.scalar(
                select(func.count()).select_from(ChatMessage).where(ChatMessage.chat_id == chat.id)
            )
            or 0
        )
        query = (
            select(ChatMessage)
            .where(ChatMessage.chat_id == chat.id)
            .order_by(ChatMessage.position)
            .offset(skip)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.scalars(query)), count


def get_message(engine: Engine, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
    with session_factory(engine)() as session:
        return _message(session, user_id, chat_id, message_id)


def _message(session: Session, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
    chat = _chat(session, user_id, chat_id)
    message = session.scalar(
        select(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.chat_id == chat.id)
    )
    if message is None:
        raise NotFound(f"no message {message_id} in chat {chat_id!r}")
    return message


def history_before(engine: Engine, chat_id: str, position: int) -> list[ChatMessage]:
    """The turns a reply at ``position`` answers (see ``_history``)."""
    with session_factory(engine)() as session:
        return _history(session, chat_id, position)


def _history(session: Session, chat_id: str, position: int, limit: int = HISTORY_LIMIT) -> list[ChatMessage]:
    """Earlier messages that reached the user (no errors, no empty stops), the newest ``limit`` of them,
    in order. The provider trims them to its context."""
    rows = session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.chat_id == chat_id,
            ChatMessage.position < position,
            ChatMessage.status.in_(HISTORY_STATUSES),
            ChatMessage.content != "",
        )
        .order_by(ChatMessage.position.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def save_reply(
    engine: Engine,
    message_id: int,
    content: str,
    status: str,
    *,
    error: str | None = None,
    tokens: tuple[int, int] | None = None,
    sources: Sequence[str] | None = None,
) -> None:
    """Persist a reply's text and status (called periodically while it streams, and at the end)."""
    values: dict[str, object] = {"content": content, "status": status, "error": error, "updated_at": now()}
    if tokens is not None:
        values["prompt_tokens"], values["completion_tokens"] = tokens
    if sources:
        values["sources"] = json.dumps(list(sources))
    # A plain Core UPDATE on a connection: through a Session it is an ORM bulk update, which costs as much
    # again in Python to keep a session's objects in step that this function never has.
    with engine.begin() as connection:
        connection.execute(update(ChatMessage).where(ChatMessage.id == message_id).values(**values))


def close_abandoned(engine: Engine, older_than: dt.timedelta) -> int:
    """Mark replies left ``streaming`` by a process that died (no save for ``older_than``) as ``stopped``,
    keeping their partial text, so they can be retried instead of looking busy forever."""
    cutoff = now() - older_than
    with session_factory(engine).begin() as session:
        result = session.execute(
            update(ChatMessage)
            .where(ChatMessage.status == "streaming", ChatMessage.updated_at < cutoff)
            .values(status="stopped", error="interrupted: the server stopped while writing this reply")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reset_reply(engine: Engine, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
    """Make a failed or stopped reply ``streaming`` again, empty, for a retry."""
    with session_factory(engine).begin() as session:
        message = _message(session, user_id, chat_id, message_id)
        if message.role != "assistant":
            raise ValueError("only a reply can be retried")
        message.content, message.status, message.error = "", "streaming", None
        message.prompt_tokens = message.completion_tokens = None
        return message


def update_reply(
    engine: Engine, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
) -> ChatMessage:
    """Change the given fields of one of the user's replies (the data API's ``PATCH`` of a message:
    a ui writing a reply saves its text, status, error, token counts and sources this way)."""
    allowed = {"content", "status", "error", "prompt_tokens", "completion_tokens", "sources"}
    if unknown := set(changes) - allowed:
        raise ValueError(f"a reply update may not change {', '.join(sorted(unknown))}")
    with session_factory(engine).begin() as session:
        message = _message(session, user_id, chat_id, message_id)
        if message.role != "assistant":
            raise ValueError("only a reply can be updated, not the user's own message")
        for name, value in changes.items():
            if name == "sources":
                value = json.dumps(list(value)) if value else None  # type: ignore[call-overload]
            setattr(message, name, value)
        message.updated_at = now()
        return message


def set_feedback(
    engine: Engine, user_id: int, chat_id: str, message_id: int, rating: int, comment: str | None
) -> Feedback:
    """Record (or change) the user's thumbs up (+1) / down (-1) on one of their replies."""
    if rating not in (-1, 1):
        raise ValueError("rating is 1 (thumbs up) or -1 (thumbs down)")
    with session_factory(engine).begin() as session:
        message = _message(session, user_id, chat_id, message_id)
        if message.role != "assistant":
            raise ValueError("feedback is for replies, not for your own messages")
        feedback = session.scalar(
            select(Feedback).where(Feedback.message_id == message.id, Feedback.user_id == user_id)
        )
        if feedback is None:
            feedback = Feedback(message_id=message.id, user_id=user_id, rating=rating)
            session.add(feedback)
        feedback.rating, feedback.comment = rating, (comment or "").strip() or None
        session.flush()
        return feedback


def chat_feedback(engine: Engine, user_id: int, chat_id: str) -> dict[int, Feedback]:
    """The user's feedback on the replies of one of their chats, by message id."""
    with session_factory(engine)() as session:
        chat = _chat(session, user_id, chat_id)
        rows = session.scalars(
            select(Feedback)
            .join(ChatMessage, ChatMessage.id == Feedback.message_id)
            .where(ChatMessage.chat_id == chat.id, Feedback.user_id == user_id)
        )
        return {row.message_id: row for row in rows}
