"""The chat core: users, chats, ordered messages, API keys, feedback, and server-owned replies.

Nothing imported here imports FastAPI: the HTTP APIs, the pages and the CLI all call the same
functions, and errors leave as ``chatdash.errors`` exceptions that the edges turn into responses.
``sessions`` reads the pages' signed session cookie (the dashboard's sign-in is the chat's).
The ASGI app that serves the APIs and pages is the other public entry point: ``chatdash.chat.app``
(``create_app``).
"""

from chatdash.chat import keys, sessions, users
from chatdash.chat.generation import Generation
from chatdash.chat.repository import ChatRepository, HttpRepository, SqlRepository, Turn
from chatdash.chat.responder import ProviderResponder, ReplyDone, ReplyRequest, Responder
from chatdash.chat.service import ChatService

__all__ = [
    "ChatRepository",
    "ChatService",
    "Generation",
    "HttpRepository",
    "ProviderResponder",
    "ReplyDone",
    "ReplyRequest",
    "Responder",
    "SqlRepository",
    "Turn",
    "keys",
    "sessions",
    "users",
]
