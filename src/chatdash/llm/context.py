"""Fitting a chat into the model's context window.

A long chat must never overflow the context (llama.cpp refuses the request; servers cut it somewhere we
did not choose), so every provider trims before it generates: the system messages at the start stay,
the newest turns stay, and the oldest turns in between go. Counting uses the provider's own tokenizer on
the fully formatted prompt, so the chat template's markers are counted too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chatdash.errors import PromptTooLong
from chatdash.llm.types import Message

TokenCounter = Callable[[Sequence[Message]], int]


def fit_to_context(
    messages: Sequence[Message], count: TokenCounter, context_window: int, max_tokens: int
) -> tuple[list[Message], int]:
    """The messages to send and how many old ones were dropped, leaving ``max_tokens`` for the reply.

    Leading system messages and the last message are always kept; if they alone do not fit, the
    request cannot be served honestly and ``PromptTooLong`` says what to change. The cut lands on a
    turn boundary: the first kept message after the system prompt is a user message when possible.
    Token counts are monotonic in the number of kept turns, so a binary search needs only
    O(log n) tokenizations of the formatted prompt.
    """
    budget = context_window - max_tokens
    if budget <= 0:
        raise PromptTooLong(
            f"max_tokens={max_tokens} leaves no room for the prompt in a context window of "
            f"{context_window} tokens; lower max_tokens or raise CHATDASH_LLM_CONTEXT"
        )
    kept = list(messages)
    if not kept or count(kept) <= budget:
        return kept, 0

    system_count = next((i for i, m in enumerate(kept) if m.role != "system"), len(kept))
    head, body = kept[:system_count], kept[system_count:]
    if not body or count([*head, body[-1]]) > budget:
        needed = count([*head, *body[-1:]])
        raise PromptTooLong(
            f"the system prompt and the newest message need {needed} tokens, but a context window of "
            f"{context_window} tokens minus max_tokens={max_tokens} leaves {budget}; shorten them, "
            "lower max_tokens or raise CHATDASH_LLM_CONTEXT"
        )

    low, high = 1, len(body) - 1  # keeping all of body does not fit; keeping only its last message does
    while low < high:
        middle = (low + high) // 2
        if count([*head, *body[middle:]]) <= budget:
            high = middle
        else:
            low = middle + 1
    cut = low
    while cut < len(body) - 1 and body[cut].role != "user":
        cut += 1
    return [*head, *body[cut:]], cut
