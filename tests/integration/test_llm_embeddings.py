"""Embeddings: the packaged wordllama model, and the OpenAI-compatible client against a real HTTP
server (an in-process /v1/embeddings that answers with wordllama vectors, out of order and unscaled)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from chatdash.config import Settings
from chatdash.errors import ConfigError, ModelUnavailable
from chatdash.llm.embeddings import OpenAIEmbedder, WordLlamaEmbedder, create_embedder
from chatdash.llm.server import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbedder:
    embedder = create_embedder(Settings(embeddings="wordllama"))
    assert isinstance(embedder, WordLlamaEmbedder)
    return embedder


def test_wordllama_gives_unit_vectors_that_rank_by_meaning(wordllama: WordLlamaEmbedder) -> None:
    vectors = wordllama.embed(["I bought an office chair", "a desk chair for work", "the weather is rainy"])
    assert vectors.shape == (3, wordllama.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert wordllama.embed([]).shape == (0, wordllama.dim)


@pytest.fixture(scope="module")
def embeddings_server(wordllama: WordLlamaEmbedder) -> Iterator[tuple[str, list[int]]]:
    app = FastAPI()
    batches: list[int] = []

    @app.post("/v1/embeddings")
    def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"]
        batches.append(len(texts))
        vectors = wordllama.embed(texts) * 3.0  # not normalised, like many servers
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        return {"object": "list", "data": data[::-1], "model": body["model"], "usage": {}}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", batches
    server.should_exit = True
    thread.join(10)


def test_openai_embeddings_are_batched_ordered_and_normalised(
    embeddings_server: tuple[str, list[int]], wordllama: WordLlamaEmbedder
) -> None:
    url, batches = embeddings_server
    embedder = create_embedder(Settings(embeddings="openai", embeddings_base_url=url, embeddings_model="e"))
    assert isinstance(embedder, OpenAIEmbedder)
    texts = [f"order {i} of chairs and desks" for i in range(150)]
    batches.clear()
    vectors = embedder.embed(texts)
    assert batches == [64, 64, 22]
    assert embedder.dim == wordllama.dim
    assert np.allclose(vectors, wordllama.embed(texts), atol=1e-5)


def test_openai_embeddings_need_a_server_and_say_so() -> None:
    with pytest.raises(ConfigError, match="CHATDASH_EMBEDDINGS_BASE_URL"):
        create_embedder(Settings(embeddings="openai", llm_base_url=None, embeddings_base_url=None))
    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    embedder = create_embedder(
        Settings(embeddings="openai", embeddings_base_url=unreachable, llm_max_retries=0)
    )
    with pytest.raises(ModelUnavailable, match="CHATDASH_EMBEDDINGS_BASE_URL"):
        embedder.embed(["x"])
