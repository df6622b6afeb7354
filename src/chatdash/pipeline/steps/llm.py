"""``llm``: the reply, streamed from the run's provider.

The provider trims the prompt to its context window with its own tokenizer (system prompt and newest
turns kept), so this step sends the whole prompt and reports how many old turns were dropped. Leaving
the stream early (a closed tab, a stop button) closes the provider's stream, which stops generation.

After a sales answer (``state.sales``) with ``check_figures = true``, the model's text is commentary
on figures the reply already gave: it is held back until it is complete, and shown only when every
number in it is a figure of the answer, a date of its query or a number of the question (the figure
check); otherwise the answer stands alone and the span records why. A declined sales question gets no
model text at all: the model would answer a question the data cannot.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from pydantic import Field, model_validator

from chatdash.llm import Message, Options
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.registry import Step, StepOptions
from chatdash.sales import check_figures


class LLMOptions(StepOptions):
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    check_figures: bool = False
    """Show the model's words after a sales answer only when their numbers are the answer's."""

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
        if state.declined is not None:
            span["skipped"] = "declined sales question: the reply says what the data has"
            return
        checked = self.options.check_figures and state.sales is not None
        messages = state.messages or [*ctx.history, Message.user(ctx.message)]
        provider = ctx.provider
        # The file's options, then this run's explicit overrides, then the cap on max_tokens.
        options = provider.options(self.options.generation(), ctx.llm_options)
        if ctx.max_tokens is not None and options.max_tokens > ctx.max_tokens:
            options = options.model_copy(update={"max_tokens": ctx.max_tokens})
        held: list[str] = []
        async with provider.stream(messages, options) as stream:
            async for delta in stream:
                if checked:
                    held.append(delta)
                else:
                    yield delta
        completion = state.completion = stream.completion
        if checked and state.sales is not None:
            text = "".join(held).strip()
            if completion.finish_reason == "length":  # cut off by max_tokens: keep whole sentences only
                text = _whole_sentences(text)
            sales = state.sales
            check = check_figures(
                text,
                figures=sales.all_figures(),
                dates=sales.dates(),
                periods=[row.label for row in sales.rows],
                question=ctx.message,
            )
            shown = bool(text) and check.ok
            state.extra["commentary"] = {"shown": shown, "reason": check.reason if text else "empty"}
            span["figure_check"] = "shown" if shown else (check.reason or "empty")
            if shown:
                yield "\n\n" + text
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


def _whole_sentences(text: str) -> str:
    """``text`` up to its last sentence end; "" when not even one sentence is complete."""
    ends = [
        i for i, char in enumerate(text) if char in ".!?" and (i + 1 == len(text) or text[i + 1].isspace())
    ]
    return text[: ends[-1] + 1] if ends else ""
