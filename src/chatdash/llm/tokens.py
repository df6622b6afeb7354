"""Counting tokens for a model served elsewhere.

The OpenAI API has no tokenizer endpoint, so for a remote model we count with its GGUF when we have the
file (``CHATDASH_LLM_MODEL_PATH``, or the bundled one when ``CHATDASH_LLM_MODEL`` names it, as in the
split deployment where ``chatdash lm serve`` runs the bundled model on another host), loading only the
vocabulary. Otherwise we estimate on the safe side: one token per three bytes, which over-counts English
and code for BPE tokenizers, so trimming drops a turn too many rather than overflowing the context.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chatdash.config import Settings
from chatdash.llm.context import TokenCounter
from chatdash.llm.types import Message

BUNDLED_MODEL_NAME = str(Settings.model_fields["llm_model"].default)
BYTES_PER_TOKEN = 3
FRAMING_TOKENS = 4  # role markers and separators a chat template adds per message


def estimate(messages: Sequence[Message]) -> int:
    """A safe over-estimate of the prompt's tokens when the model's tokenizer is not available."""
    return sum(math.ceil(len(m.content.encode()) / BYTES_PER_TOKEN) + FRAMING_TOKENS for m in messages) + 3


def gguf_counter(settings: Settings) -> TokenCounter | None:
    """An exact counter from the served model's GGUF, if we have the file; else None."""
    from chatdash.llm import gguf  # llama.cpp is imported only when a GGUF tokenizer is really wanted

    if settings.llm_model_path is not None:
        path = gguf.model_path(settings)
    elif settings.llm_model == BUNDLED_MODEL_NAME:
        path = gguf.bundled_gguf()
    else:
        return None
    template = gguf.ChatTemplate(gguf.load(path, vocab_only=True))
    return lambda messages: len(template.tokens(messages))
