"""The pages: sign in, chat list, chat page, and the form posts behind them.

Every form post checks the CSRF token and answers with a redirect (303), so the basic flow works with
no JavaScript: while a reply is being written the chat page refreshes itself. With JavaScript
(``static/chat.js``) the reply streams in token by token from the SSE route instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sse_starlette import EventSourceResponse, ServerSentEvent

from chatdash.chat.api.deps import ServiceDep, SettingsDep
from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.web import session
from chatdash.chat.web.render import markdown
from chatdash.errors import ChatdashError

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescapes by default
templates.env.filters["markdown"] = markdown
templates.env.filters["from_json"] = json.loads
router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]


def signed_in(request: Request) -> int:
    user_id = session.user_id(request)
    if user_id is None:  # not signed in: to the sign-in page, not an error
        raise HTTPException(status_code=303, headers={"Location": "/"})
    return user_id


UserDep = Annotated[int, Depends(signed_in)]


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.update(csrf=session.csrf_token(request), user=request.session.get("username"))
    response: HTMLResponse = templates.TemplateResponse(request, name, context, status_code=status)
    return response


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
    except (ChatdashError, ValueError) as exc:
        status = 429 if "rate limit" in str(exc) else 400
        return page(request, "signin.html", status, open_mode=settings.auth == "open", error=str(exc))
    request.session.clear()  # a new session id for the new identity
    request.session.update(user_id=user.id, username=user.username)
    return back("/c")


@router.post("/signout")
def sign_out(request: Request, csrf: Csrf) -> Response:
    session.check_csrf(request, csrf)
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
    chat = service.create_chat(user_id)
    if content.strip():
        await service.send(user_id, chat.id, content.strip()[: service.settings.chat_max_message_chars])
    return back(f"/c/{chat.id}")


@router.get("/c/{chat_id}", response_class=HTMLResponse)
def chat_page(request: Request, chat_id: str, service: ServiceDep, user_id: UserDep) -> Response:
    chat = service.chat(user_id, chat_id)
    messages, _ = service.messages(user_id, chat_id)
    chats, count = service.chats(user_id, limit=200)
    streaming = any(m.status == "streaming" for m in messages)
    return page(
        request, "chat.html", chat=chat, chats=chats, count=count, messages=messages, streaming=streaming
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
        return back(f"/c/{chat_id}")
    if len(text) > service.settings.chat_max_message_chars:
        raise ValueError(f"a message may have at most {service.settings.chat_max_message_chars} characters")
    reply, _ = await service.send(user_id, chat_id, text)
    if request.headers.get("x-requested-with") == "fetch":
        return Response(json.dumps({"message_id": reply.id}), media_type="application/json")
    return back(f"/c/{chat_id}#m{reply.id}")


@router.post("/c/{chat_id}/m/{message_id}/stop")
async def stop(
    request: Request, chat_id: str, message_id: int, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    await service.stop(user_id, chat_id, message_id)
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/m/{message_id}/retry")
async def retry(
    request: Request, chat_id: str, message_id: int, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    await service.retry(user_id, chat_id, message_id)
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/m/{message_id}/feedback")
def feedback(
    request: Request,
    chat_id: str,
    message_id: int,
    service: ServiceDep,
    user_id: UserDep,
    csrf: Csrf,
    rating: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    session.check_csrf(request, csrf)
    service.feedback(user_id, chat_id, message_id, rating, comment)
    return back(f"/c/{chat_id}#m{message_id}")


@router.post("/c/{chat_id}/delete")
async def delete(
    request: Request, chat_id: str, service: ServiceDep, user_id: UserDep, csrf: Csrf
) -> Response:
    session.check_csrf(request, csrf)
    await service.delete_chat(user_id, chat_id)
    return back("/c")


@router.get("/c/{chat_id}/m/{message_id}/events")
async def events(chat_id: str, message_id: int, service: ServiceDep, user_id: UserDep) -> EventSourceResponse:
    """The reply's text so far, then new deltas; ``done`` carries the final HTML (sanitized Markdown)."""
    service.message(user_id, chat_id, message_id)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for delta in service.follow(user_id, chat_id, message_id):
            yield ServerSentEvent(json.dumps({"content": delta}), event="delta")
        message = service.message(user_id, chat_id, message_id)
        done = {"status": message.status, "html": markdown(message.content), "error": message.error}
        yield ServerSentEvent(json.dumps(done), event="done")

    return EventSourceResponse(stream(), ping=15)
