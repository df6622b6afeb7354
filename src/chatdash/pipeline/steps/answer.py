"""``answer``: the reply's first words, written from the database, not by the model.

For a sales question this step streams the answer's sentence (its exact figures), then what the reader
corrected or carried over; for a declined one, why and what the data has. The ``llm`` step after it
may add commentary, which is shown only when every number in it is a figure of the answer (its
``check_figures`` option). Any other message: nothing is written here and the model answers alone.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from chatdash.pipeline.context import RunContext, State
from chatdash.pipeline.registry import Step, StepOptions


class AnswerStep(Step):
    id = "answer"
    Options = StepOptions
    streams = True

    async def stream(self, ctx: RunContext, state: State, span: dict[str, Any]) -> AsyncGenerator[str, None]:
        if state.declined is not None:
            span["declined"] = True
            yield state.declined
            return
        if state.sales is None:
            span["written"] = False
            return
        span["written"] = True
        yield state.sales.sentence()
        if state.sales.notes:
            yield "\n\n_(" + "; ".join(state.sales.notes) + ")_"
