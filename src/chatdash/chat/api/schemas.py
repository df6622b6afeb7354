"""Request and response bodies, named ``ThingBase / ThingCreate / ThingUpdate / ThingPublic``.

Validation happens here so a bad request gets a 422 that names the field and the problem before any
service code runs. Rules that come from settings are the service's (a message's length: one check,
one message, whatever the edge) or the route's that owns them (the message count of ``/api/chat``).

The OpenAPI document is a contract clients generate requests from (our schemathesis test does): request
bodies are strict (``"stream": 0`` is not a boolean), and the rules the service applies to text (not
blank, no NUL) are spelled in the schema too, so a request the schema allows is one the service takes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from chatdash.chat.deps import MAX_ID
from chatdash.chat.repository import check_text
from chatdash.errors import InvalidInput

SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.strip`` removes, as the inside of a regular-expression class: spelled out, because ``\\s``
means different things to Python, ECMAScript and Rust, and the schema is read by all three."""
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^\x00{SPACE}][^\x00]*$"


def _pattern(pattern: str) -> Any:
    """A pattern for the schema only: the service's own checks (``check_text``, ``clean_title``) refuse
    the rest with a message that says what to fix; a regex error would not."""
    return Field(json_schema_extra={"pattern": pattern})


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), _pattern(NOT_BLANK)]
"""A message: not blank (stored stripped), no NUL (PostgreSQL cannot store it)."""
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), _pattern(NOT_BLANK)]
"""A chat title the caller gives; the service strips it."""


def _integral(value: object) -> object:
    """JSON's integers: ``2.0`` is one to JSON Schema, not to strict pydantic (``"2"`` is one to neither)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(_integral)]
"""A token count, stored as a 32-bit integer."""
Role = Literal["user", "assistant"]
Status = Literal["streaming", "complete", "stopped", "error"]


class ChatBase(BaseModel):
    title: Title


class ChatCreate(BaseModel):
    """A new chat; without a title it takes one from its first message."""

    model_config = ConfigDict(strict=True)

    title: Annotated[str, StringConstraints(max_length=200), _pattern(NO_NUL)] | None = Field(
        None, description="Blank or left out: the chat is named after its first message"
    )


class ChatUpdate(ChatBase):
    model_config = ConfigDict(strict=True)


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
    model_config = ConfigDict(extra="forbid", strict=True)


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
    trace_id: str | None = Field(
        None, description="The reply's trace (`GET /api/traces/{id}`): its steps, prompt version, tokens"
    )

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

    model_config = ConfigDict(extra="forbid", strict=True)

    content: Text


class TurnPublic(BaseModel):
    message: MessagePublic | None
    """The user's message the reply answers (the newest of ``history``; None when there is none)."""
    reply: MessagePublic
    history: list[MessagePublic]
    """The turns the reply answers, oldest first, ending with ``message``: what its writer sends the model."""


class ReplyUpdate(BaseModel):
    """What the writer of a reply saves; only the fields sent change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Left out, not null: the schema offers no null for them (SkipJsonSchema), ``_not_null`` refuses it.
    content: Annotated[str, _pattern(NO_NUL)] | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    error: Annotated[str, _pattern(NO_NUL)] | None = None
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    sources: list[str] | None = None
    answer: dict[str, Any] | None = None
    trace_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None

    @model_validator(mode="after")
    def _not_null(self) -> ReplyUpdate:
        for name in ("content", "status"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    @field_validator("content", "error")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        try:
            return None if value is None else check_text(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None


Comment = Annotated[str, StringConstraints(max_length=4000), _pattern(NO_NUL)]


class _Rated(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    comment: Comment | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        if isinstance(value, bool):  # True == 1 to Python, not to JSON
            raise ValueError("a rating is a number, not true or false")
        return _whole(value)

    def kind_and_value(self) -> tuple[str, float]:
        raise NotImplementedError


class ThumbsFeedback(_Rated):
    rating: Literal[1, -1] = Field(description="1 is thumbs up, -1 thumbs down (score 1 or 0)")

    def kind_and_value(self) -> tuple[str, float]:
        return "thumbs", self.rating


class StarsFeedback(_Rated):
    stars: Literal[1, 2, 3, 4, 5] = Field(description="1 to 5 stars (score 0, 0.25 ... 1)")

    def kind_and_value(self) -> tuple[str, float]:
        return "stars", self.stars


class ScaleFeedback(_Rated):
    scale: float = Field(ge=0, le=1, allow_inf_nan=False, description="0 (useless) to 1 (perfect): the score")

    def kind_and_value(self) -> tuple[str, float]:
        return "scale", self.scale


FeedbackCreate = ThumbsFeedback | StarsFeedback | ScaleFeedback
"""One rating of a reply, in the kind the client offers; each is stored with its score in [0, 1]."""


class ApiFeedbackCreate(BaseModel):
    """``POST /api/feedback``: a rating of a reply that ``/api/chat`` or ``/v1/chat/completions`` returned
    (their ``conversation_id`` and ``message_id``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    conversation_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    feedback: FeedbackCreate

    @field_validator("message_id", mode="before")
    @classmethod
    def _whole_id(cls, value: object) -> object:
        return _whole(value)


def _whole(value: object) -> object:
    """``2.0`` as ``2``: JSON has one kind of number, and JSON Schema's integer takes ``2.0`` (strict
    pydantic would not); a string or a fraction stays as it is, to be refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int
    kind: Literal["thumbs", "stars", "scale"]
    rating: int | None = Field(description="As given: thumbs 1 or -1, stars 1 to 5; none for a scale")
    score: float = Field(description="The rating in [0, 1]")
    comment: str | None
    created_at: dt.datetime


class ChatRequest(BaseModel):
    """``POST /api/chat``, in the published shape; the last message is the new question."""

    model_config = ConfigDict(strict=True)

    messages: list[MessageBase] = Field(
        min_length=1,
        description="The conversation, oldest first; the last message is the question, with role `user`",
    )
    conversation_id: Annotated[str, _pattern(NO_NUL)] | None = Field(None, max_length=32)
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


class ReplyText(BaseModel):
    """The reply in the published shape; its text may be empty (a reply stopped before its first token)."""

    role: Literal["assistant"]
    content: str


class ChatReply(BaseModel):
    conversation_id: str
    message_id: int
    trace_id: str | None = Field(None, description="The reply's trace: `GET /api/traces/{trace_id}`")
    message: ReplyText
    status: Status
    usage: Usage
    sources: list[str] = Field(
        default_factory=list, description="What the reply is grounded in: exact sales figures, documents"
    )
    answer: dict[str, Any] | None = Field(
        None, description="The sales answer as data (see MessagePublic.answer); None for other messages"
    )


class FieldError(BaseModel):
    """One problem the validator found in a request."""

    loc: list[str | int] = Field(
        description='Where: "body", "query", "path" or "header", then the path to the field'
    )
    msg: str = Field(description="What is wrong with it")
    type: str = Field(description="The kind of problem, e.g. missing, string_too_short, json_invalid")


class ErrorBody(BaseModel):
    """The body of every error response of the APIs, whatever its status.

    ``detail`` alone is enough to show a person: what is wrong and what to do. A request the validator
    refused (422) also lists each field's problem in ``errors``; a ``POST /api/chat`` whose reply failed
    after it was stored names that reply, to read or retry.
    """

    detail: str = Field(description="What is wrong and what to do about it")
    errors: list[FieldError] | None = Field(
        None, description="The request's problems, one per field (only for 422 from validation)"
    )
    conversation_id: str | None = Field(None, description="The chat of a reply that failed (POST /api/chat)")
    message_id: int | None = Field(None, description="The reply that failed (POST /api/chat): retry it")
    trace_id: str | None = Field(None, description="The failed reply's trace (`GET /api/traces/{id}`)")


class StreamStart(BaseModel):
    conversation_id: str
    message_id: int
    trace_id: str | None = Field(None, description="The reply's trace: `GET /api/traces/{trace_id}`")


class StreamDelta(BaseModel):
    content: str = Field(description="The next piece of the reply's text")


class StreamError(BaseModel):
    detail: str = Field(description="What went wrong")
    status: int = Field(description="The HTTP status the error would have had")
    trace_id: str | None = Field(None, description="The failed reply's trace")


def event_stream(description: str, **events: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI response of a Server-Sent Events stream: each event's name and the JSON schema of
    its ``data`` (OpenAPI 3.1 reads a ``text/event-stream`` schema as the schema of one event)."""
    one_of = [
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": name},
                "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
            },
        }
        for name, data in events.items()
    ]
    return {"description": description, "content": {"text/event-stream": {"schema": {"oneOf": one_of}}}}


def component(model: type[BaseModel]) -> dict[str, str]:
    """A reference to ``model`` in the OpenAPI components, where every route's body model is."""
    return {"$ref": f"#/components/schemas/{model.__name__}"}
