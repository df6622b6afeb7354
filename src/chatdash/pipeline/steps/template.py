"""``template``: the prompt — a system message rendered from a registry prompt (``prompt =
"chat-system@production"``) or from the pipeline file's own ``system`` template, then the chat's
history, then the new message.

Templates are configuration (a registry version, the pipeline file), rendered in Jinja2's sandbox by
``chatdash.prompts``; what users and the data supply (figures, recalled messages, passages) only ever
enters as variables, never as template text, so a message containing ``{{ ... }}`` is just text.
Variables: ``figures`` (the sales answer as text, empty when there is none), ``sales`` (the
``SalesAnswer`` or None), ``memories``, ``documents``. A registry prompt of chat messages puts its
rendered messages where the system message would be.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator, model_validator

from chatdash.llm import Message
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.prompting import checked_ref, resolve_prompt
from chatdash.pipeline.registry import Step, StepOptions
from chatdash.prompts import PromptError, compile_template, parse_ref, render_template, shipped_prompts

DEFAULT_SYSTEM = (
    "You are a helpful assistant.\n"
    "{% if figures %}Exact figures from the sales database (quote them as given):\n{{ figures }}\n{% endif %}"
)
_BLANK_RUNS = re.compile(r"\n{3,}")


class TemplateOptions(StepOptions):
    system: str = DEFAULT_SYSTEM
    """Jinja2 template of the system message (when no ``prompt`` is named)."""
    prompt: str | None = None
    """A registry prompt, ``name@label`` or ``name@3``, resolved at each run (see ``pipeline.prompting``).
    With it, ``system`` holds the shipped file's text of that name, only so that callers sizing the
    prompt before a run (``Pipeline.prompt_frame``) have its length; it is not rendered."""

    @model_validator(mode="before")
    @classmethod
    def _prompt_or_system(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("prompt") is None:
            return data
        if "system" in data:
            raise ValueError("give either prompt (a registry prompt) or system (a template), not both")
        try:
            shipped = shipped_prompts().get(parse_ref(str(data["prompt"])).name)
        except PromptError:
            return data  # the field validator says what is wrong with the reference
        return {**data, "system": "\n".join(shipped.templates()) if shipped else ""}

    @field_validator("prompt")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return checked_ref(value)

    @field_validator("system")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile_template(value)
        except PromptError as exc:
            raise ValueError(f"the system {exc}") from None
        return value


class TemplateStep(Step):
    id = "template"
    Options = TemplateOptions

    async def apply(self, ctx: RunContext, state: State, span: dict[str, Any]) -> bool:
        assert isinstance(self.options, TemplateOptions)
        variables = {
            "figures": state.sales.figures() if state.sales else "",
            "sales": state.sales,
            "memories": state.memories,
            "documents": state.documents,
        }
        if self.options.prompt is None:
            system = [Message.system(render_template(self.options.system, variables, "the system template"))]
        else:
            version = await resolve_prompt(ctx, self.options.prompt, span)
            system = [Message(m.role, m.content) for m in version.render_messages(variables)]
        system = [Message(m.role, _BLANK_RUNS.sub("\n\n", m.content).strip()) for m in system]
        state.messages = [*system, *ctx.history, Message.user(ctx.message)]
        span.update(system_chars=sum(len(m.content) for m in system), history=len(ctx.history))
        return True
