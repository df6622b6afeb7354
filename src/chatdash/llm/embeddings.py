"""Text embeddings: ``wordllama`` in process (the default) or any OpenAI-compatible ``/v1/embeddings``.

Both return L2-normalised float32 rows, so a dot product is the cosine similarity the vector store
ranks by, and both embed in batches. ``wordllama``'s wheel ships its weights and tokenizer; we load them
from the package folder with downloads disabled. (Its loader looks for the tokenizer in a
``tokenizer/`` folder while the wheel has ``tokenizers/``; passing the package folder as the cache
directory makes it look in the right place.) Importing wordllama also calls ``logging.basicConfig``,
which would make every library's INFO logs appear in our CLI output; the import undoes that.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from chatdash.config import Settings, get_settings
from chatdash.errors import ConfigError, ModelError, ModelNotFound, ModelTimeout, ModelUnavailable

Vectors = npt.NDArray[np.float32]

BATCH = 64


class Embedder(Protocol):
    """Turns texts into unit vectors of ``dim`` floats."""

    @property
    def name(self) -> str:
        """Model name, kept with stored vectors' collections in messages."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, L2-normalised."""
        ...


def _normalise(vectors: npt.ArrayLike) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return cast(Vectors, np.divide(array, norms, out=np.zeros_like(array), where=norms > 0))


class WordLlamaEmbedder:
    """wordllama's packaged ``l2_supercat`` model (256 dimensions): tens of thousands of texts per second
    on one core, no network, good enough to recall related messages and document chunks."""

    name = "wordllama-l2_supercat-256"
    dim = 256

    def __init__(self) -> None:
        self._model = _load_wordllama()
        self._lock = threading.Lock()  # its tokenizer is configured per call; keep calls apart

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.embed(list(texts), norm=True, batch_size=BATCH)
        return _normalise(vectors)


@lru_cache(maxsize=1)
def _load_wordllama() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: nothing may reach a model hub
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        from wordllama import WordLlama  # type: ignore[import-untyped]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    spec = importlib.util.find_spec("wordllama")
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    if folder is None:
        raise ModelNotFound(
            "wordllama is not installed; run `make install` or set CHATDASH_EMBEDDINGS=openai"
        )
    try:
        return WordLlama.load(config="l2_supercat", dim=256, cache_dir=folder, disable_download=True)
    except (FileNotFoundError, OSError) as exc:
        raise ModelNotFound(
            f"wordllama's packaged weights are missing under {folder} ({exc}); reinstall wordllama"
        ) from exc


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible server, ``BATCH`` texts per request.

    Uses the official client's bounded retries with backoff, like ``openai_compat``. The dimension is
    learnt from the server's first answer.
    """

    def __init__(
        self, *, base_url: str, model: str, api_key: str | None, timeout: float, max_retries: int
    ) -> None:
        import openai

        self.name = model
        self.base_url = base_url
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=openai.Timeout(timeout, connect=min(timeout, 5.0)),
            max_retries=max_retries,
        )
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        import openai

        rows: list[list[float]] = []
        try:
            for start in range(0, len(texts), BATCH):
                batch = list(texts[start : start + BATCH])
                response = self._client.embeddings.create(model=self.name, input=batch)
                rows.extend(item.embedding for item in sorted(response.data, key=lambda item: item.index))
        except openai.APITimeoutError as exc:
            raise ModelTimeout(
                f"the embeddings server at {self.base_url} timed out (CHATDASH_LLM_TIMEOUT)"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelUnavailable(
                f"cannot reach the embeddings server at {self.base_url}; check CHATDASH_EMBEDDINGS_BASE_URL "
                "(or CHATDASH_LLM_BASE_URL)"
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelError(
                f"the embeddings server at {self.base_url} refused ({exc.status_code}: {exc.message}); check "
                "CHATDASH_EMBEDDINGS_MODEL and that the server serves embeddings"
            ) from exc
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        vectors = _normalise(rows)
        self._dim = int(vectors.shape[1])
        return vectors


def create_embedder(settings: Settings | None = None) -> Embedder:
    """The embedder the settings choose (``CHATDASH_EMBEDDINGS``)."""
    settings = settings or get_settings()
    if settings.embeddings == "wordllama":
        return WordLlamaEmbedder()
    base_url = settings.embeddings_base_url or settings.llm_base_url
    if not base_url:
        raise ConfigError(
            "CHATDASH_EMBEDDINGS=openai needs a server: set CHATDASH_EMBEDDINGS_BASE_URL "
            "(or CHATDASH_LLM_BASE_URL)"
        )
    return OpenAIEmbedder(
        base_url=base_url,
        model=settings.embeddings_model or settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


_shared: dict[tuple[str, str | None, str | None], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The process-wide embedder for these settings, created on first use."""
    settings = settings or get_settings()
    key = (
        settings.embeddings,
        settings.embeddings_base_url or settings.llm_base_url,
        settings.embeddings_model,
    )
    with _shared_lock:
        if key not in _shared:
            _shared[key] = create_embedder(settings)
        return _shared[key]
