"""Where chats, messages and feedback live: the protocol and its rules (``base``), the database
(``sql``), and the data API over HTTP for the split deployment's ui (``http``)."""

from chatdash.chat.repository.base import (
    ChatRepository,
    Turn,
    check_rating,
    check_text,
    clean_comment,
    clean_title,
)
from chatdash.chat.repository.http import USER_HEADER, HttpRepository
from chatdash.chat.repository.sql import SqlRepository

__all__ = [
    "USER_HEADER",
    "ChatRepository",
    "HttpRepository",
    "SqlRepository",
    "Turn",
    "check_rating",
    "check_text",
    "clean_comment",
    "clean_title",
]
