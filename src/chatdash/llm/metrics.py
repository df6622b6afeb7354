"""The model's token counter, a Prometheus metric of the process (exposed by the chat app's ``/metrics``).

Counted once per finished completion, where the usage record arrives (``Stream``), whatever asked for
it: a chat reply, the OpenAI-compatible API, a pipeline step's structured call, the test bed. A reply
stopped before its end brings no usage record and is not counted.
"""

from __future__ import annotations

from prometheus_client import Counter

MODEL_TOKENS = Counter(
    "chatdash_model_tokens",
    "Tokens the language model read (kind=prompt) and wrote (kind=completion), by provider and model",
    ["provider", "model", "kind"],
)


def count_tokens(provider: str, model: str, prompt: int, completion: int) -> None:
    MODEL_TOKENS.labels(provider, model, "prompt").inc(max(prompt, 0))
    MODEL_TOKENS.labels(provider, model, "completion").inc(max(completion, 0))
