"""The HTTP edge of the chat: the data API (``/chats``), ``POST /api/chat`` and health checks."""

from chatdash.chat.api.app import Role, create_app

__all__ = ["Role", "create_app"]
