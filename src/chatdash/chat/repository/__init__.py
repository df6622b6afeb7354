"""Where chats, messages and feedback live: the protocol and its rules (``base``), the database
(``sql``), and the data API over HTTP for the split deployment's ui (``http``)."""

from chatdash.chat.repository.base import (
    END_MARK,
    MARK,
    ChatRepository,
    FeedbackKind,
    Rating,
    SearchHit,
    Turn,
    check_rating,
    check_text,
    clean_comment,
    clean_title,
    marked,
    marks,
)
from chatdash.chat.repository.http import USER_HEADER, HttpRepository
from chatdash.chat.repository.sql import SqlRepository

__all__ = [
    "END_MARK",
    "MARK",
    "USER_HEADER",
    "ChatRepository",
    "FeedbackKind",
    "HttpRepository",
    "Rating",
    "SearchHit",
    "SqlRepository",
    "Turn",
    "check_rating",
    "check_text",
    "clean_comment",
    "clean_title",
    "marked",
    "marks",
]
