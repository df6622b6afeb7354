"""The pages: sign in, chat list, chat page, and the form posts behind them.

Every form post checks the CSRF token. Without JavaScript it answers with a redirect (303), so the basic
flow works as plain forms: while a reply is being written the chat page refreshes itself. With
JavaScript the forms go through htmx (vendored under ``static/vendor``; no build step), which sends the
``HX-Request`` header: then the answer is the changed ``<li>`` (``templates/_message.html``) plus
out-of-band updates, and a reply streams in token by token from the events route (htmx's SSE extension).
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sse_starlette import EventSourceResponse, ServerSentEvent

from chatdash.chat.deps import MessageId, ServiceDep, SettingsDep
from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.web import session
from chatdash.chat.web.render import figure, markdown
from chatdash.db.models import Chat, ChatMessage, Feedback
from chatdash.errors import AuthError, Conflict, InvalidInput, NotFound, RateLimited

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescapes by default
templates.env.filters["markdown"] = markdown
templates.env.filters["from_json"] = json.loads
templates.env.filters["figure"] = figure
templates.env.tests["startingwith"] = lambda value, prefix: bool(prefix) and str(value).startswith(prefix)
router = APIRouter(include_in_schema=False)
DELETED = "This chat was deleted (in another tab or window) while its reply was being written"

Csrf = Annotated[str, Form()]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def signed_in(request: Request, service: ServiceDep) -> int:
    """The signed-in user's id; a session that ended (sign-out anywhere, `chatdash users sign-out`) or
    whose account is gone is not signed in any more, whatever its cookie says."""
    user_id = session.user_id(request)
    if user_id is not None:
        user = service.user(user_id)
        if user is None or user.session_version != session.version(request):
            request.session.clear()
            user_id = None
    if user_id is None:  # not signed in: to the sign-in page, not an error
        if is_htmx(request):  # htmx would follow a 303 inside the page; HX-Redirect moves the whole page
            raise HTTPException(401, "sign in again to go on", headers={"HX-Redirect": "/"})
        raise HTTPException(status_code=303, headers={"Location": "/"})
    return user_id


UserDep = Annotated[int, Depends(signed_in)]


def page(
    request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    context.update(csrf=session.csrf_token(request), user=request.session.get("username"))
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
) -> str:
    """What htmx swaps in (``_swap.html``): the messages' ``<li>``, then out-of-band the Send button
    (``send_disabled`` True or False; None leaves it) and a first message's new chat title."""
    return templates.get_template("_swap.html").render(
        csrf=session.csrf_token(request),
        chat_id=chat_id,
        messages=messages,
        send_disabled=send_disabled,
        retitled=retitled,
        rating=feedback.rating if feedback else None,
        comment=feedback.comment if feedback else None,
    )


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep) -> Response:
    if session.user_id(request) is not None:
        return back("/c")
    return page(request, "signin.html", open_mode=settings.auth == "open", error=None)


@router.post("/signin")
def sign_in(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    csrf: Csrf,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)] = "",
    action: Annotated[str, Form()] = "signin",
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
        return page(request, "signin.html", status, open_mode=settings.auth == "open", error=str(exc))
    request.session.clear()  # a new session id for the new identity
    request.session.update(user_id=user.id, username=user.username, version=user.session_version)
    return back("/c")


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
    chats, count = service.chats(user_id, limit=200)
    return page(request, "chats.html", chats=chats, count=count, chat=None)


@router.post("/c")
async def new_chat(
    request: Request, service: ServiceDep, user_id: UserDep, csrf: Csrf, content: Annotated[str, Form()] = ""
) -> Response:
    session.check_csrf(request, csrf)
    text = content.strip()
    if not text:
        return back(f"/c/{(await run_in_threadpool(service.create_chat, user_id)).id}")
    try:
        reply, _ = await service.send(user_id, None, text)  # the chat and its first turn in one transaction
    except InvalidInput as exc:  # the start page again, with the reason and the text as typed
        chats, count = await run_in_threadpool(functools.partial(service.chats, user_id, limit=200))
        return page(
            request, "chats.html", 422, chats=chats, count=count, chat=None, error=str(exc), draft=content
        )
    return back(f"/c/{reply.chat_id}")


@router.get("/c/{chat_id}", response_class=HTMLResponse)
def chat_page(request: Request, chat_id: str, service: ServiceDep, user_id: UserDep) -> Response:
    chat = service.chat(user_id, chat_id)
    messages, _ = service.messages(user_id, chat_id)
    given = service.chat_feedback(user_id, chat_id)
    chats, count = service.chats(user_id, limit=200)
    streaming = any(m.status == "streaming" for m in messages)
    return page(
        request,
        "chat.html",
        chat=chat,
        chat_id=chat.id,
        chats=chats,
        count=count,
        messages=messages,
        given=given,
        streaming=streaming,
    )


@router.post("/c/{chat_id}/send")
async def send(
    request: Request,
    chat_id: str,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    content: Annotated[str, Form()],
) -> Response:
    session.check_csrf(request, csrf)
    text = content.strip()
    if not text:
        return Response(status_code=204) if is_htmx(request) else back(f"/c/{chat_id}")
    reply, _ = await service.send(user_id, chat_id, text)
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
    rating: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    session.check_csrf(request, csrf)
    given = service.feedback(user_id, chat_id, message_id, rating, comment)
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
    title: Annotated[str, Form(max_length=200)],
) -> Response:
    session.check_csrf(request, csrf)
    chat = service.rename_chat(user_id, chat_id, title)
    if is_htmx(request):  # the new title goes out of band to <h1> and the sidebar
        return HTMLResponse(swap_html(request, chat_id, [], retitled=chat))
    return back(f"/c/{chat_id}")


@router.post("/c/{chat_id}/delete")
async def delete(
    request: Request, chat_id: str, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    await service.delete_chat(user_id, chat_id)
    return back("/c")


@router.get("/c/{chat_id}/m/{message_id}/events")
async def events(
    request: Request, chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserDep
) -> EventSourceResponse:
    """The reply for htmx's SSE extension: ``delta`` events carry HTML-escaped text (the text so far,
    then new text) for the streaming ``.body``; ``done`` carries the final ``<li>`` (sanitized Markdown,
    controls) that replaces it, and re-enables the Send button out of band. Pings keep proxies from
    closing a quiet stream; ``X-Accel-Buffering: no`` (sse_starlette sets it; a test checks) keeps nginx
    from holding the tokens back."""
    await run_in_threadpool(service.message, user_id, chat_id, message_id)  # ownership, before the stream

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            async for delta in service.follow(user_id, chat_id, message_id):
                yield ServerSentEvent(html.escape(delta, quote=False), event="delta")
            final = await run_in_threadpool(service.message, user_id, chat_id, message_id)
        except NotFound:  # deleted (in another tab) while this page followed the reply
            gone = f'<li id="m{message_id}" class="message assistant stopped"><p class="error">{DELETED}.</p>'
            gone += "</li>"
            yield ServerSentEvent(gone, event="done")
            return
        yield ServerSentEvent(swap_html(request, chat_id, [final], send_disabled=False), event="done")

    return EventSourceResponse(stream(), ping=15)
