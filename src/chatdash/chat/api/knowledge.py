"""What the chat remembers for the key's user: ``/memory`` (messages kept for recall in later chats) and
``/documents`` (their own knowledge base, searched beside the shared documents). The memory page shows
the same (``chatdash.chat.knowledge``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, File, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field

from chatdash.chat.deps import KeyDep, ServiceDep, UserIdDep, spend_rate_limit
from chatdash.chat.http_errors import responses
from chatdash.memory import Kept, StoredDocument

router = APIRouter(tags=["memory"], responses=responses(401, 503))

MemoryId = Annotated[str, Path(min_length=1, max_length=64, description="A memory's `id` from `GET /memory`")]
DocumentId = Annotated[
    str, Path(min_length=1, max_length=64, description="A document's `id` from `GET /documents`")
]


class MemoryPublic(BaseModel):
    id: str
    chat_id: str = Field(description="The chat the message was sent in")
    text: str
    created_at: dt.datetime


class Memories(BaseModel):
    data: list[MemoryPublic]


class DocumentPublic(BaseModel):
    id: str
    name: str
    chunks: int = Field(description="Passages it was split into for search")
    added_at: dt.datetime


class Documents(BaseModel):
    data: list[DocumentPublic]


class DocumentAdded(BaseModel):
    id: str
    name: str
    chunks: int
    status: Literal["added", "replaced", "unchanged"] = Field(
        description="`replaced`: a document of the same name was there; `unchanged`: with the same content"
    )


def _memory(kept: Kept) -> MemoryPublic:
    return MemoryPublic(
        id=kept.id,
        chat_id=kept.chat_id,
        text=kept.text,
        created_at=dt.datetime.fromtimestamp(kept.created_at, dt.UTC),
    )


def _document(document: StoredDocument) -> DocumentPublic:
    added = dt.datetime.fromtimestamp(document.added_at, dt.UTC)
    return DocumentPublic(id=document.id, name=document.name, chunks=document.chunks, added_at=added)


@router.get("/memory", response_model=Memories)
def list_memory(service: ServiceDep, user_id: UserIdDep) -> Memories:
    """The user's messages kept for recall, newest first (a deleted chat's are gone with it)."""
    return Memories(data=[_memory(k) for k in service.knowledge.memories(user_id)])


@router.delete("/memory", status_code=204)
def forget_everything(service: ServiceDep, user_id: UserIdDep) -> Response:
    """Forget every kept message and remove every document of the user's (the shared documents stay)."""
    service.knowledge.forget_everything(user_id)
    return Response(status_code=204)


@router.delete("/memory/{memory_id}", status_code=204, responses=responses(404))
def forget_memory(memory_id: MemoryId, service: ServiceDep, user_id: UserIdDep) -> Response:
    """Forget one kept message: later chats no longer recall it (the chat itself keeps it)."""
    service.knowledge.forget_memory(user_id, memory_id)
    return Response(status_code=204)


@router.get("/documents", response_model=Documents)
def list_documents(service: ServiceDep, user_id: UserIdDep) -> Documents:
    """The user's own documents, newest first."""
    return Documents(data=[_document(d) for d in service.knowledge.documents(user_id)])


@router.post(
    "/documents", response_model=DocumentAdded, status_code=201, responses=responses(422, 429, body=True)
)
async def add_document(
    request: Request,
    response: Response,
    service: ServiceDep,
    key: KeyDep,
    file: Annotated[UploadFile, File(description="A Markdown (.md), text (.txt) or PDF (.pdf) file")],
) -> DocumentAdded:
    """Add a document to the user's knowledge base (the same name again replaces it); replies quote it
    as a source when they use it."""
    data = await file.read()
    name = file.filename or ""
    headers = await spend_rate_limit(request, key)
    document, added = await anyio.to_thread.run_sync(service.knowledge.add_document, key.user_id, name, data)
    response.headers.update(headers)
    return DocumentAdded(id=document.id, name=document.name, chunks=document.chunks, status=added.status)


@router.delete("/documents/{document_id}", status_code=204, responses=responses(404))
def remove_document(document_id: DocumentId, service: ServiceDep, user_id: UserIdDep) -> Response:
    """Remove one of the user's documents: replies stop quoting it."""
    service.knowledge.remove_document(user_id, document_id)
    return Response(status_code=204)
