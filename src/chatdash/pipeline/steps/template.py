"""``template``: the prompt — a system message rendered from a registry prompt (``prompt =
"chat-system@production"``) or from the pipeline file's own ``system`` template, then the chat's
history, then the new message.

Templates are configuration (a registry version, the pipeline file), rendered in Jinja2's sandbox by
``chatdash.prompts``; what users and the data supply (figures, recalled messages, passages) only ever
enters as variables, never as template text, so a message containing ``{{ ... }}`` is just text.
Variables: ``figures`` (the sales answer as text, empty when there is none), ``sales`` (the
``SalesAnswer`` or None), ``memories``, ``documents``, and any other input the step names (``inputs
= { draft = "draft" }``: an earlier ``llm`` step's text). A registry prompt of chat messages puts its
rendered messages where the system message would be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from chatdash.llm import Completion, Message
from chatdash.pipeline.context import Rendered, Retrieved, RunContext, SalesResult, StepRun
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
    reads: ClassVar[Mapping[str, str]] = {"sales": "sales_query", "retrieved": "retrieve"}
    free_inputs = True

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        assert isinstance(self.options, TemplateOptions)
        variables = prompt_variables(ctx, run.inputs)
        if self.options.prompt is None:
            text = render_template(self.options.system, variables, "the system template")
            rendered = Rendered([Message.system(text)])
        else:
            version = await resolve_prompt(ctx, self.options.prompt, run.span)
            messages = [Message(m.role, m.content) for m in version.render_messages(variables)]
            rendered = Rendered(messages, version.name, version.version, version.params)
        system = [Message(m.role, _BLANK_RUNS.sub("\n\n", m.content).strip()) for m in rendered.messages]
        messages = [*system, *ctx.history, Message.user(ctx.message)]
        run.output = Rendered(messages, rendered.prompt, rendered.version, rendered.params)
        run.span.update(system_chars=sum(len(m.content) for m in system), history=len(ctx.history))


def prompt_variables(ctx: RunContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A prompt's variables from a step's inputs: the sales answer and its figures, the retrieved
    memories and documents, the user's ``message``, and every other input by its name (a completion as
    its text)."""
    sales = inputs.get("sales")
    answer = sales.sales if isinstance(sales, SalesResult) else None
    retrieved = inputs.get("retrieved")
    retrieved = retrieved if isinstance(retrieved, Retrieved) else Retrieved()
    variables: dict[str, Any] = {
        "figures": answer.figures() if answer else "",
        "sales": answer,
        "memories": retrieved.memories,
        "documents": retrieved.documents,
        "message": ctx.message,
    }
    for name, value in inputs.items():
        if name not in ("sales", "retrieved"):
            variables[name] = value.text if isinstance(value, Completion) else value
    return variables
