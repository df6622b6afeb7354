"""``sales_query``: a sales question answered by the query layer, exactly.

The message is read by rules over the semantic model and the data's own vocabulary
(``chatdash.sales.question``), in the context of the chat's earlier user messages, so a follow-up
("and in 2020?") inherits the rest of the last sales question. A sales question's spec runs through
``chatdash.sales`` and the answer goes into the state: the ``answer`` step writes its sentence as the
reply's first line, the ``template`` step gives the figures to the model, and the run's ``Sources``
event gives them to the client. A sales question that cannot be answered as asked (an unknown name, a
date that cannot be read whole) is ``declined`` instead (the output, a ``SalesResult``, says why). Not
a sales question: the step is ``skipped`` and the reply is the model's alone.

With ``model_fallback = true`` a message the rules do not read as a sales question is given to the
model with a JSON schema; its proposal is used only when it validates and names nothing outside the
data's vocabulary. Rules always come first: the embedded 135M model fills schemas with wrong values,
so the fallback is for capable models behind ``CHATDASH_LLM_BASE_URL``. What the model is told is
the registry prompt ``sales-query-fallback@production`` (option ``prompt``), given the vocabulary.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Literal

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine

from chatdash.errors import ModelError, QueryError
from chatdash.llm import Message
from chatdash.pipeline.context import RunContext, SalesResult, StepRun
from chatdash.pipeline.prompting import checked_ref, resolve_prompt
from chatdash.pipeline.registry import Step, StepOptions
from chatdash.sales import QuerySpec, Vocabulary, answer, load_vocabulary, read_conversation


class SalesQueryOptions(StepOptions):
    on_error: Literal["fail", "skip"] = "skip"
    vocabulary_ttl_s: float = Field(60.0, ge=0.0)
    """How long the data's categories, products and dates are reused before being read again."""
    model_fallback: bool = False
    """Ask the model (JSON-schema output) when the rules find no sales question."""
    context_messages: int = Field(10, ge=0, le=100)
    """Earlier user messages of the chat read for a follow-up's context."""
    prompt: str = "sales-query-fallback@production"
    """The registry prompt of the model fallback (variables: ``categories``, ``products``, ``first``,
    ``last``)."""

    @field_validator("prompt")
    @classmethod
    def _reference(cls, value: str) -> str:
        return checked_ref(value) or value


class Proposal(BaseModel):
    """What the model is asked for when the rules found nothing."""

    model_config = ConfigDict(extra="forbid")

    about_sales: bool
    """True only if the message asks for figures from the sales data."""
    spec: QuerySpec | None = None


_vocabularies: weakref.WeakKeyDictionary[Engine, tuple[float, Vocabulary]] = weakref.WeakKeyDictionary()


def vocabulary_of(engine: Engine, ttl_s: float) -> Vocabulary:
    """The engine's vocabulary, read again after ``ttl_s`` seconds (new loads bring new products)."""
    cached = _vocabularies.get(engine)
    now = time.monotonic()
    if cached is not None and now - cached[0] < ttl_s:
        return cached[1]
    vocabulary = load_vocabulary(engine)
    _vocabularies[engine] = (now, vocabulary)
    return vocabulary


class SalesQueryStep(Step):
    id = "sales_query"
    Options = SalesQueryOptions

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        assert isinstance(self.options, SalesQueryOptions)
        engine, span = ctx.engine, run.span
        if engine is None:
            run.skip("no database")
            return
        vocabulary = await anyio.to_thread.run_sync(vocabulary_of, engine, self.options.vocabulary_ttl_s)
        earlier = [m.content for m in ctx.history if m.role == "user"]
        earlier = earlier[-self.options.context_messages :] if self.options.context_messages else []
        reading = read_conversation([*earlier, ctx.message], vocabulary)
        spec = reading.spec
        span["read_by"] = "rules"
        if reading.notes:
            span["notes"] = list(reading.notes)
        if spec is None and self.options.model_fallback:
            # A capable model may read what the rules could not ("twenty nineteen"); its spec is
            # validated against the same vocabulary, and without one the rules' answer stands.
            spec = await self._ask_model(ctx, vocabulary, span)
        if spec is None and reading.declined is not None:
            run.output = SalesResult(declined=reading.declined)
            span["declined"] = reading.declined
            return
        if spec is None:
            run.skip("not a sales question")
            return
        try:
            result = await anyio.to_thread.run_sync(answer, engine, spec, reading.notes)
        except QueryError as exc:
            run.output = SalesResult(spec, declined=f"I can't answer that from the sales data: {exc}.")
            span["declined"] = run.output.declined
            return
        run.output = SalesResult(spec, result)
        span.update(spec=spec.model_dump(mode="json"), query=result.description)

    async def _ask_model(
        self, ctx: RunContext, vocabulary: Vocabulary, span: dict[str, Any]
    ) -> QuerySpec | None:
        span["read_by"] = "model"
        assert isinstance(self.options, SalesQueryOptions)
        prompt = await resolve_prompt(ctx, self.options.prompt, span)
        system = prompt.render(
            {
                "categories": list(vocabulary.categories),
                "products": list(vocabulary.products),
                "first": vocabulary.first,
                "last": vocabulary.last,
            }
        )
        messages = [Message.system(system), Message.user(ctx.message)]
        try:
            proposal = (
                await ctx.provider.structured(messages, Proposal, temperature=0.0, max_tokens=256)
            ).value
        except ModelError as exc:
            span["model_error"] = f"{type(exc).__name__}: {exc}"
            return None
        if not proposal.about_sales or proposal.spec is None:
            return None
        try:
            return proposal.spec.validated(vocabulary)
        except QueryError as exc:
            span["model_spec_rejected"] = str(exc)
            return None
