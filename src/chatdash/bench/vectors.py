"""Embedding throughput and chat-memory search latency, for `chatdash bench llm`.

Search is timed end to end as the chat uses it (``ChatMemory.recall``: embed the question, top 10 of one
user's points) on a store of N points spread over 100 users, in local mode or on the configured Qdrant
server (temporary collections). The baseline is the same search done by hand: numpy over the same
vectors, masked to the user, top 10 by dot product. Writing to a local folder is timed apart.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient

from chatdash.config import Settings
from chatdash.llm import Embedder, get_embedder
from chatdash.memory import ChatMemory, Remembered, VectorStore

USERS = 100
BATCH = 2000
PRODUCTS = ["laptop", "desk", "chair", "monitor", "printer", "paper", "pen", "notebook", "coffee maker"]
TOPICS = ["sales", "returns", "delivery", "invoice", "discount", "warranty", "stock", "complaint"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def texts(count: int, seed: int = 7) -> list[str]:
    """Varied, chat-like sentences about the sales domain."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(['Can you check', 'Tell me about', 'I need', 'What about'])} the {rng.choice(TOPICS)} "
        f"for {rng.randint(1, 40)} {rng.choice(PRODUCTS)}s in {rng.choice(MONTHS)} {rng.randint(2010, 2023)}"
        for _ in range(count)
    ]


def embedding_throughput(embedder: Embedder, count: int = 10_000, repeat: int = 3) -> dict[str, Any]:
    sample = texts(count)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        embedder.embed(sample)
        runs.append(time.perf_counter() - started)
    return {"embedder": embedder.name, "texts": count, "texts_per_s": round(count / statistics.median(runs))}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (
        round(ordered[len(ordered) // 2] * 1000, 3),
        round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 3),
    )


def _open(settings: Settings, embedder: Embedder, prefix: str) -> VectorStore:
    """The configured server, or local mode held in memory: the same engine and search code as the
    local folder, without its one SQLite commit per point (100k points would take many minutes)."""
    if settings.qdrant_url:
        return VectorStore.open(settings, embedder=embedder, prefix=prefix)
    return VectorStore(
        QdrantClient(location=":memory:"), embedder, local=True, where=":memory:", prefix=prefix
    )


def local_write_ms(embedder: Embedder, count: int = 100) -> float:
    """Milliseconds per stored message in a local folder, as `chatdash serve` writes them (one by one)."""
    with tempfile.TemporaryDirectory(prefix="chatdash-bench-") as folder:
        store = VectorStore.open(Settings(var_dir=Path(folder), qdrant_url=None), embedder=embedder)
        memory = ChatMemory(store)
        started = time.perf_counter()
        for i, text in enumerate(texts(count)):
            memory.remember("user0", [Remembered("bench", str(i), "user", text)])
        elapsed = time.perf_counter() - started
        store.close()
    return round(elapsed / count * 1000, 2)


def search_latency(settings: Settings, embedder: Embedder, points: int, queries: int) -> dict[str, Any]:
    corpus = texts(points)
    owner_of = np.arange(points) * USERS // points  # each user's points are contiguous: one batch, one owner
    prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    store = _open(settings, embedder, prefix)
    try:
        memory = ChatMemory(store, min_score=-1.0)
        started = time.perf_counter()
        for user in range(USERS):
            mine = np.flatnonzero(owner_of == user)
            for start in range(0, len(mine), BATCH):
                chunk = mine[start : start + BATCH]
                memory.remember(
                    f"user{user}", [Remembered("bench", str(i), "user", corpus[i]) for i in chunk]
                )
        load_s = time.perf_counter() - started
        asks = texts(queries, seed=11)
        ours = []
        for i, ask in enumerate(asks):
            began = time.perf_counter()
            memory.recall(f"user{i % USERS}", ask, k=10)
            ours.append(time.perf_counter() - began)
    finally:
        if not store.local:
            for collection in store.client.get_collections().collections:
                if collection.name.startswith(prefix):
                    store.client.delete_collection(collection.name)
        store.close()
    matrix = embedder.embed(corpus)
    baseline = []
    for i, ask in enumerate(asks):
        began = time.perf_counter()
        rows = np.flatnonzero(owner_of == i % USERS)
        scores = matrix[rows] @ embedder.embed([ask])[0]
        top = rows[np.argsort(-scores)[:10]]
        baseline.append(time.perf_counter() - began)
        assert len(top) == min(10, len(rows))
    p50, p95 = _percentiles(ours)
    base50, base95 = _percentiles(baseline)
    return {
        "points": points,
        "users": USERS,
        "mode": "server" if settings.qdrant_url else "local",
        "load_s": round(load_s, 1),
        "p50_ms": p50,
        "p95_ms": p95,
        "baseline_p50_ms": base50,
        "baseline_p95_ms": base95,
    }


def run(settings: Settings, *, points: list[int], queries: int) -> dict[str, Any]:
    embedder = get_embedder(settings)
    return {
        "embeddings": embedding_throughput(embedder),
        "search": [search_latency(settings, embedder, n, queries) for n in points],
        "local_write_ms_per_message": local_write_ms(embedder),
    }
