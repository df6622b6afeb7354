"""The pipeline engine: a chat reply (or a test-bed case) as named steps declared in a file.

Typical use::

    from chatdash.pipeline import Delta, Done, Sources, chat_turn, load_pipeline

    pipeline = load_pipeline("chat")          # chatdash/pipeline/pipelines/chat.toml
    ctx = chat_turn(user_id=7, chat_id=chat_id, history=[*earlier, Message.user(text)],
                    provider=get_provider(), engine=engine, memory=get_store(), settings=settings)
    async for event in pipeline.run(ctx):
        match event:
            case Sources(): ...               # figures + passages, before the first word
            case Delta(text=text, step=step): ...   # the reply as it is written, by step
            case Done(outputs=outputs, spans=spans): ...
    result = await pipeline.complete(ctx)     # or all at once

A loaded ``Pipeline`` keeps no per-run state: load it once and run it for every message, also
concurrently. Each step's output is kept under its name (``Done.outputs``); ``RunContext.pinned``
gives some steps' outputs instead of running them. ``run(ctx, trace=spans)`` fills ``spans`` as steps
finish, so a failed or stopped run still leaves its spans. Steps (``retrieve``, ``sales_query``,
``answer``, ``template``, ``llm``) are registered with ``register_step``, as outside steps are.
"""

from chatdash.errors import PipelineError
from chatdash.pipeline.context import Rendered, Retrieved, RunContext, SalesResult, StepRun
from chatdash.pipeline.engine import Pipeline, PipelineResult, load_pipeline, pipeline_table
from chatdash.pipeline.events import Delta, Done, Event, Sources
from chatdash.pipeline.registry import (
    Step,
    StepOptions,
    register_step,
    step_types,
    unregister_step,
)
from chatdash.pipeline.turn import chat_turn
from chatdash.tracing import SpanRecord

__all__ = [
    "Delta",
    "Done",
    "Event",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "Rendered",
    "Retrieved",
    "RunContext",
    "SalesResult",
    "Sources",
    "SpanRecord",
    "Step",
    "StepOptions",
    "StepRun",
    "chat_turn",
    "load_pipeline",
    "pipeline_table",
    "register_step",
    "step_types",
    "unregister_step",
]
