"""Request and response bodies, named ``ThingBase / ThingCreate / ThingUpdate / ThingPublic``.

Validation happens here so a bad request gets a 422 that names the field and the problem before any
service code runs. Rules that come from settings are the service's (a message's length: one check,
one message, whatever the edge) or the route's that owns them (the message count of ``/api/chat``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Role = Literal["user", "assistant"]
Status = Literal["streaming", "complete", "stopped", "error"]


class ChatBase(BaseModel):
    title: Title


class ChatCreate(BaseModel):
    """A new chat; without a title it takes one from its first message."""

    title: Title | None = None


class ChatUpdate(ChatBase):
    pass


class ChatPublic(ChatBase):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ChatsPublic(BaseModel):
    data: list[ChatPublic]
    count: int


class MessageBase(BaseModel):
    role: Role
    content: Text


class MessageCreate(MessageBase):
    model_config = ConfigDict(extra="forbid")


class MessagePublic(MessageBase):
    model_config = ConfigDict(from_attributes=True)

    content: str  # a reply may be empty (failed before its first token)
    id: int
    position: int
    status: Status
    error: str | None
    sources: list[str] = Field(
        default_factory=list, description="What the reply is grounded in: exact sales figures, documents"
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    answer: dict[str, Any] | None = Field(
        None,
        description="A sales answer as data: sentence, metric, exact value (a string), rows, period, "
        "filters, dashboard view, and whether the model's commentary passed the figure check; or "
        '{"declined": why} for a sales question the data cannot answer',
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _stored_json(cls, value: object) -> object:
        """The database keeps sources as a JSON list (None when a reply has none)."""
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("answer", mode="before")
    @classmethod
    def _stored_answer(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class MessagesPublic(BaseModel):
    data: list[MessagePublic]
    count: int


class TurnCreate(BaseModel):
    """The user's new message; an empty ``streaming`` reply is stored after it for its writer."""

    model_config = ConfigDict(extra="forbid")

    content: Text


class TurnPublic(BaseModel):
    message: MessagePublic | None
    """The user's message the reply answers (the newest of ``history``; None when there is none)."""
    reply: MessagePublic
    history: list[MessagePublic]
    """The turns the reply answers, oldest first, ending with ``message``: what its writer sends the model."""


class ReplyUpdate(BaseModel):
    """What the writer of a reply saves; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    status: Status | None = None
    error: str | None = None
    prompt_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    completion_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    sources: list[str] | None = None
    answer: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _not_null(self) -> ReplyUpdate:
        for name in ("content", "status"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal[1, -1] = Field(description="1 is thumbs up, -1 thumbs down")
    comment: Annotated[str, StringConstraints(max_length=4000)] | None = None


class FeedbackPublic(FeedbackCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int
    created_at: dt.datetime


class ChatRequest(BaseModel):
    """``POST /api/chat``, in the published shape; the last message is the new question."""

    messages: list[MessageBase] = Field(min_length=1)
    conversation_id: str | None = Field(None, max_length=32)
    stream: bool = False

    @model_validator(mode="before")
    @classmethod
    def _json_text(cls, value: object) -> object:
        """Accept a JSON body whatever its Content-Type (``curl -d`` sends form-urlencoded)."""
        if isinstance(value, bytes | str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError(
                    'the body must be JSON like {"messages": [{"role": "user", "content": "..."}]}'
                ) from None
        return value

    @model_validator(mode="after")
    def _ends_with_user(self) -> ChatRequest:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must have role 'user': it is the question to answer")
        return self


class Usage(BaseModel):
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatReply(BaseModel):
    conversation_id: str
    message_id: int
    message: MessageBase
    status: Status
    usage: Usage
    sources: list[str] = Field(
        default_factory=list, description="What the reply is grounded in: exact sales figures, documents"
    )
    answer: dict[str, Any] | None = Field(
        None, description="The sales answer as data (see MessagePublic.answer); None for other messages"
    )
