"""The data API: ``/chats``, ``/chats/{id}``, ``/chats/{id}/messages`` and per-reply actions.

Every route acts as the user behind the Bearer key (or, for the ui of the split deployment, the user its
service key names: see ``deps.current_user_id``) and goes through ``ChatService``, which scopes each
lookup by owner: another user's ids answer 404 exactly like missing ones. ``POST .../turns`` and
``GET/PATCH .../messages/{mid}`` are what a ui writing replies elsewhere needs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from chatdash.chat.api.schemas import (
    ChatCreate,
    ChatPublic,
    ChatsPublic,
    ChatUpdate,
    ErrorBody,
    FeedbackCreate,
    FeedbackPublic,
    MessageCreate,
    MessagePublic,
    MessagesPublic,
    ReplyUpdate,
    StreamDelta,
    TurnCreate,
    TurnPublic,
    component,
    event_stream,
)
from chatdash.chat.deps import MAX_ID, MessageId, ServiceDep, UserIdDep
from chatdash.chat.http_errors import responses
from chatdash.chat.repository import Turn
from chatdash.errors import NotFound

router = APIRouter(prefix="/chats", tags=["chats"], responses=responses(401, 422, 503))
"""Every route: a key (401), valid input (422, an X-Chatdash-User name included), the database (503).
Each route adds its own: 404 for a chat or message, 409 for a reply in the wrong state (being written,
or a user's message where a reply is meant), 400 and 413 for a body."""
EVENTS: dict[int | str, dict[str, Any]] = {
    200: event_stream(
        "Server-Sent Events: `delta`s, then `done` (the stored message) or `deleted` (the chat was)",
        delta=StreamDelta.model_json_schema(),
        done=component(MessagePublic),
        deleted=component(ErrorBody),
    )
}
DELETED = "this chat was deleted while its reply was followed"

Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1-200)")]


@router.get("", response_model=ChatsPublic)
def list_chats(service: ServiceDep, user_id: UserIdDep, skip: Skip = 0, limit: Limit = 50) -> ChatsPublic:
    """The caller's chats, most recently active first."""
    chats, count = service.chats(user_id, skip=skip, limit=limit)
    return ChatsPublic(data=[ChatPublic.model_validate(c) for c in chats], count=count)


@router.post("", response_model=ChatPublic, status_code=201, responses=responses(body=True))
def create_chat(body: ChatCreate, service: ServiceDep, user_id: UserIdDep) -> ChatPublic:
    return ChatPublic.model_validate(service.create_chat(user_id, body.title))


@router.get("/{chat_id}", response_model=ChatPublic, responses=responses(404))
def get_chat(chat_id: str, service: ServiceDep, user_id: UserIdDep) -> ChatPublic:
    return ChatPublic.model_validate(service.chat(user_id, chat_id))


@router.patch("/{chat_id}", response_model=ChatPublic, responses=responses(404, body=True))
def rename_chat(chat_id: str, body: ChatUpdate, service: ServiceDep, user_id: UserIdDep) -> ChatPublic:
    return ChatPublic.model_validate(service.rename_chat(user_id, chat_id, body.title))


@router.delete("/{chat_id}", status_code=204, responses=responses(404))
async def delete_chat(chat_id: str, service: ServiceDep, user_id: UserIdDep) -> Response:
    """Delete the chat with its messages and feedback (a reply being written is stopped first)."""
    await service.delete_chat(user_id, chat_id)
    return Response(status_code=204)


@router.get("/{chat_id}/messages", response_model=MessagesPublic, responses=responses(404))
def list_messages(
    chat_id: str, service: ServiceDep, user_id: UserIdDep, skip: Skip = 0, limit: Limit = 100
) -> MessagesPublic:
    """Messages in order (``position``); a reply being written shows its text so far."""
    messages, count = service.messages(user_id, chat_id, skip=skip, limit=limit)
    return MessagesPublic(data=[MessagePublic.model_validate(m) for m in messages], count=count)


@router.post(
    "/{chat_id}/messages", response_model=MessagePublic, status_code=201, responses=responses(404, body=True)
)
def add_message(chat_id: str, body: MessageCreate, service: ServiceDep, user_id: UserIdDep) -> MessagePublic:
    """Store a message at the end of the chat, as given; no reply is generated (use ``/api/chat``)."""
    return MessagePublic.model_validate(service.add_message(user_id, chat_id, body.role, body.content))


@router.post(
    "/{chat_id}/turns", response_model=TurnPublic, status_code=201, responses=responses(404, body=True)
)
def add_turn(chat_id: str, body: TurnCreate, service: ServiceDep, user_id: UserIdDep) -> TurnPublic:
    """Store the user's message and an empty ``streaming`` reply after it, in one transaction, and give
    the history that reply answers; the caller writes the reply (``PATCH .../messages/{mid}``). No reply
    is generated here."""
    return _turn(service.add_turn(user_id, chat_id, body.content))


@router.post(
    "/{chat_id}/messages/{message_id}/reset", response_model=TurnPublic, responses=responses(404, 409)
)
def reset_reply(chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserIdDep) -> TurnPublic:
    """Make a failed or stopped reply ``streaming`` and empty again, and give the history it answers;
    the caller writes it again (``PATCH .../messages/{mid}``). 409 while it is being written. Nothing is
    generated here (``.../retry`` does that)."""
    return _turn(service.reset_turn(user_id, chat_id, message_id))


@router.put(
    "/{chat_id}/messages/{message_id}",
    response_model=TurnPublic,
    responses=responses(404, 409, body=True),
)
def rewrite_message(
    chat_id: str, message_id: MessageId, body: TurnCreate, service: ServiceDep, user_id: UserIdDep
) -> TurnPublic:
    """Rewrite one of the user's messages, drop the turns after it and store an empty ``streaming``
    reply for its writer (the data API's side of ``.../edit``; nothing is generated here)."""
    return _turn(service.edit_turn(user_id, chat_id, message_id, body.content))


def _turn(turn: Turn) -> TurnPublic:
    return TurnPublic(
        message=MessagePublic.model_validate(turn.history[-1]) if turn.history else None,
        reply=MessagePublic.model_validate(turn.reply),
        history=[MessagePublic.model_validate(m) for m in turn.history],
    )


@router.get("/{chat_id}/messages/{message_id}", response_model=MessagePublic, responses=responses(404))
def get_message(
    chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserIdDep
) -> MessagePublic:
    return MessagePublic.model_validate(service.message(user_id, chat_id, message_id))


@router.patch(
    "/{chat_id}/messages/{message_id}", response_model=MessagePublic, responses=responses(404, 409, body=True)
)
def update_reply(
    chat_id: str, message_id: MessageId, body: ReplyUpdate, service: ServiceDep, user_id: UserIdDep
) -> MessagePublic:
    """Save a reply's text, status, error, token counts or sources (only the fields sent change);
    422 for the user's own messages."""
    changes = body.model_dump(include=body.model_fields_set)
    return MessagePublic.model_validate(service.update_reply(user_id, chat_id, message_id, changes))


@router.get(
    "/{chat_id}/messages/{message_id}/stream",
    response_class=EventSourceResponse,
    responses=EVENTS | responses(404),
)
async def follow_reply(
    chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserIdDep
) -> EventSourceResponse:
    """Server-Sent Events of a reply: its text so far, then new text while this process writes it
    (a reload mid-reply picks up here), then ``done`` with the stored message."""
    await run_in_threadpool(service.message, user_id, chat_id, message_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async for delta in service.follow(user_id, chat_id, message_id):
                yield ServerSentEvent(json.dumps({"content": delta}), event="delta")
            stored = await run_in_threadpool(service.message, user_id, chat_id, message_id)
        except NotFound:  # the chat was deleted while this stream followed it
            yield ServerSentEvent(json.dumps({"detail": DELETED}), event="deleted")
            return
        message = MessagePublic.model_validate(stored)
        yield ServerSentEvent(message.model_dump_json(), event="done")

    return EventSourceResponse(events(), ping=15)


@router.post("/{chat_id}/messages/{message_id}/stop", response_model=MessagePublic, responses=responses(404))
async def stop_reply(
    chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserIdDep
) -> MessagePublic:
    """Stop a reply being written: the model stops and the text so far is kept as ``stopped``."""
    return MessagePublic.model_validate(await service.stop(user_id, chat_id, message_id))


@router.post(
    "/{chat_id}/messages/{message_id}/retry",
    response_model=MessagePublic,
    status_code=202,
    responses=responses(404, 409),
)
async def retry_reply(
    chat_id: str, message_id: MessageId, service: ServiceDep, user_id: UserIdDep
) -> MessagePublic:
    """Write a failed or stopped reply again; poll the messages (or stream ``/api/chat``) for its text."""
    reply, _ = await service.retry(user_id, chat_id, message_id, source="api")
    return MessagePublic.model_validate(reply)


@router.post(
    "/{chat_id}/messages/{message_id}/edit",
    response_model=MessagePublic,
    status_code=202,
    responses=responses(404, 409, body=True),
)
async def edit_message(
    chat_id: str, message_id: MessageId, body: TurnCreate, service: ServiceDep, user_id: UserIdDep
) -> MessagePublic:
    """Edit one of your messages and resend it: the turns after it are replaced by a new reply (not
    kept as a branch); poll the messages (or follow ``.../stream``) for its text."""
    reply, _ = await service.edit(user_id, chat_id, message_id, body.content, source="api")
    return MessagePublic.model_validate(reply)


@router.get("/{chat_id}/feedback", response_model=list[FeedbackPublic], responses=responses(404))
def list_feedback(chat_id: str, service: ServiceDep, user_id: UserIdDep) -> list[FeedbackPublic]:
    """The caller's feedback on this chat's replies."""
    given = service.chat_feedback(user_id, chat_id).values()
    return [FeedbackPublic.model_validate(f) for f in sorted(given, key=lambda f: f.message_id)]


@router.put(
    "/{chat_id}/messages/{message_id}/feedback",
    response_model=FeedbackPublic,
    responses=responses(404, 409, body=True),
)
def give_feedback(
    chat_id: str, message_id: MessageId, body: FeedbackCreate, service: ServiceDep, user_id: UserIdDep
) -> FeedbackPublic:
    """Rate a reply, with an optional comment: `{"rating": 1|-1}` (thumbs), `{"stars": 1..5}` or
    `{"scale": 0..1}`; each is stored with its score in [0, 1]. Rating it again replaces the rating."""
    kind, value = body.kind_and_value()
    feedback = service.feedback(user_id, chat_id, message_id, value, body.comment, kind)
    return FeedbackPublic.model_validate(feedback)
