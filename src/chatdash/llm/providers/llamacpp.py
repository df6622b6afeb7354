"""``llamacpp``: the embedded model, run in this process by llama-cpp-python.

The model is loaded once per process (per file, context size and thread count) and shared by every
provider instance; one worker thread owns it and serves requests in turn from a bounded queue (see
``chatdash.llm.worker``). Prompts are built with the GGUF's own chat template and tokenizer, and
structured output is constrained by llama.cpp's JSON-schema grammar. Sampling defaults match
``llama_cpp.server`` so the embedded model and ``chatdash lm serve`` on the same file answer alike.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from llama_cpp import CreateCompletionStreamResponse, Llama
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from chatdash.config import Settings, get_settings
from chatdash.errors import ChatdashError, ModelError, ModelTimeout
from chatdash.llm import gguf
from chatdash.llm.provider import Chunks, Provider
from chatdash.llm.types import Capabilities, Final, Message, Options, ProviderStats
from chatdash.llm.worker import Job, ModelWorker, run_job

SAMPLING: dict[str, Any] = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.1}
"""llama_cpp.server's request defaults, used for every embedded request."""

PRIOR_TOKENS_PER_S = (40.0, 20.0)
"""Prompt and generated tokens per second assumed for a request before the worker has measured one:
about half of what the bundled SmolLM2-135M does on one thread of a 2-core machine (measured: ~80
prompt tokens/s without a cached prefix, ~37 generated tokens/s). A bigger GGUF is slower at first;
from its first whole request on, the measured time counts instead."""


def expected_seconds(prompt_tokens: int, max_tokens: int) -> float:
    """A conservative duration for a request that has not run yet: its whole prompt and ``max_tokens``."""
    prompt_rate, generate_rate = PRIOR_TOKENS_PER_S
    return prompt_tokens / prompt_rate + max_tokens / generate_rate


@dataclass(frozen=True)
class _Key:
    path: Path
    context: int
    threads: int


@dataclass
class Engine:
    """The process's one copy of a model: weights and context, chat template, and the worker owning them."""

    llama: Llama
    template: gguf.ChatTemplate
    worker: ModelWorker


_engines: dict[_Key, Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(path: Path, *, context: int, threads: int, queue_size: int) -> Engine:
    """The engine for this model file and shape, loading it on first use (the queue size is the
    first caller's)."""
    key = _Key(path.resolve(), context, threads)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            llama = gguf.load(key.path, context=context, threads=threads)
            engine = Engine(llama, gguf.ChatTemplate(llama), ModelWorker(key.path.stem, queue_size))
            _engines[key] = engine
        return engine


@atexit.register
def _shutdown() -> None:
    """Stop the worker threads before the interpreter frees llama.cpp under their feet."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.worker.close(timeout=5)
        engine.llama.close()


@functools.lru_cache(maxsize=64)
def _grammar_text(schema_json: str) -> str:
    """GBNF for a JSON schema; converting is pure Python and not free, and schemas repeat."""
    return str(json_schema_to_gbnf(schema_json))


class LlamaCppProvider(Provider):
    """The GGUF model in process; see the module docstring for how requests share it."""

    id = "llamacpp"
    capabilities = Capabilities(streaming=True, structured=True, exact_token_count=True)

    def __init__(
        self,
        *,
        model_path: Path,
        model: str,
        context_window: int = 2048,
        threads: int = 1,
        queue_size: int = 16,
        timeout: float = 120.0,
    ) -> None:
        super().__init__(model=model, context_window=context_window)
        self.timeout = timeout
        self.engine = shared_engine(
            model_path, context=context_window, threads=threads, queue_size=queue_size
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> LlamaCppProvider:
        settings = settings or get_settings()
        arguments: dict[str, Any] = {
            "model_path": gguf.model_path(settings),
            "model": settings.llm_model,
            "context_window": settings.llm_context,
            "threads": gguf.thread_count(settings),
            "queue_size": settings.llm_queue_size,
            "timeout": settings.llm_timeout,
        }
        return cls(**{**arguments, **overrides})

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.engine.template.tokens(messages))

    def stats(self) -> ProviderStats:
        return self.engine.worker.stats()

    async def _generate(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> Chunks:
        prompt = self.engine.template.tokens(messages)
        grammar = _grammar_text(json.dumps(schema, sort_keys=True)) if schema is not None else None
        items = run_job(
            self.engine.worker,
            functools.partial(self._run, prompt, options, grammar),
            timeout=self.timeout,
            expected_s=expected_seconds(len(prompt), options.max_tokens),
        )
        async with contextlib.aclosing(items):
            while True:
                try:
                    item = await anext(items)
                except TimeoutError:
                    raise ModelTimeout(self._timeout_message()) from None
                except ChatdashError:
                    raise
                except Exception as exc:
                    raise ModelError(f"llama.cpp failed on {self.model}: {exc}") from exc
                yield cast(str | Final, item)
                if isinstance(item, Final):
                    return

    def _timeout_message(self) -> str:
        stats = self.stats()
        return (
            f"{self.model} produced no token for {self.timeout:.0f} s (CHATDASH_LLM_TIMEOUT); "
            f"{stats.queued} requests were waiting, one takes about {stats.mean_service_s:.1f} s. "
            "Lower max_tokens, raise the timeout, or serve the model from more replicas"
        )

    def _run(self, prompt: list[int], options: Options, grammar: str | None, job: Job) -> None:
        """Generate on the worker thread, emitting deltas and then the ``Final`` record."""
        llama = self.engine.llama
        chunks = cast(
            Iterator[CreateCompletionStreamResponse],
            llama.create_completion(
                prompt=prompt,
                stream=True,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                seed=options.seed,
                stop=[*self.engine.template.stop, *options.stop],
                grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar else None,
                **SAMPLING,
            ),
        )
        finish = "stop"
        try:
            for chunk in chunks:
                if job.cancelled:
                    return
                choice = chunk["choices"][0]
                if choice["text"]:
                    job.emit(choice["text"])
                finish = choice["finish_reason"] or finish
        finally:
            getattr(chunks, "close", lambda: None)()  # stops llama.cpp at once when the caller left
        # Every sampled token but the last has been evaluated into the context after the prompt.
        sampled = llama.n_tokens - len(prompt) + 1
        job.complete(Final(len(prompt), sampled, "length" if finish == "length" else "stop", job.wait_s))
