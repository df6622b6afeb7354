"""What the chat remembers for a user, which they can see, forget and add to: the messages their chats
keep in the vector memory (recalled in later chats) and their own documents (searched for every reply
beside the shared ones, and shown as its sources when used).

The memory page and the ``/memory`` and ``/documents`` API share this service; the vector store is
opened on first use, so a locked local folder or a Qdrant server that is down is a 503 naming it, here,
and never stops the rest of the app.
"""

from __future__ import annotations

import time
import unicodedata
import uuid
from pathlib import PurePosixPath

from chatdash.config import Settings
from chatdash.errors import ChatdashError, InvalidInput, MemoryStoreError, NotFound
from chatdash.memory import Added, ChatMemory, DocumentStore, Kept, StoredDocument, VectorStore, get_store

NAME_CHARS = 200
"""Longest document name kept (the upload's file name, without folders)."""


class Knowledge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _store(self) -> VectorStore:
        try:
            return get_store(self.settings)
        except MemoryStoreError:
            raise
        except ChatdashError as exc:
            raise MemoryStoreError(str(exc)) from exc

    def _memory(self) -> ChatMemory:
        return ChatMemory(self._store(), min_score=self.settings.memory_min_score)

    def _documents(self) -> DocumentStore:
        return DocumentStore(self._store(), min_score=self.settings.memory_min_score)

    def memories(self, user_id: int) -> list[Kept]:
        """The user's messages kept for recall, newest first."""
        return self._memory().kept(str(user_id))

    def documents(self, user_id: int) -> list[StoredDocument]:
        """The user's own documents, newest first."""
        return self._documents().owned(str(user_id))

    def forget_memory(self, user_id: int, memory_id: str) -> None:
        """Forget one stored message; ``NotFound`` when the user has none with that id."""
        try:
            uuid.UUID(memory_id)
        except ValueError:
            raise NotFound(f"no memory {memory_id!r}: ids are those `GET /memory` lists") from None
        if not self._memory().forget(str(user_id), memory_id):
            raise NotFound(f"no memory {memory_id!r} (already forgotten?)")

    def remove_document(self, user_id: int, document_id: str) -> StoredDocument:
        """Delete one of the user's documents; ``NotFound`` when they have none with that id."""
        removed = self._documents().remove_id(str(user_id), document_id)
        if removed is None:
            raise NotFound(f"no document {document_id!r} (already removed?)")
        return removed

    def forget_everything(self, user_id: int) -> int:
        """Forget every stored message and remove every document of the user (the shared documents stay);
        how many points went."""
        return self._store().forget_user(str(user_id))

    def add_document(self, user_id: int, filename: str, data: bytes) -> tuple[StoredDocument, Added]:
        """Add (or, under the same name, replace) a Markdown, text or PDF document of the user's."""
        name = document_name(filename)
        if len(data) > self.settings.document_max_bytes:
            raise InvalidInput(
                f"{name}: {len(data)} bytes is over {self.settings.document_max_bytes} "
                "(CHATDASH_DOCUMENT_MAX_BYTES): split it or shorten it"
            )
        added = self._documents().add_bytes(name, data, owner=str(user_id))
        return StoredDocument(added.id, name, added.chunks, time.time()), added


def document_name(filename: str) -> str:
    """The file name an upload is kept under: no folders (a browser on Windows may send them), no
    control characters, at most ``NAME_CHARS``; ``InvalidInput`` when nothing is left."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name:
        raise InvalidInput("the document has no file name: choose a .md, .txt or .pdf file")
    if len(name) > NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = stem[: NAME_CHARS - len(suffix) - 1] + dot + suffix if dot else name[:NAME_CHARS]
    return name
