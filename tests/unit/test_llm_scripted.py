"""The provider protocol through the scripted double, registered and created like the real providers:
completion, streaming, options, structured output with its retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from chatdash.errors import InvalidStructuredOutput, ModelBusy, ModelError
from chatdash.llm import Message, Options, create
from chatdash.llm.providers.scripted import ScriptedProvider

pytestmark = pytest.mark.timeout(30)


class Order(BaseModel):
    product: str
    quantity: int = Field(ge=1, le=10)


def scripted(*replies: Any, **options: Any) -> ScriptedProvider:
    provider = create("scripted", replies=list(replies), **options)
    assert isinstance(provider, ScriptedProvider)
    return provider


def test_completion_and_usage() -> None:
    provider = scripted("Paris is the capital of France.")
    reply = asyncio.run(provider.complete([Message.user("Capital of France?")], max_tokens=50))
    assert reply.text == "Paris is the capital of France."
    assert reply.finish_reason == "stop"
    assert reply.provider == "scripted"
    assert reply.usage.completion_tokens == 6
    assert reply.usage.prompt_tokens == provider.count_tokens([Message.user("Capital of France?")])
    assert reply.usage.first_token_s is not None
    assert 0 <= reply.usage.first_token_s <= reply.usage.total_s


def test_stream_deltas_join_to_the_completion() -> None:
    provider = scripted("one two three four", delay_s=0.01)

    async def run() -> tuple[list[str], str, int]:
        async with provider.stream([Message.user("count")]) as stream:
            deltas = [delta async for delta in stream]
        return deltas, stream.completion.text, stream.completion.usage.completion_tokens

    deltas, text, tokens = asyncio.run(run())
    assert len(deltas) == 4
    assert "".join(deltas) == text == "one two three four"
    assert tokens == 4


def test_max_tokens_cuts_the_reply() -> None:
    reply = asyncio.run(scripted("a b c d e f").complete([Message.user("x")], max_tokens=3))
    assert reply.text == "a b c "
    assert reply.finish_reason == "length"


def test_completion_is_not_available_before_the_stream_ends() -> None:
    async def run() -> None:
        stream = scripted("a b").stream([Message.user("x")])
        with pytest.raises(RuntimeError, match="has not finished"):
            _ = stream.completion
        await stream.aclose()

    asyncio.run(run())


def test_options_refuse_unknown_fields() -> None:
    provider = scripted("hi")
    with pytest.raises(ValidationError, match="max_token"):
        asyncio.run(provider.complete([Message.user("x")], max_token=5))
    with pytest.raises(ValidationError):
        Options(temperature=3.0)
    merged = provider.options(Options(temperature=0.5, seed=3), {"max_tokens": 9})
    assert (merged.temperature, merged.seed, merged.max_tokens) == (0.5, 3, 9)


def test_errors_from_the_model_reach_the_caller() -> None:
    provider = scripted(ModelBusy("busy", retry_after=4.0))
    with pytest.raises(ModelBusy) as caught:
        asyncio.run(provider.complete([Message.user("x")]))
    assert caught.value.retry_after == 4.0
    with pytest.raises(ModelError, match="no canned replies left"):
        asyncio.run(provider.complete([Message.user("x")]))


def test_echo_without_a_script() -> None:
    reply = asyncio.run(create("scripted").complete([Message.user("hello there")]))
    assert reply.text == "You said: hello there"


def test_structured_output_validates_into_the_model() -> None:
    provider = scripted('{"product": "Desk", "quantity": 2}')
    result = asyncio.run(provider.structured([Message.user("Two desks")], Order))
    assert result.value == Order(product="Desk", quantity=2)
    assert result.attempts == 1
    request = provider.requests[0]
    assert request.schema == Order.model_json_schema()
    assert "JSON schema" in request.messages[0].content  # the schema is stated in the system prompt


def test_structured_output_retries_with_the_validation_error() -> None:
    provider = scripted('{"product": "Desk", "quantity": 40}', '{"product": "Desk", "quantity": 4}')
    result = asyncio.run(provider.structured([Message.user("Forty desks")], Order))
    assert result.value.quantity == 4
    assert result.attempts == 2
    retry = provider.requests[1].messages
    assert retry[-2] == Message.assistant('{"product": "Desk", "quantity": 40}')
    assert "quantity" in retry[-1].content and retry[-1].role == "user"


def test_structured_output_gives_up_after_the_attempts() -> None:
    provider = scripted("not json", '{"product": 1}', "[]")
    with pytest.raises(InvalidStructuredOutput, match="in 3 attempts") as caught:
        asyncio.run(provider.structured([Message.user("x")], Order, attempts=3))
    assert caught.value.last_reply == "[]"
    assert len(provider.requests) == 3


def test_structured_output_with_a_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
        "required": ["city", "population"],
    }
    provider = scripted('{"city": "Paris", "population": -1}', '{"city": "Paris", "population": 2100000}')
    result = asyncio.run(provider.structured([Message.user("Paris?")], schema))
    assert result.value == {"city": "Paris", "population": 2100000}
    assert "population" in provider.requests[1].messages[-1].content
    with pytest.raises(Exception, match="is not valid"):
        asyncio.run(provider.structured([Message.user("x")], {"type": "no-such-type"}))
