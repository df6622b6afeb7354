"""Vector memory over qdrant-client: what users said before, and the company's documents.

Typical use::

    from chatdash.memory import chat_memory, documents, Remembered

    memory = chat_memory()                                    # the process-wide store, per settings
    memory.remember(user_id, [Remembered(chat_id, message_id, "user", text)])
    for past in memory.recall(user_id, question):             # top 10 above CHATDASH_MEMORY_MIN_SCORE
        ...
    documents().add_file(Path("handbook.md"))                 # shared with every user
    passages = documents().search(user_id, question, k=5)

Every call takes the owner; one user's points never appear in another's results.
"""

from __future__ import annotations

from chatdash.config import Settings, get_settings
from chatdash.memory.chat import ChatMemory, Kept, Recalled, Remembered
from chatdash.memory.documents import Added, DocumentStore, Passage, StoredDocument
from chatdash.memory.store import EVERYONE, VectorStore, get_store

__all__ = [
    "EVERYONE",
    "Added",
    "ChatMemory",
    "DocumentStore",
    "Kept",
    "Passage",
    "Recalled",
    "Remembered",
    "StoredDocument",
    "VectorStore",
    "chat_memory",
    "documents",
    "get_store",
]


def chat_memory(settings: Settings | None = None) -> ChatMemory:
    settings = settings or get_settings()
    return ChatMemory(get_store(settings), min_score=settings.memory_min_score)


def documents(settings: Settings | None = None) -> DocumentStore:
    settings = settings or get_settings()
    return DocumentStore(get_store(settings), min_score=settings.memory_min_score)
