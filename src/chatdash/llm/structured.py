"""Structured output: a JSON schema (or a Pydantic model) in, a validated value out.

Constrained decoding (llama.cpp's JSON-schema grammar, a server's ``response_format``) makes the reply
parse, but a small model still fills in wrong or out-of-range values and some servers ignore the schema.
So every reply is validated here, and a failed one is sent back with the validation error for another
attempt: the changed prompt gives the model a real chance to answer differently even at temperature 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from pydantic import BaseModel, ValidationError

from chatdash.llm.types import Message

Schema = type[BaseModel] | Mapping[str, Any]
"""A Pydantic model class (the result is an instance) or a JSON schema (the result is plain JSON)."""


def json_schema(schema: Schema) -> dict[str, Any]:
    """The JSON schema to constrain decoding with."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    if isinstance(schema, Mapping):
        jsonschema.validators.validator_for(schema).check_schema(schema)
        return dict(schema)
    raise TypeError(f"expected a Pydantic model class or a JSON schema dict, got {schema!r}")


def schema_name(schema: Schema) -> str:
    """A short name for the schema (``response_format`` wants one)."""
    if isinstance(schema, type):
        return schema.__name__
    title = schema.get("title")
    return str(title) if title else "reply"


def parse(text: str, schema: Schema) -> Any:
    """The validated value of ``text``; ``ValueError`` with a readable reason when it does not fit."""
    if isinstance(schema, type):
        try:
            return schema.model_validate_json(text)
        except ValidationError as exc:
            raise ValueError(_pydantic_reason(exc)) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise ValueError(f"at {where}: {error.message}")
    return value


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "the top level"
        parts.append(f"at {where}: {error['msg']}")
    return "; ".join(parts)


def with_instructions(messages: Sequence[Message], schema: dict[str, Any]) -> list[Message]:
    """The messages with the schema stated in the system prompt.

    Grammars constrain the shape, but field names and descriptions in the prompt are what make a small
    model put sensible values in them, and they keep servers that ignore ``response_format`` on track.
    """
    instruction = (
        "Reply with one JSON value, and nothing else, that matches this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )
    kept = list(messages)
    if kept and kept[0].role == "system":
        return [Message.system(f"{kept[0].content}\n\n{instruction}"), *kept[1:]]
    return [Message.system(instruction), *kept]


def retry_messages(messages: Sequence[Message], reply: str, reason: str) -> list[Message]:
    """The conversation for the next attempt: the rejected reply and why it was rejected."""
    return [
        *messages,
        Message.assistant(reply),
        Message.user(
            f"That reply does not match the schema ({reason}). Reply again with corrected JSON only."
        ),
    ]
