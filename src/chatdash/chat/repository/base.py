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

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A chat found by a search: through its title (``message_id`` None) or one of its messages.
    ``snippet`` is the matching passage with each matched term between ``MARK`` and ``END_MARK``."""

    chat_id: str
    title: str
    message_id: int | None
    role: str | None
    snippet: str
    updated_at: dt.datetime


MARK, END_MARK = "\x02", "\x03"
"""Around the matched terms of a ``SearchHit.snippet``: characters no stored text holds."""
SEARCH_TERMS = 12
"""The most words of a search that count."""


def search_terms(query: str) -> list[str]:
    """The words of a search, without the punctuation that full-text query languages give meaning to."""
    return re.findall(r"\w+", query)[:SEARCH_TERMS]


def marks(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """A marked snippet as its plain text and the [start, end) of each marked term in it."""
    plain, spans, start = [], [], 0
    for i, piece in enumerate(re.split(f"[{MARK}{END_MARK}]", snippet)):
        if i % 2:
            spans.append((start, start + len(piece)))
        plain.append(piece)
        start += len(piece)
    return "".join(plain), spans


def marked(plain: str, spans: Sequence[Sequence[int]]) -> str:
    """``marks`` undone: the snippet with ``MARK`` and ``END_MARK`` around each span."""
    out, at = [], 0
    for start, end in spans:
        out += [plain[at:start], MARK, plain[start:end], END_MARK]
        at = end
    return "".join([*out, plain[at:]])


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


FeedbackKind = Literal["thumbs", "stars", "scale"]


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating as given (``rating``: thumbs -1 or 1, stars 1 to 5; a scale has none) and its score in
    [0, 1], the one number every kind maps to."""

    kind: FeedbackKind
    rating: int | None
    score: float


def check_rating(kind: str, value: float) -> Rating:
    """Thumbs -1/1, stars 1..5 or a scale 0..1 as a ``Rating``; ``InvalidInput`` saying the range."""
    if kind == "thumbs":
        if value not in (-1, 1) or isinstance(value, bool):
            raise InvalidInput("rating is 1 (thumbs up) or -1 (thumbs down)")
        return Rating("thumbs", int(value), (value + 1) / 2)
    if kind == "stars":
        if value not in (1, 2, 3, 4, 5) or isinstance(value, bool):
            raise InvalidInput("stars are a whole number from 1 to 5")
        return Rating("stars", int(value), (value - 1) / 4)
    if kind == "scale":
        if not 0 <= value <= 1 or isinstance(value, bool):
            raise InvalidInput("a scale rating is a number from 0 to 1")
        return Rating("scale", None, float(value))
    raise InvalidInput(f"unknown kind of rating {kind!r}: thumbs, stars or scale")


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

    def edit_turn(self, user_id: int, chat_id: str, message_id: int, text: str) -> Turn:
        """One of the user's messages rewritten, the turns after it dropped (their feedback too) and an
        empty ``streaming`` reply after it, with its history: edit and resend replaces what followed.
        ``Conflict`` for a reply, or while a reply in the chat is being written."""
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
        trace_id: str | None = None,
    ) -> None:
        """A reply's text and status, saved by its writer while it streams and at the end."""
        ...

    def update_reply(
        self, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
    ) -> ChatMessage:
        """Change some of a reply's content, status, error, token counts, sources and answer (the data API's
        ``PATCH``); ``InvalidInput`` for any other field or a user's own message."""
        ...

    def search(self, user_id: int, query: str, *, limit: int) -> list[SearchHit]:
        """The user's chats whose title or messages hold every word of ``query`` (stemmed: "lamps"
        finds "lamp"), title matches first, then the best-matching messages."""
        ...

    def set_feedback(
        self, user_id: int, chat_id: str, message_id: int, rating: Rating, comment: str | None
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
