"""The values that cross the provider boundary: messages in; options; text, usage and stats out.

They are plain frozen values so that traces, the test bed and the web layer can keep and compare them
without caring which provider produced them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn. Providers format a list of these with the model's own chat template."""

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        return cls("assistant", content)


class Options(BaseModel):
    """Generation options shared by every provider.

    Unknown fields are refused rather than ignored, so a misspelt option (``max_token=``) fails loudly
    instead of silently generating with the default. Sampling defaults match ``llama_cpp.server``'s, so
    the embedded model and the same GGUF behind ``chatdash lm serve`` answer alike.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.2, ge=0.0, le=2.0)
    """0 is greedy decoding: the same prompt on the same model state gives the same text."""
    max_tokens: int = Field(256, ge=1)
    """Tokens to generate at most; also reserved out of the context window when the history is trimmed."""
    stop: tuple[str, ...] = ()
    """Extra stop strings (the chat template's end-of-turn marker always stops)."""
    seed: int | None = None
    """Sampling seed; fixed with a temperature above 0 for repeatable runs."""


FinishReason = Literal["stop", "length"]


@dataclass(frozen=True, slots=True)
class Usage:
    """What one request cost.

    ``completion_tokens`` counts the tokens the model generated, including its end-of-turn token when it
    stopped by itself (that token costs a decoding step like any other). Times are seconds from the
    moment the request was made, so ``first_token_s`` includes any wait in the embedded model's queue,
    which ``queue_s`` reports on its own.
    """

    prompt_tokens: int
    completion_tokens: int
    first_token_s: float | None
    total_s: float
    queue_s: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Decoding speed: generated tokens over the time after the first one arrived."""
        decoding = self.total_s - (self.first_token_s or 0.0)
        return (self.completion_tokens - 1) / decoding if decoding > 0 and self.completion_tokens > 1 else 0.0


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished reply. ``dropped_messages`` says how many old turns were left out to fit the context."""

    text: str
    usage: Usage
    finish_reason: FinishReason
    provider: str
    model: str
    dropped_messages: int = 0


@dataclass(frozen=True, slots=True)
class Final:
    """The last item a provider's generator yields after its text deltas (internal to providers)."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    queue_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, so callers can choose a path without trying and failing.

    ``exact_token_count`` is False when tokens are estimated (a remote model whose tokenizer we lack);
    trimming then keeps a safety margin.
    """

    streaming: bool = True
    structured: bool = True
    exact_token_count: bool = True


@dataclass(frozen=True, slots=True)
class ProviderStats:
    """Load on a provider: how many requests wait, how long they waited, how long one takes.

    ``mean_service_s`` is a moving average over whole requests (0 until one has finished);
    ``retry_after_s`` is the estimate a busy error would carry right now (for ``Retry-After``).
    """

    queued: int = 0
    running: int = 0
    served: int = 0
    rejected: int = 0
    last_wait_s: float = 0.0
    mean_wait_s: float = 0.0
    mean_service_s: float = 0.0
    retry_after_s: float = 0.0
