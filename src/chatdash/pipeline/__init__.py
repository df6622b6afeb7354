"""The pipeline engine: a chat reply (or a test-bed case) as steps declared in a file.

Typical use::

    from chatdash.pipeline import Delta, Done, RunContext, Sources, load_pipeline

    pipeline = load_pipeline("chat")          # chatdash/pipeline/pipelines/chat.toml
    ctx = RunContext(owner=user_id, message=text, provider=get_provider(), history=earlier,
                     chat_id=chat_id, engine=engine, memory=get_store())
    async for event in pipeline.run(ctx):
        match event:
            case Sources(): ...               # figures + passages, before the first word
            case Delta(text=text): ...        # the reply as it is written
            case Done(completion=c, spans=spans): ...
    result = await pipeline.complete(ctx)     # or all at once

A loaded ``Pipeline`` keeps no per-run state: load it once and run it for every message, also
concurrently. ``run(ctx, trace=spans)`` fills ``spans`` as steps finish, so a failed or stopped run
still leaves its timing records. Steps (``retrieve``, ``sales_query``, ``template``, ``llm``) are
registered with ``register_step``, the same way outside steps are.
"""

from chatdash.errors import PipelineError
from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.engine import Pipeline, PipelineResult, load_pipeline
from chatdash.pipeline.events import Delta, Done, Event, Sources, SpanRecord
from chatdash.pipeline.registry import (
    Step,
    StepOptions,
    register_step,
    step_types,
    unregister_step,
)

__all__ = [
    "Delta",
    "Done",
    "Event",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "RunContext",
    "Sources",
    "SpanRecord",
    "State",
    "Step",
    "StepOptions",
    "load_pipeline",
    "register_step",
    "step_types",
    "unregister_step",
]
