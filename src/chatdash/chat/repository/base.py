"""What ``ChatService`` needs from wherever chats live, and the input rules it applies before any of them.

``ChatRepository`` is the seam: the database (``SqlRepository``) or, for ``chatdash serve --role ui``
with ``CHATDASH_DB_API_URL``, the data API over HTTP (``HttpRepository``). Every operation takes the
acting ``user_id`` first, so scoping never depends on a caller remembering it: another user's chat or
message is ``NotFound``, exactly like a missing one.

Rules that need no stored row (a title, a rating, a comment) are plain functions here, applied by the
service before it calls any repository. Rules that need the row (only a reply can be retried, saved or
rated; a reply being written cannot be retried) live in the SQL, which the HTTP repository reaches
through the data API, so each is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chatdash.db.models import Chat, ChatMessage, Feedback
from chatdash.errors import InvalidInput

TITLE_MAX = 200
"""The longest title a chat keeps (the column's size)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """A reply about to be written: the ``streaming`` reply and the history it answers, oldest first,
    ending with the user's message (a new turn's, or the one a retried reply answers)."""

    chat_id: str
    reply: ChatMessage
    history: list[ChatMessage]


def check_text(text: str) -> str:
    """Text any database can store: PostgreSQL refuses NUL characters, so neither takes them."""
    if "\x00" in text:
        raise InvalidInput("text may not contain NUL characters (\\u0000); remove them and send it again")
    return text


def clean_title(title: str) -> str:
    """A title a person gave: stripped, at most ``TITLE_MAX`` characters, never empty."""
    title = check_text(title).strip()
    if not title:
        raise InvalidInput("a chat title cannot be empty")
    return title[:TITLE_MAX]


def check_rating(rating: int) -> int:
    if rating not in (-1, 1):
        raise InvalidInput("rating is 1 (thumbs up) or -1 (thumbs down)")
    return rating


def clean_comment(comment: str | None) -> str | None:
    return check_text(comment or "").strip() or None


class ChatRepository(Protocol):
    """Chats, messages and feedback, scoped by the acting user."""

    def create_chat(self, user_id: int, title: str | None) -> Chat:
        """A new chat; ``title`` None names it after its first message."""
        ...

    def get_chat(self, user_id: int, chat_id: str) -> Chat: ...
    def list_chats(self, user_id: int, *, skip: int, limit: int) -> tuple[list[Chat], int]: ...
    def rename_chat(self, user_id: int, chat_id: str, title: str) -> Chat: ...
    def delete_chat(self, user_id: int, chat_id: str) -> None: ...
    def add_message(self, user_id: int, chat_id: str, role: str, content: str) -> ChatMessage: ...

    def start_turn(
        self, user_id: int, chat_id: str | None, text: str, earlier: Sequence[tuple[str, str]] = ()
    ) -> Turn:
        """In one transaction: the chat (a new one when ``chat_id`` is None), any ``earlier`` (role,
        content) messages, the user's message and an empty ``streaming`` reply, with its history."""
        ...

    def reset_reply(self, user_id: int, chat_id: str, message_id: int) -> Turn:
        """A failed or stopped reply made ``streaming`` and empty again for a retry, with its history;
        ``Conflict`` while it is being written, ``InvalidInput`` for a user's own message."""
        ...

    def list_messages(
        self, user_id: int, chat_id: str, *, skip: int = 0, limit: int | None = None
    ) -> tuple[list[ChatMessage], int]: ...
    def get_message(self, user_id: int, chat_id: str, message_id: int) -> ChatMessage: ...

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
    ) -> None:
        """A reply's text and status, saved by its writer while it streams and at the end."""
        ...

    def update_reply(
        self, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
    ) -> ChatMessage:
        """Change some of a reply's content, status, error, token counts, sources and answer (the data API's
        ``PATCH``); ``InvalidInput`` for any other field or a user's own message."""
        ...

    def set_feedback(
        self, user_id: int, chat_id: str, message_id: int, rating: int, comment: str | None
    ) -> Feedback: ...
    def chat_feedback(self, user_id: int, chat_id: str) -> dict[int, Feedback]: ...

    def renew_leases(self, replies: Sequence[tuple[int, str, int]]) -> None:
        """The heartbeat of ``streaming`` replies this process writes, as (user, chat, message) ids: a
        reply with no save or heartbeat for its lease reads as ``stopped`` and may be retried."""
        ...

    def close_abandoned(self) -> int:
        """Store as ``stopped`` the replies whose lease has expired (what reads already show); how many."""
        ...

    def close(self) -> None:
        """Release connections the repository holds (process exit)."""
        ...
