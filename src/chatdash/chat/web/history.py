"""The pages for what was said: search across one's chats, a chat exported as a file, and a sent
message edited and sent again. (Regenerating a reply is ``pages.retry``, offered on every reply.)

Search is a plain GET form (``/find?q=``), the same with or without JavaScript; ``/search`` is the JSON
API's. Each hit links to its chat, a message hit to the message's anchor (``#m<id>``). Export answers a
download (``Content-Disposition: attachment``) of ``ChatService.export_chat``'s Markdown or JSON.
Editing replaces the turns after the edited message (``ChatService.edit``): with htmx the chat's message
list is swapped whole, so what was replaced disappears and the new reply streams in like a sent one;
without JavaScript it is a form post and a redirect to the new reply.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from chatdash.chat.deps import MessageId, ServiceDep
from chatdash.chat.export import MEDIA_TYPES
from chatdash.chat.web import session
from chatdash.chat.web.pages import (
    EMPTY,
    Csrf,
    UserDep,
    back,
    feedback_kind,
    is_htmx,
    note,
    page,
    show_chat,
    templates,
)
from chatdash.errors import InvalidInput

router = APIRouter(include_in_schema=False)
SEARCH_HITS = 30
"""The most hits a search page shows (best first)."""


@router.get("/find", response_class=HTMLResponse)
def find(request: Request, service: ServiceDep, user_id: UserDep, q: str = "") -> Response:
    """Titles and messages of the user's chats holding every word of ``q``; a search the service
    refuses (too long, a NUL) is said beside the box, which keeps it."""
    query = q.strip()
    hits, error = [], None
    if query:
        try:
            hits = service.search(user_id, query, limit=SEARCH_HITS)
        except InvalidInput as exc:
            error = str(exc)
    chats, count = service.chats(user_id, limit=200)
    return page(
        request,
        "search.html",
        422 if error else 200,
        chats=chats,
        count=count,
        chat=None,
        q=q,
        searched=bool(query) and error is None,
        hits=hits,
        more=len(hits) == SEARCH_HITS,
        search_error=error,
    )


@router.get("/c/{chat_id}/export.{fmt}")
def export(chat_id: str, fmt: Literal["md", "json"], service: ServiceDep, user_id: UserDep) -> Response:
    """The chat as a download, named after its title and date (``chatdash.chat.export``)."""
    name, body = service.export_chat(user_id, chat_id, fmt)
    disposition = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


@router.post("/c/{chat_id}/m/{message_id}/edit")
async def edit(
    request: Request,
    chat_id: str,
    message_id: MessageId,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    content: Annotated[str, Form()] = "",
) -> Response:
    """Save an edited message of the user's and answer it again; the turns after it are replaced.
    A refused text (blank, too long) is said beside the edit box, which stays open with the text."""
    session.check_csrf(request, csrf)
    try:
        text = content.strip()
        if not text:
            raise InvalidInput(EMPTY)
        reply, _ = await service.edit(user_id, chat_id, message_id, text)
    except InvalidInput as exc:
        if is_htmx(request):
            return note(request, f"#edit-note-{message_id}", str(exc))
        editing = {"id": message_id, "draft": content, "error": str(exc)}
        shown = functools.partial(show_chat, request, service, user_id, chat_id, 422)
        return await run_in_threadpool(shown, editing=editing)
    if not is_htmx(request):
        return back(f"/c/{chat_id}#m{reply.id}")

    def the_list() -> str:  # every message, as the page shows them: the replaced turns are gone
        messages, _ = service.messages(user_id, chat_id)
        return templates.get_template("_edited.html").render(
            csrf=session.csrf_token(request),
            chat_id=chat_id,
            messages=messages,
            given=service.chat_feedback(user_id, chat_id),
            feedback_kind=feedback_kind(request),
        )

    return HTMLResponse(await run_in_threadpool(the_list))
