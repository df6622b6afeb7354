"""``llm``: the reply, streamed from the run's provider.

The provider trims the prompt to its context window with its own tokenizer (system prompt and newest
turns kept), so this step sends the whole prompt and reports how many old turns were dropped. Leaving
the stream early (a closed tab, a stop button) closes the provider's stream, which stops generation.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from pydantic import Field, model_validator

from chatdash.llm import Message, Options
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.registry import Step, StepOptions


class LLMOptions(StepOptions):
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _valid_for_providers(self) -> LLMOptions:
        if self.on_error == "skip":
            raise ValueError("on_error = 'skip' is not possible for llm: without it there is no reply")
        self.generation()  # the provider options must accept them too
        return self

    def generation(self) -> Options:
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return Options.model_validate(
            {k: v for k, v in values.items() if v is not None} | {"stop": self.stop}
        )


class LLMStep(Step):
    id = "llm"
    Options = LLMOptions
    streams = True

    async def stream(self, ctx: RunContext, state: State, span: dict[str, Any]) -> AsyncGenerator[str, None]:
        assert isinstance(self.options, LLMOptions)
        messages = state.messages or [*ctx.history, Message.user(ctx.message)]
        provider = ctx.provider
        # The file's options, then this run's explicit overrides, then the cap on max_tokens.
        options = provider.options(self.options.generation(), ctx.llm_options)
        if ctx.max_tokens is not None and options.max_tokens > ctx.max_tokens:
            options = options.model_copy(update={"max_tokens": ctx.max_tokens})
        async with provider.stream(messages, options) as stream:
            async for delta in stream:
                yield delta
        completion = state.completion = stream.completion
        usage = completion.usage
        span.update(
            provider=completion.provider,
            model=completion.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            first_token_s=usage.first_token_s,
            finish_reason=completion.finish_reason,
            dropped_messages=completion.dropped_messages,
        )
