"""The chat core: users, chats, ordered messages, API keys, feedback, and server-owned replies.

Nothing here imports FastAPI: the HTTP APIs, the pages and the CLI all call the same functions, and
errors leave as ``chatdash.errors`` exceptions that the edges turn into responses.
"""

from chatdash.chat.responder import ProviderResponder, ReplyDone, ReplyRequest, Responder
from chatdash.chat.service import ChatService

__all__ = ["ChatService", "ProviderResponder", "ReplyDone", "ReplyRequest", "Responder"]
