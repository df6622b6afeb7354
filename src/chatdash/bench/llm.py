"""`chatdash bench llm`: the embedded provider against ``llama_cpp.server`` alone, same model, same run.

Both sides run the same GGUF with the same context size, threads and sampling, and get the same prompts
at temperature 0: ours through ``LlamaCppProvider.stream`` in this process (queue, worker thread, chat
template, trimming, usage), the baseline as raw streaming HTTP requests to ``chatdash lm serve`` (which
is ``llama_cpp.server`` configured, nothing of ours on the request path). At each concurrency level the
requests start together; levels alternate between the two sides, so a change in the machine's load
hits both. The target: our layer adds under 5 % to the time per request (``speedup`` >= 0.95).

Embedding throughput and vector search latency come from ``chatdash.bench.vectors``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from chatdash.bench import vectors
from chatdash.bench.timing import machine
from chatdash.config import Settings
from chatdash.llm import Message, running_server, thread_count
from chatdash.llm.providers.llamacpp import SAMPLING, LlamaCppProvider

PROMPTS = [
    "Write a long story about a dragon who sells office chairs.",
    "Describe, in detail, a day in the life of a warehouse manager.",
    "Explain at length how a laptop is assembled in a factory.",
    "Tell a long tale about a printer that learned to write poems.",
]
SEED = 42


@dataclass(frozen=True, slots=True)
class Sample:
    """One request as its caller saw it."""

    first_token_s: float
    total_s: float
    tokens: int


async def _ours(provider: LlamaCppProvider, prompt: str, max_tokens: int) -> Sample:
    started = time.perf_counter()
    first = None
    async with provider.stream([Message.user(prompt)], temperature=0, max_tokens=max_tokens, seed=SEED) as s:
        async for _ in s:
            first = first or time.perf_counter() - started
    return Sample(first or 0.0, time.perf_counter() - started, s.completion.usage.completion_tokens)


async def _baseline(client: httpx.AsyncClient, url: str, prompt: str, max_tokens: int) -> Sample:
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": SEED,
        "stream": True,
        **SAMPLING,
    }
    started = time.perf_counter()
    first, tokens = None, 0
    async with client.stream("POST", f"{url}/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
            if delta:
                first = first or time.perf_counter() - started
                tokens += 1
    return Sample(first or 0.0, time.perf_counter() - started, tokens)


def _summary(samples: list[Sample], wall_s: float) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(s.total_s for s in samples) * 1000, 1),
        "ttft_median_ms": round(statistics.median(s.first_token_s for s in samples) * 1000, 1),
        "ttft_max_ms": round(max(s.first_token_s for s in samples) * 1000, 1),
        "tokens": sum(s.tokens for s in samples),
        "tokens_per_s": round(sum(s.tokens for s in samples) / wall_s, 1),
    }


async def _level(run_one: Any, concurrency: int, rounds: int) -> dict[str, Any]:
    """``rounds`` waves of ``concurrency`` simultaneous requests (sequential ones at concurrency 1)."""
    samples: list[Sample] = []
    started = time.perf_counter()
    for wave in range(rounds):
        prompts = [PROMPTS[(wave + i) % len(PROMPTS)] for i in range(concurrency)]
        samples += await asyncio.gather(*(run_one(p) for p in prompts))
    return _summary(samples, time.perf_counter() - started)


async def _compare(
    provider: LlamaCppProvider, url: str, levels: list[int], rounds: int, max_tokens: int
) -> list[dict[str, Any]]:
    results = []
    async with httpx.AsyncClient(timeout=600) as client:
        await _baseline(client, url, PROMPTS[0], 4)  # warm both sides up
        await _ours(provider, PROMPTS[0], 4)
        for concurrency in levels:
            waves = rounds * (3 if concurrency == 1 else 1)  # a median of one request is no median
            base = await _level(lambda p: _baseline(client, url, p, max_tokens), concurrency, waves)
            ours = await _level(lambda p: _ours(provider, p, max_tokens), concurrency, waves)
            results.append(
                {
                    "concurrency": concurrency,
                    **ours,
                    "baseline": base,
                    "overhead_pct": round((ours["median_ms"] / base["median_ms"] - 1) * 100, 1),
                }
            )
    return results


def run(
    settings: Settings,
    *,
    max_tokens: int,
    concurrency: list[int],
    rounds: int,
    points: list[int],
    queries: int,
) -> dict[str, Any]:
    threads = thread_count(settings)
    provider = LlamaCppProvider.from_settings(
        settings, queue_size=max([*concurrency, settings.llm_queue_size])
    )
    env = {
        "CHATDASH_LLM_CONTEXT": str(settings.llm_context),
        "CHATDASH_LLM_THREADS": str(threads),
        "CHATDASH_LLM_MODEL_PATH": str(settings.llm_model_path or ""),
        "CHATDASH_LLM_API_KEY": "",
    }
    with running_server(env) as url:
        levels = asyncio.run(_compare(provider, url, concurrency, rounds, max_tokens))
    first = levels[0]
    result: dict[str, Any] = {
        "name": "llm",
        "backend": f"llama.cpp {provider.model}, {threads} threads, context {settings.llm_context}",
        "max_tokens": max_tokens,
        "median_ms": first["median_ms"],
        "baseline_median_ms": first["baseline"]["median_ms"],
        "speedup": round(first["baseline"]["median_ms"] / first["median_ms"], 3),
        "levels": levels,
    }
    result.update(vectors.run(settings, points=points, queries=queries))
    result["machine"] = machine()
    return result
