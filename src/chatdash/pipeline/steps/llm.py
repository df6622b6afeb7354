"""``llm``: a model call, streamed from the run's provider (or the one serving its ``model``).

Its prompt is the nearest earlier ``template`` step's output (input ``messages``), or its own:
``prompt = "name@label"`` (a registry prompt) or ``system = "..."`` (a template), rendered with its
inputs as variables, then the user's message. A pipeline may have several, each with its own prompt and
parameters, a later one reading an earlier one's text (``inputs = { draft = "draft" }``); the output
is the ``Completion``. Parameters, later ones winning: the file's, the registry version's ``params``,
the run's ``llm_options``; ``max_tokens`` is then capped by the run's.

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

from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from chatdash.errors import PipelineError
from chatdash.llm import Message, Options, Provider, get_provider
from chatdash.pipeline.context import Rendered, RunContext, SalesResult, StepRun
from chatdash.pipeline.prompting import checked_ref, resolve_prompt
from chatdash.pipeline.registry import Step, StepOptions
from chatdash.pipeline.steps.template import prompt_variables
from chatdash.prompts import PromptError, compile_template, render_template
from chatdash.sales import check_figures

_PARAMS = ("temperature", "max_tokens", "seed", "stop")
"""The generation options a registry version's ``params`` may set (and ``model``)."""


class LLMOptions(StepOptions):
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    model: str | None = Field(None, min_length=1)
    """Another model than the run's provider's: one the run's ``providers`` has, or the configured
    OpenAI-compatible server serves."""
    prompt: str | None = None
    """The step's own registry prompt (``name@label``), rendered with its inputs and ``message``."""
    system: str | None = None
    """The step's own system template (when no ``prompt``), rendered the same way."""
    check_figures: bool = False
    """Show the model's words after a sales answer only when their numbers are the answer's."""
    reply: bool = True
    """False: the step's text is an output for later steps only (a classification, a draft), not part
    of the reply."""

    @model_validator(mode="after")
    def _valid_for_providers(self) -> LLMOptions:
        if self.on_error == "skip":
            raise ValueError("on_error = 'skip' is not possible for llm: without it there is no reply")
        if self.prompt is not None and self.system is not None:
            raise ValueError("give either prompt (a registry prompt) or system (a template), not both")
        self.generation()  # the provider options must accept them too
        return self

    @field_validator("prompt")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return checked_ref(value)

    @field_validator("system")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_template(value)
            except PromptError as exc:
                raise ValueError(f"the system {exc}") from None
        return value

    def generation(self, params: Mapping[str, Any] | None = None) -> Options:
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        given = {k: v for k, v in values.items() if v is not None} | {"stop": self.stop}
        return Options.model_validate(given | {k: v for k, v in (params or {}).items() if k in _PARAMS})


class LLMStep(Step):
    id = "llm"
    Options = LLMOptions
    streams = True
    reads: ClassVar[Mapping[str, str]] = {"messages": "template", "sales": "sales_query"}
    free_inputs = True

    async def stream(self, ctx: RunContext, run: StepRun) -> AsyncGenerator[str, None]:
        assert isinstance(self.options, LLMOptions)
        span = run.span
        sales = run.inputs.get("sales")
        sales = sales if isinstance(sales, SalesResult) else SalesResult()
        if sales.declined is not None:
            run.skip("declined sales question: the reply says what the data has")
            return
        checked = self.options.check_figures and sales.sales is not None
        prompt = await self._prompt(ctx, run)
        if prompt.prompt is not None:
            span.update(prompt=prompt.prompt, prompt_version=prompt.version)
        provider = self._provider(ctx, prompt.params.get("model"))
        options = provider.options(self.options.generation(prompt.params), ctx.llm_options)
        if ctx.max_tokens is not None and options.max_tokens > ctx.max_tokens:
            options = options.model_copy(update={"max_tokens": ctx.max_tokens})
        span.update(temperature=options.temperature, max_tokens=options.max_tokens)
        held: list[str] = []
        async with provider.stream(prompt.messages, options) as stream:
            async for delta in stream:
                if checked or not self.options.reply:
                    held.append(delta)
                else:
                    yield delta
        completion = run.output = stream.completion
        if checked and sales.sales is not None:
            text = "".join(held).strip()
            if completion.finish_reason == "length":  # cut off by max_tokens: keep whole sentences only
                text = _whole_sentences(text)
            answer = sales.sales
            check = check_figures(
                text,
                figures=answer.all_figures(),
                dates=answer.dates(),
                periods=[row.label for row in answer.rows],
                question=ctx.message,
            )
            shown = bool(text) and check.ok
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

    async def _prompt(self, ctx: RunContext, run: StepRun) -> Rendered:
        """The messages to send: the step's own prompt, else its template's, else history + message."""
        assert isinstance(self.options, LLMOptions)
        if self.options.prompt is None and self.options.system is None:
            given = run.inputs.get("messages")
            if isinstance(given, Rendered):
                return given
            return Rendered([*ctx.history, Message.user(ctx.message)])
        variables = prompt_variables(ctx, run.inputs)
        if self.options.system is not None:
            system = render_template(self.options.system, variables, f"the system template of {self.name}")
            return Rendered([Message.system(system), Message.user(ctx.message)])
        version = await resolve_prompt(ctx, self.options.prompt or "", run.span)
        messages = [Message(m.role, m.content) for m in version.render_messages(variables)]
        if version.text is not None:
            messages.append(Message.user(ctx.message))
        return Rendered(messages, version.name, version.version, version.params)

    def _provider(self, ctx: RunContext, prompt_model: Any) -> Provider:
        """The run's provider, or the one serving the model the step (or its prompt version) names."""
        model = self.options.model if isinstance(self.options, LLMOptions) and self.options.model else None
        model = model or (prompt_model if isinstance(prompt_model, str) and prompt_model else None)
        if model is None or model == ctx.provider.model:
            return ctx.provider
        if model in ctx.providers:
            return ctx.providers[model]
        if ctx.settings.llm_base_url:
            return get_provider(ctx.settings.model_copy(update={"llm_model": model}))
        raise PipelineError(
            f"step {self.name}: no provider serves the model {model!r} (the run's serves "
            f"{ctx.provider.model!r}); set CHATDASH_LLM_BASE_URL to a server that has it"
        )

    def pinned(self, value: Any) -> tuple[Any, str]:
        """A pinned text stands for the completion; it is the step's part of the reply."""
        return value, value if isinstance(value, str) else getattr(value, "text", "")


def _whole_sentences(text: str) -> str:
    """``text`` up to its last sentence end; "" when not even one sentence is complete."""
    ends = [
        i for i, char in enumerate(text) if char in ".!?" and (i + 1 == len(text) or text[i + 1].isspace())
    ]
    return text[: ends[-1] + 1] if ends else ""
