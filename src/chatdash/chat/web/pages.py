"""The pages: sign in, chat list, chat page, and the form posts behind them.

Every form post checks the CSRF token. Without JavaScript it answers with a redirect (303), so the basic
flow works as plain forms: while a reply is being written the chat page refreshes itself. With
JavaScript the forms go through htmx (vendored under ``static/vendor``; no build step), which sends the
``HX-Request`` header: then the answer is the changed ``<li>`` (``templates/_message.html``) plus
out-of-band updates, and a reply streams in token by token from the events route (htmx's SSE extension).

A chat is stored with its first message: "New chat" opens the empty composer at ``/c``, whose first
message creates the chat (with htmx the page then becomes the chat's page in place). A refused message or
title is answered 422 with the reason beside the box, and what was typed stays in it. Opening a page while
signed out goes to the sign-in page with ``?next=`` and back there after signing in (local paths only).
Search, export and editing a sent message are ``chatdash.chat.web.history``'s.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sse_starlette import EventSourceResponse, ServerSentEvent

from chatdash.chat import sessions
from chatdash.chat.deps import MessageId, ServiceDep, SettingsDep
from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.service import ChatService
from chatdash.chat.web import session
from chatdash.chat.web.listing import by_date, highlight, utc_time
from chatdash.chat.web.render import figure, markdown, markdown_so_far
from chatdash.db.models import Chat, ChatMessage, Feedback
from chatdash.errors import AuthError, Conflict, InvalidInput, NotFound, RateLimited

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescapes by default
templates.env.filters["markdown"] = markdown
templates.env.filters["from_json"] = json.loads
templates.env.filters["figure"] = figure
templates.env.filters["by_date"] = by_date
templates.env.filters["highlight"] = highlight
templates.env.filters["utc_time"] = utc_time
templates.env.tests["startingwith"] = lambda value, prefix: bool(prefix) and str(value).startswith(prefix)
router = APIRouter(include_in_schema=False)
DELETED = "This chat was deleted (in another tab or window) while its reply was being written"
EMPTY = "a message cannot be empty (or only spaces): type something to send"

Csrf = Annotated[str, Form()]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None, so that ``?next=`` never sends anyone to
    another host: no scheme or host, no ``//`` or backslash (browsers read ``/\\host`` as ``//host``),
    no control characters (they drop tabs and newlines, which could join a ``//``)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def signed_in(request: Request, service: ServiceDep) -> int:
    """The signed-in user's id; a session that ended (sign-out anywhere, `chatdash users sign-out`) or
    whose account is gone is not signed in any more, whatever its cookie says."""
    user_id = session.user_id(request)
    if user_id is not None and sessions.session_user(service.engine, request.session) is None:
        request.session.clear()
        user_id = None
    if user_id is None:  # not signed in: to the sign-in page, not an error
        if is_htmx(request):  # htmx would follow a 303 inside the page; HX-Redirect moves the whole page
            raise HTTPException(401, "sign in again to go on", headers={"HX-Redirect": "/"})
        opened = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        come_back = request.method == "GET" and opened != "/c"  # back to the page that was opened
        location = "/?" + urlencode({"next": opened}) if come_back else "/"
        raise HTTPException(status_code=303, headers={"Location": location})
    return user_id


UserDep = Annotated[int, Depends(signed_in)]


def feedback_kind(request: Request) -> str:
    """What the pages offer to rate a reply with (``CHATDASH_FEEDBACK_KIND``)."""
    return str(getattr(request.app.state, "feedback_kind", "thumbs"))


def page(
    request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    context.update(
        feedback_kind=feedback_kind(request),
        csrf=session.csrf_token(request),
        user=request.session.get("username"),
        admin=request.session.get("admin") is True,  # only shows the link: the admin pages check again
    )
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status, headers=headers
    )
    return response


def swap_html(
    request: Request,
    chat_id: str,
    messages: list[ChatMessage],
    *,
    send_disabled: bool | None = None,
    retitled: Chat | None = None,
    feedback: Feedback | None = None,
    started: Chat | None = None,
    chats: list[Chat] | None = None,
    count: int = 0,
) -> str:
    """What htmx swaps in (``_swap.html``): the messages' ``<li>``, then out-of-band the Send button
    (``send_disabled`` True or False; None leaves it) and a first message's new chat title; for a chat
    ``started`` on the new-chat page, that chat's composer, tools and the chat list (``chats``, ``count``)."""
    return templates.get_template("_swap.html").render(
        csrf=session.csrf_token(request),
        chat_id=chat_id,
        messages=messages,
        send_disabled=send_disabled,
        retitled=retitled,
        rated=feedback,
        feedback_kind=feedback_kind(request),
        started=started,
        chats=chats or [],
        count=count,
    )


def note(request: Request, target: str, message: str, status: int = 422) -> HTMLResponse:
    """For htmx: a refusal shown beside what it refuses (``target``), the typed text left in its box."""
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "_flash.html",
        {"message": message},
        status_code=status,
        headers={"HX-Retarget": target, "HX-Reswap": "innerHTML"},
    )
    return response


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    target = local_path(next)
    if session.user_id(request) is not None:
        return back(target or "/c")
    return page(request, "signin.html", open_mode=settings.auth == "open", error=None, next=target)


@router.post("/signin")
def sign_in(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    csrf: Csrf,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)] = "",
    action: Annotated[str, Form()] = "signin",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    session.check_csrf(request, csrf)
    limiter: RateLimiter = request.app.state.signin_limiter
    client = request.client.host if request.client else "?"
    try:
        limiter.hit("signin-user", username.strip().lower())
        limiter.hit("signin-ip", client)
        if action == "signup" and settings.auth == "password":
            user = service.sign_up(username, password)
        else:
            user = service.sign_in(username, password)
    except (InvalidInput, AuthError, Conflict, RateLimited) as exc:  # the form's own problems
        status = 429 if isinstance(exc, RateLimited) else 400
        return page(
            request,
            "signin.html",
            status,
            open_mode=settings.auth == "open",
            error=str(exc),
            username=username,  # typed again only if it was the name that was wrong
            next=local_path(next),
        )
    request.session.clear()  # a new session id for the new identity
    request.session.update(
        user_id=user.id, username=user.username, version=user.session_version, admin=user.is_admin
    )
    return back(local_path(next) or "/c")


@router.post("/signout")
def sign_out(request: Request, service: ServiceDep, csrf: Csrf) -> Response:
    session.check_csrf(request, csrf)
    user_id = session.user_id(request)
    if user_id is not None:  # the cookie may have been copied: end the session where it is checked
        service.end_sessions(user_id)
    request.session.clear()
    return back("/")


@router.get("/c", response_class=HTMLResponse)
def chat_list(request: Request, service: ServiceDep, user_id: UserDep) -> Response:
    """The chat list beside an empty composer: "New chat". Nothing is stored before the first message."""
    chats, count = service.chats(user_id, limit=200)
    return page(request, "chats.html", chats=chats, count=count, chat=None)


@router.post("/c")
async def new_chat(
    request: Request, service: ServiceDep, user_id: UserDep, csrf: Csrf, content: Annotated[str, Form()] = ""
) -> Response:
    """The first message of a new chat: the chat and its first turn are stored together."""
    session.check_csrf(request, csrf)
    try:
        text = content.strip()
        if not text:
            raise InvalidInput(EMPTY)
        reply, _ = await service.send(user_id, None, text)  # the chat and its first turn in one transaction
    except InvalidInput as exc:  # nothing stored; the reason beside the box, the text as typed
        if is_htmx(request):
            return note(request, "#ask-note", str(exc))
        chats, count = await run_in_threadpool(functools.partial(service.chats, user_id, limit=200))
        return page(
            request, "chats.html", 422, chats=chats, count=count, chat=None, error=str(exc), draft=content
        )
    if not is_htmx(request):
        return back(f"/c/{reply.chat_id}")

    def started() -> str:  # the page becomes the new chat's page, in place (the reply streams on)
        chat = service.chat(user_id, reply.chat_id)
        asked, _ = service.messages(user_id, chat.id, skip=reply.position - 1, limit=1)
        chats, count = service.chats(user_id, limit=200)
        # the reply as stored (streaming), so that its <li> follows it from the events route
        return swap_html(request, chat.id, [*asked, reply], started=chat, chats=chats, count=count)

    return HTMLResponse(await run_in_threadpool(started), headers={"HX-Push-Url": f"/c/{reply.chat_id}"})


def show_chat(
    request: Request, service: ChatService, user_id: int, chat_id: str, status: int = 200, **extra: Any
) -> Response:
    """The chat's page; ``extra`` is what a refused form post shows again (its reason, the text typed)."""
    chat = service.chat(user_id, chat_id)
    messages, _ = service.messages(user_id, chat_id)
    given = service.chat_feedback(user_id, chat_id)
    chats, count = service.chats(user_id, limit=200)
    streaming = any(m.status == "streaming" for m in messages)
    return page(
        request,
        "chats.html",
        status,
        chat=chat,
        chat_id=chat.id,
        chats=chats,
        count=count,
        messages=messages,
        given=given,
        streaming=streaming,
        **extra,
    )


@router.get("/c/{chat_id}", response_class=HTMLResponse)
def chat_page(request: Request, chat_id: str, service: ServiceDep, user_id: UserDep) -> Response:
    return show_chat(request, service, user_id, chat_id)


@router.post("/c/{chat_id}/send")
async def send(
    request: Request,
    chat_id: str,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    content: Annotated[str, Form()] = "",
) -> Response:
    session.check_csrf(request, csrf)
    try:
        text = content.strip()
        if not text:
            raise InvalidInput(EMPTY)
        reply, _ = await service.send(user_id, chat_id, text)
    except InvalidInput as exc:  # the reason beside the box, the text as typed
        if is_htmx(request):
            return note(request, "#ask-note", str(exc))
        shown = functools.partial(show_chat, request, service, user_id, chat_id, 422)
        return await run_in_threadpool(shown, error=str(exc), draft=content)
    if not is_htmx(request):
        return back(f"/c/{chat_id}#m{reply.id}")

    # the user's message sits just before the reply; the reply is rendered as stored (streaming), so its
    # <li> connects to the events route, which sends everything written so far
    def asked_and_title() -> tuple[list[ChatMessage], Chat | None]:
        asked, count = service.messages(user_id, chat_id, skip=reply.position - 1, limit=1)
        return asked, service.chat(user_id, chat_id) if count == 2 else None  # the first message names it

    asked, retitled = await run_in_threadpool(asked_and_title)
    return HTMLResponse(swap_html(request, chat_id, [*asked, reply], send_disabled=True, retitled=retitled))


@router.post("/c/{chat_id}/m/{message_id}/stop")
async def stop(
    request: Request, chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    stopped = await service.stop(user_id, chat_id, message_id)
    if is_htmx(request):
        return HTMLResponse(swap_html(request, chat_id, [stopped], send_disabled=False))
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/m/{message_id}/retry")
async def retry(
    request: Request, chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    """Retry a failed or stopped reply, or Regenerate a finished one: written again, in place."""
    session.check_csrf(request, csrf)
    reply, _ = await service.retry(user_id, chat_id, message_id)
    if is_htmx(request):
        return HTMLResponse(swap_html(request, chat_id, [reply], send_disabled=True))
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/m/{message_id}/feedback")
def feedback(
    request: Request,
    chat_id: str,
    message_id: MessageId,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    rating: Annotated[int | None, Form()] = None,
    stars: Annotated[int | None, Form()] = None,
    scale: Annotated[float | None, Form()] = None,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Thumbs (``rating``), stars or a scale, whichever the page offered (``CHATDASH_FEEDBACK_KIND``)."""
    session.check_csrf(request, csrf)
    kind, value = next(
        ((k, v) for k, v in (("thumbs", rating), ("stars", stars), ("scale", scale)) if v is not None),
        ("thumbs", 0),  # nothing chosen: refused below, saying what a rating is
    )
    given = service.feedback(user_id, chat_id, message_id, value, comment, kind)
    if is_htmx(request):
        message = service.message(user_id, chat_id, message_id)
        return HTMLResponse(swap_html(request, chat_id, [message], feedback=given))
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/rename")
def rename(
    request: Request,
    chat_id: str,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session.check_csrf(request, csrf)
    try:
        chat = service.rename_chat(user_id, chat_id, title)
    except InvalidInput as exc:  # beside the title box, which keeps what was typed
        if is_htmx(request):
            return note(request, "#rename-note", str(exc))
        return show_chat(request, service, user_id, chat_id, 422, rename_error=str(exc), rename_draft=title)
    if is_htmx(request):  # the new title goes out of band to <h1>, the sidebar and the tab
        return HTMLResponse(swap_html(request, chat_id, [], retitled=chat))
    return back(f"/c/{chat_id}")


@router.post("/c/{chat_id}/delete")
async def delete(
    request: Request, chat_id: str, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    await service.delete_chat(user_id, chat_id)
    return back("/c")


RENDER_EVERY = 0.1
"""Seconds at least between two renderings of a streaming reply sent to its page."""


@router.get("/c/{chat_id}/m/{message_id}/events")
async def events(
    request: Request, chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserDep
) -> EventSourceResponse:
    """The reply for htmx's SSE extension: ``text`` events carry the whole text so far as sanitized
    Markdown (``render.markdown``, as the finished reply shows it, so nothing jumps at the end), which
    replaces the streaming ``.body``'s content, at most ``RENDER_EVERY`` apart and always the last
    state; ``done`` carries the final ``<li>`` (the same body, controls) that replaces it, and re-enables
    the Send button out of band. Pings keep proxies from closing a quiet stream; ``X-Accel-Buffering:
    no`` (sse_starlette sets it; a test checks) keeps nginx from holding the tokens back."""
    await run_in_threadpool(service.message, user_id, chat_id, message_id)  # ownership, before the stream

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            deltas = service.follow(user_id, chat_id, message_id)
            async for rendered in markdown_so_far(deltas, every=RENDER_EVERY):
                yield ServerSentEvent(rendered, event="text")
            final = await run_in_threadpool(service.message, user_id, chat_id, message_id)
        except NotFound:  # deleted (in another tab) while this page followed the reply
            gone = f'<li id="m{message_id}" class="message assistant stopped"><p class="error">{DELETED}.</p>'
            gone += "</li>"
            yield ServerSentEvent(gone, event="done")
            return
        yield ServerSentEvent(swap_html(request, chat_id, [final], send_disabled=False), event="done")

    return EventSourceResponse(stream(), ping=15)
