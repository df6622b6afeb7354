"""The inputs of one pipeline run (``RunContext``) and what one step gets when it runs (``StepRun``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from chatdash.config import Settings, get_settings
from chatdash.llm import Message, Provider
from chatdash.memory import Passage, Recalled, VectorStore
from chatdash.sales import QuerySpec, SalesAnswer


@dataclass(frozen=True)
class RunContext:
    """Everything a run needs, given by the caller (for a chat turn: ``chatdash.pipeline.chat_turn``).

    ``owner`` scopes every memory and document read: steps never see another user's points.
    ``history`` holds the chat's earlier turns, oldest first, without ``message`` (the new user
    message); the provider trims it to the context window. ``engine`` None skips sales questions,
    ``memory`` None skips retrieval. ``llm_options`` deliberately override the pipeline file's
    generation options for this run (a test-bed variant, a fixed seed); unknown names are refused.
    ``max_tokens`` caps every ``llm`` step of the run after that: it lowers the file's value, never
    raises it (the chat passes ``CHATDASH_CHAT_MAX_TOKENS`` here, not as an override).

    ``inputs`` are the values a pipeline declares in its top-level ``inputs`` (a test-bed scenario's
    fields), read by steps as ``input.NAME``; ``pinned`` gives steps' outputs by step name: those steps
    do not run and their value is used, so a run can measure one step's variance alone. ``providers``
    serve ``llm`` steps that name another ``model`` than ``provider``'s.
    """

    owner: str
    message: str
    provider: Provider
    history: Sequence[Message] = ()
    chat_id: str | None = None
    engine: Engine | None = None
    memory: VectorStore | None = None
    settings: Settings = field(default_factory=get_settings)
    llm_options: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    pinned: Mapping[str, Any] = field(default_factory=dict)
    providers: Mapping[str, Provider] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The ``retrieve`` step's output: the user's recalled earlier messages and knowledge passages."""

    memories: list[Recalled] = field(default_factory=list)
    documents: list[Passage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "memories": [{"chat_id": m.chat_id, "text": m.text, "score": m.score} for m in self.memories],
            "documents": [{"source": d.source, "line": d.start_line, "text": d.text} for d in self.documents],
        }


@dataclass(frozen=True, slots=True)
class SalesResult:
    """The ``sales_query`` step's output: the exact answer, or why the question cannot be answered as
    asked (``declined``: the reply says this instead of the model guessing)."""

    spec: QuerySpec | None = None
    sales: SalesAnswer | None = None
    declined: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.model_dump(mode="json") if self.spec else None,
            "answer": self.sales.sentence() if self.sales else None,
            "declined": self.declined,
        }


@dataclass
class StepRun:
    """One step's run: its ``inputs`` (by the names the step reads them under, each the output of an
    earlier step or a run input; None when nothing feeds it), the attributes it records for its
    ``span``, and its ``output``, kept under the step's name for later steps. ``skip`` says there was
    nothing to do (no vector store, not a sales question): the span reads ``skipped``."""

    inputs: dict[str, Any]
    span: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    skipped: str | None = None

    def skip(self, reason: str) -> None:
        self.skipped = reason
        self.span["reason"] = reason


@dataclass(frozen=True, slots=True)
class Rendered:
    """A prompt ready for the model (the ``template`` step's output): its messages, and the registry
    prompt it came from (name, version and the version's model ``params``, which the ``llm`` step that
    sends it applies), or none for a file's own template."""

    messages: list[Message]
    prompt: str | None = None
    version: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt": f"{self.prompt}@{self.version}" if self.prompt else None,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
        }
