"""The built-in steps, registered like any outside step would be."""

from chatdash.pipeline.registry import register_step
from chatdash.pipeline.steps.answer import AnswerStep
from chatdash.pipeline.steps.llm import LLMStep
from chatdash.pipeline.steps.retrieve import RetrieveStep
from chatdash.pipeline.steps.sales_query import SalesQueryStep
from chatdash.pipeline.steps.template import TemplateStep

for _step in (RetrieveStep, SalesQueryStep, AnswerStep, TemplateStep, LLMStep):
    register_step(_step)

__all__ = ["AnswerStep", "LLMStep", "RetrieveStep", "SalesQueryStep", "TemplateStep"]
