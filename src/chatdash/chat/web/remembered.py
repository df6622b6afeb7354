"""The memory page, ``/remembered``: what the chat keeps for the signed-in user (their messages recalled in
later chats, their own documents), each with a button to forget or remove it, "forget everything", and
an upload form for their documents (``chatdash.chat.knowledge``).

Plain forms, the same with or without JavaScript: each post answers a redirect back to the page, which
says what was done (a one-time note in the session); a file that cannot be added is said beside the
upload form with status 422. "Forget everything" needs its box ticked, so one stray click loses nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from chatdash.chat.deps import ServiceDep
from chatdash.chat.web import session
from chatdash.chat.web.pages import Csrf, UserDep, back, page
from chatdash.errors import InvalidInput

router = APIRouter(include_in_schema=False)
SHOWN = 500
"""The most kept messages the page lists (newest first); the count says how many there are."""
DONE = "remembered_done"
"""The session key of the note saying what the last post did."""


def show(
    request: Request,
    service: ServiceDep,
    user_id: int,
    status: int = 200,
    *,
    upload_error: str | None = None,
    forget_error: str | None = None,
) -> Response:
    memories = service.knowledge.memories(user_id)
    chats, count = service.chats(user_id, limit=200)
    titles = {c.id: c.title for c in chats}
    return page(
        request,
        "remembered.html",
        status,
        chats=chats,
        count=count,
        chat=None,
        memories=memories[:SHOWN],
        memory_count=len(memories),
        documents=service.knowledge.documents(user_id),
        titles=titles,
        done=request.session.pop(DONE, None),
        upload_error=upload_error,
        forget_error=forget_error,
    )


@router.get("/remembered", response_class=HTMLResponse)
def remembered(request: Request, service: ServiceDep, user_id: UserDep) -> Response:
    return show(request, service, user_id)


@router.post("/remembered/documents")
async def add_document(
    request: Request,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    session.check_csrf(request, csrf)
    try:
        if file is None or not file.filename:
            raise InvalidInput("choose a file first: Markdown (.md), text (.txt) or PDF (.pdf)")
        data = await file.read()
        document, added = await run_in_threadpool(
            service.knowledge.add_document, user_id, file.filename, data
        )
    except InvalidInput as exc:
        return await run_in_threadpool(show, request, service, user_id, 422, upload_error=str(exc))
    said = {
        "added": "added",
        "replaced": "replaced (a document of that name was there)",
        "unchanged": "unchanged",
    }
    parts = "passage" if document.chunks == 1 else "passages"
    request.session[DONE] = f"{document.name}: {said[added.status]}, {document.chunks} {parts}."
    return back("/remembered")


@router.post("/remembered/documents/{document_id}/remove")
def remove_document(
    request: Request, document_id: str, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    removed = service.knowledge.remove_document(user_id, document_id)
    request.session[DONE] = f"{removed.name} removed: replies no longer quote it."
    return back("/remembered")


@router.post("/remembered/{memory_id}/forget")
def forget_memory(
    request: Request, memory_id: str, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    service.knowledge.forget_memory(user_id, memory_id)
    request.session[DONE] = "Forgotten: later chats no longer recall that message."
    return back("/remembered#memories")


@router.post("/remembered/forget")
def forget_everything(
    request: Request,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    sure: Annotated[str, Form()] = "",
) -> Response:
    session.check_csrf(request, csrf)
    if sure != "yes":
        return show(
            request, service, user_id, 422, forget_error="tick the box to say you mean it, then press again"
        )
    service.knowledge.forget_everything(user_id)
    request.session[DONE] = (
        "Everything is forgotten: no kept messages, no documents of yours (shared ones stay)."
    )
    return back("/remembered")
