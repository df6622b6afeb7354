"""A chat as a file its owner takes away: Markdown to read, JSON to process.

Both carry every message in order with its status; JSON adds what each reply is grounded in
(``sources``) and its sales answer as data, so an export loses nothing the page shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from chatdash.db.models import Chat, ChatMessage

Format = Literal["md", "json"]
MEDIA_TYPES: dict[str, str] = {"md": "text/markdown; charset=utf-8", "json": "application/json"}
SPEAKERS = {"user": "You", "assistant": "chatdash"}


def filename(chat: Chat, fmt: Format) -> str:
    """``chat-<title words>-<date>.<fmt>``: readable, and safe in any file system."""
    words = "-".join(re.findall(r"[A-Za-z0-9]+", chat.title.lower())[:8]) or "untitled"
    return f"chat-{words}-{chat.created_at:%Y-%m-%d}.{fmt}"


def render(chat: Chat, messages: Sequence[ChatMessage], fmt: Format) -> str:
    return _json(chat, messages) if fmt == "json" else _markdown(chat, messages)


def _markdown(chat: Chat, messages: Sequence[ChatMessage]) -> str:
    lines = [
        f"# {chat.title}",
        "",
        f"Exported from chatdash; started {chat.created_at:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    for message in messages:
        state = "" if message.status == "complete" else f" ({message.status})"
        lines += [f"## {SPEAKERS[message.role]}{state}", "", message.content or "*(no text)*", ""]
        if message.error:
            lines += [f"> Error: {message.error}", ""]
        sources = _loaded(message.sources) or []
        if sources:
            lines += ["Sources:", *(f"- {line}" for line in sources), ""]
    return "\n".join(lines)


def _json(chat: Chat, messages: Sequence[ChatMessage]) -> str:
    body: dict[str, Any] = {
        "chat": {
            "id": chat.id,
            "title": chat.title,
            "created_at": chat.created_at.isoformat(),
            "updated_at": chat.updated_at.isoformat(),
        },
        "messages": [
            {
                "position": m.position,
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "error": m.error,
                "sources": _loaded(m.sources) or [],
                "answer": _loaded(m.answer),
                "created_at": m.created_at.isoformat(),
            }
            for m in messages
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def _loaded(text: str | None) -> Any:
    return json.loads(text) if text else None
