"""What a user finds again and takes away: ``GET /search`` over their chats (titles and messages, the
database's full-text index) and ``GET /chats/{id}/export`` as Markdown or JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from chatdash.chat.deps import ServiceDep, UserIdDep
from chatdash.chat.export import MEDIA_TYPES
from chatdash.chat.http_errors import responses
from chatdash.chat.repository import marks
from chatdash.chat.service import SEARCH_CHARS

router = APIRouter(tags=["chats"], responses=responses(401, 422, 503))


class SearchHitPublic(BaseModel):
    chat_id: str
    title: str
    message_id: int | None = Field(description="None when the title matched")
    role: Literal["user", "assistant"] | None
    snippet: str = Field(description="The matching passage (or the title)")
    marks: list[tuple[int, int]] = Field(description="[start, end) of each matched term in `snippet`")
    updated_at: dt.datetime


class SearchResults(BaseModel):
    data: list[SearchHitPublic]


@router.get("/search", response_model=SearchResults)
def search(
    service: ServiceDep,
    user_id: UserIdDep,
    q: Annotated[str, Query(min_length=1, max_length=SEARCH_CHARS, description="Words to find")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    """The key's user's chats holding every word (stemmed: "lamps" finds "lamp"), titles first."""
    hits = []
    for hit in service.search(user_id, q, limit=limit):
        snippet, spans = marks(hit.snippet)
        role = "user" if hit.role == "user" else "assistant" if hit.role else None
        hits.append(
            SearchHitPublic(
                chat_id=hit.chat_id,
                title=hit.title,
                message_id=hit.message_id,
                role=role,
                snippet=snippet,
                marks=spans,
                updated_at=hit.updated_at,
            )
        )
    return SearchResults(data=hits)


@router.get(
    "/chats/{chat_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The chat as a file (`Content-Disposition: attachment`)",
            "content": {"text/markdown": {"schema": {"type": "string"}}, "application/json": {}},
        },
        **responses(404),
    },
)
def export_chat(
    chat_id: str,
    service: ServiceDep,
    user_id: UserIdDep,
    format: Annotated[Literal["md", "json"], Query(description="Markdown or JSON")] = "md",
) -> Response:
    """Every message of the chat in order, with its status, sources and sales answer (JSON)."""
    name, body = service.export_chat(user_id, chat_id, format)
    disposition = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition})
