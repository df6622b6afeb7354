"""``answer``: the reply's first words, written from the database, not by the model.

For a sales question this step streams the answer's sentence (its exact figures), then what the reader
corrected or carried over; for a declined one, why and what the data has. The ``llm`` step after it
may add commentary, which is shown only when every number in it is a figure of the answer (its
``check_figures`` option). Any other message: nothing is written here and the model answers alone.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import ClassVar

from chatdash.pipeline.context import RunContext, SalesResult, StepRun
from chatdash.pipeline.registry import Step, StepOptions


class AnswerStep(Step):
    id = "answer"
    Options = StepOptions
    streams = True
    reads: ClassVar[Mapping[str, str]] = {"sales": "sales_query"}

    async def stream(self, ctx: RunContext, run: StepRun) -> AsyncGenerator[str, None]:
        sales = run.inputs.get("sales")
        if not isinstance(sales, SalesResult):
            run.span["written"] = False
            run.skip("not a sales question")
            return
        if sales.declined is not None:
            run.span["declined"] = True
            yield sales.declined
            return
        assert sales.sales is not None
        run.span["written"] = True
        yield sales.sales.sentence()
        if sales.sales.notes:
            yield "\n\n_(" + "; ".join(sales.sales.notes) + ")_"
