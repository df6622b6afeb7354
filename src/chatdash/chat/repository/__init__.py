"""Where chats, messages and feedback live: the protocol and its rules (``base``), the database
(``sql``), and the data API over HTTP for the split deployment's ui (``http``)."""

from chatdash.chat.repository.base import (
    HISTORY_LIMIT,
    HISTORY_STATUSES,
    ChatRepository,
    Turn,
    check_rating,
    clean_comment,
    clean_title,
    title_from,
)
from chatdash.chat.repository.http import USER_HEADER, HttpRepository
from chatdash.chat.repository.sql import SqlRepository

__all__ = [
    "HISTORY_LIMIT",
    "HISTORY_STATUSES",
    "USER_HEADER",
    "ChatRepository",
    "HttpRepository",
    "SqlRepository",
    "Turn",
    "check_rating",
    "clean_comment",
    "clean_title",
    "title_from",
]
