"""``retrieve``: the user's relevant earlier messages and knowledge-base passages.

As in the published production API, the 10 most similar earlier messages of the same user give a
small model context beyond its window. Messages that are already in the history sent to the model
(or are the new message itself, when the caller stored it first) are left out: repeating them only
costs tokens. The vector store is synchronous, so the work runs in a thread.
"""

from __future__ import annotations

from typing import Literal

import anyio.to_thread
from pydantic import Field

from chatdash.memory import ChatMemory, DocumentStore, Passage, Recalled
from chatdash.pipeline.context import Retrieved, RunContext, StepRun
from chatdash.pipeline.registry import Step, StepOptions


class RetrieveOptions(StepOptions):
    on_error: Literal["fail", "skip"] = "skip"
    memories: int = Field(10, ge=0, le=100)
    """Earlier messages to recall (0: none)."""
    documents: int = Field(3, ge=0, le=50)
    """Knowledge-base passages to find (0: none)."""
    min_score: float | None = Field(None, ge=-1.0, le=1.0)
    """Similarity floor; unset: CHATDASH_MEMORY_MIN_SCORE."""
    same_chat: bool = False
    """Recall only from the current chat (default: every chat of the user)."""


class RetrieveStep(Step):
    id = "retrieve"
    Options = RetrieveOptions

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        if ctx.memory is None:
            run.skip("no vector store")
            return
        memories, documents = await anyio.to_thread.run_sync(self._search, ctx)
        run.output = Retrieved(memories, documents)
        run.span.update(memories=len(memories), documents=len(documents))

    def _search(self, ctx: RunContext) -> tuple[list[Recalled], list[Passage]]:
        assert ctx.memory is not None and isinstance(self.options, RetrieveOptions)
        opts = self.options
        floor = ctx.settings.memory_min_score if opts.min_score is None else opts.min_score
        memories: list[Recalled] = []
        if opts.memories:
            known = {m.content for m in ctx.history if ctx.chat_id is not None} | {ctx.message}
            # Ask for more than needed: the ones already in the prompt are dropped below.
            recalled = ChatMemory(ctx.memory, min_score=floor).recall(
                ctx.owner,
                ctx.message,
                k=opts.memories + min(len(known), 20),
                chat_id=ctx.chat_id if opts.same_chat else None,
            )
            fresh = [
                m
                for m in recalled
                if not (m.text in known and (m.chat_id == ctx.chat_id or m.text == ctx.message))
            ]
            memories = fresh[: opts.memories]
        documents: list[Passage] = []
        if opts.documents:
            documents = DocumentStore(ctx.memory, min_score=floor).search(
                ctx.owner, ctx.message, k=opts.documents
            )
        return memories, documents
