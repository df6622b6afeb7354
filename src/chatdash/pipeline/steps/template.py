"""``template``: the prompt — a system message rendered from the pipeline file's template, then the
chat's history, then the new message.

The template is configuration (the pipeline file), rendered in Jinja2's sandbox; what users and the
data supply (figures, recalled messages, passages) only ever enters as variables, never as template
text, so a message containing ``{{ ... }}`` is just text. Variables: ``figures`` (the sales answer as
text, empty when there is none), ``sales`` (the ``SalesAnswer`` or None), ``memories``, ``documents``.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import field_validator

from chatdash.llm import Message
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.registry import Step, StepOptions

DEFAULT_SYSTEM = (
    "You are a helpful assistant.\n"
    "{% if figures %}Exact figures from the sales database (quote them as given):\n{{ figures }}\n{% endif %}"
)
_environment = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)
_BLANK_RUNS = re.compile(r"\n{3,}")


class TemplateOptions(StepOptions):
    system: str = DEFAULT_SYSTEM
    """Jinja2 template of the system message."""

    @field_validator("system")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            _environment.parse(value)
        except TemplateSyntaxError as exc:
            raise ValueError(
                f"the system template does not compile: {exc.message} (line {exc.lineno})"
            ) from None
        return value


class TemplateStep(Step):
    id = "template"
    Options = TemplateOptions

    def __init__(self, name: str, options: StepOptions) -> None:
        super().__init__(name, options)
        assert isinstance(options, TemplateOptions)
        self.template = _environment.from_string(options.system)

    async def apply(self, ctx: RunContext, state: State, span: dict[str, Any]) -> bool:
        system = self.template.render(
            figures=state.sales.figures() if state.sales else "",
            sales=state.sales,
            memories=state.memories,
            documents=state.documents,
        )
        system = _BLANK_RUNS.sub("\n\n", system).strip()
        state.messages = [Message.system(system), *ctx.history, Message.user(ctx.message)]
        span.update(system_chars=len(system), history=len(ctx.history))
        return True
