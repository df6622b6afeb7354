"""What a pipeline run yields, in order: ``Sources`` once, ``Delta`` per piece of text, ``Done`` last.

``Sources`` comes before the first word of the reply, so a client can show the figures and passages
the reply rests on while the model is still writing, and whatever the model writes, the exact
figures are shown with it. The values are plain frozen records so the web layer can serialise them
(``as_dict``) and the test bed can keep and compare them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chatdash.llm import Completion, Usage
from chatdash.memory import Passage, Recalled
from chatdash.sales import SalesAnswer
from chatdash.tracing import SpanRecord


@dataclass(frozen=True, slots=True)
class Sources:
    """What the reply is grounded in: exact sales figures (None when the message is not a sales
    question), the user's recalled earlier messages and knowledge-base passages."""

    sales: SalesAnswer | None = None
    memories: list[Recalled] = field(default_factory=list)
    documents: list[Passage] = field(default_factory=list)
    kind: Literal["sources"] = "sources"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sales": self.sales.as_dict() if self.sales else None,
            "memories": [
                {"chat_id": m.chat_id, "message_id": m.message_id, "text": m.text, "score": m.score}
                for m in self.memories
            ],
            "documents": [
                {"source": d.source, "start_line": d.start_line, "heading": d.heading, "text": d.text}
                for d in self.documents
            ],
        }


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of the reply's text, as the step named ``step`` produced it."""

    text: str
    step: str = ""
    kind: Literal["delta"] = "delta"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step, "text": self.text}


@dataclass(frozen=True, slots=True)
class Done:
    """The run finished: the last ``llm`` step's completion (None for a pipeline without one) and its
    usage, every step's output by step name, and one span record per step."""

    completion: Completion | None
    spans: list[SpanRecord]
    outputs: dict[str, Any] = field(default_factory=dict)
    kind: Literal["done"] = "done"

    @property
    def usage(self) -> Usage | None:
        return self.completion.usage if self.completion else None

    @property
    def text(self) -> str:
        return self.completion.text if self.completion else ""

    def as_dict(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "kind": self.kind,
            "text": self.text,
            "finish_reason": self.completion.finish_reason if self.completion else None,
            "dropped_messages": self.completion.dropped_messages if self.completion else 0,
            "usage": None
            if usage is None
            else {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "first_token_s": usage.first_token_s,
                "total_s": usage.total_s,
                "queue_s": usage.queue_s,
            },
            "spans": [span.as_dict() for span in self.spans],
        }


Event = Sources | Delta | Done
