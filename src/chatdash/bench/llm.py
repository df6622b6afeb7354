"""`chatdash bench llm`: our LM service against llama.cpp's own server, same model, same run.

*Ours* is ``chatdash lm serve`` as a subprocess (llama-server as we configure it: a full context per
slot, the embedded provider's repeat penalty, metrics on). *Theirs* is the ``llama-server`` binary
started directly the way the issue measured it, ``llama-server -m GGUF --parallel 16 -cb`` with the
same threads and nothing else set. Both get the same streamed ``/v1/chat/completions`` requests over
loopback HTTP: the same prompts at temperature 0 with the same sampling, ``max_tokens`` each. Every
prompt starts with a number of its own, so that, as in real chats, only the chat template's system turn
can come from a slot's prompt cache.

For each thread count both servers run side by side (only one is ever sent requests), and each
concurrency level is measured on both, in an order that alternates between rounds, so that a change in
the machine's load hits both. At concurrency 1 the requests run one after another (three per round); at
higher levels a round is one wave of that many requests started together. Per side and level:

- *aggregate tokens/s*: generated tokens / wall time of the round (median over rounds); at concurrency
  1 this is the single-stream rate;
- *TTFT*: time to the first content token, median over every request of every round;
- the median time per request.

The bar (ours / theirs): at the top level, aggregate tokens/s >= 0.9 and median TTFT <= 1.2; single
stream tokens/s >= 0.9. For reference, the embedded provider (in process, one request at a time) runs
the same levels at the first thread count. Embedding throughput and vector search latency come from
``chatdash.bench.vectors``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chatdash.bench import vectors
from chatdash.bench.timing import machine
from chatdash.config import Settings
from chatdash.llm import Message, model_path, running_server
from chatdash.llm.providers.llamacpp import SAMPLING, LlamaCppProvider

PROMPTS = [
    "Write a long story about a dragon who sells office chairs.",
    "Describe, in detail, a day in the life of a warehouse manager.",
    "Explain at length how a laptop is assembled in a factory.",
    "Tell a long tale about a printer that learned to write poems.",
]
SEED = 42
_NUMBERS = itertools.count(1)
SINGLE_STREAM_REQUESTS = 3
"""Requests per round at concurrency 1: a median of one request is no median."""
BAR = {"aggregate_min": 0.9, "ttft_max": 1.2, "single_stream_min": 0.9}
"""Ours / theirs: top-level aggregate tokens/s, top-level median TTFT, single-stream tokens/s."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One request as its caller saw it."""

    first_token_s: float
    total_s: float
    tokens: int


Request = Callable[[str], Awaitable[Sample]]


async def _http(client: httpx.AsyncClient, url: str, prompt: str, max_tokens: int) -> Sample:
    """One streamed chat completion; tokens as the server reports them (its usage), else deltas."""
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": SEED,
        "stream": True,
        "stream_options": {"include_usage": True},
        **SAMPLING,
    }
    started = time.perf_counter()
    first, deltas, reported = None, 0, None
    async with client.stream("POST", f"{url}/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                reported = chunk["usage"]["completion_tokens"]
            for choice in chunk.get("choices") or []:
                if choice.get("delta", {}).get("content"):
                    first = first or time.perf_counter() - started
                    deltas += 1
    return Sample(first or 0.0, time.perf_counter() - started, reported or deltas)


async def _embedded(provider: LlamaCppProvider, prompt: str, max_tokens: int) -> Sample:
    started = time.perf_counter()
    first = None
    async with provider.stream([Message.user(prompt)], temperature=0, max_tokens=max_tokens, seed=SEED) as s:
        async for _ in s:
            first = first or time.perf_counter() - started
    return Sample(first or 0.0, time.perf_counter() - started, s.completion.usage.completion_tokens)


def _prompt(index: int) -> str:
    """A prompt no server has seen: a new number first, so no slot's cache holds its start (only the chat
    template's system turn, as in a real chat)."""
    return f"Request {next(_NUMBERS)}. {PROMPTS[index % len(PROMPTS)]}"


async def _round(request: Request, concurrency: int, number: int) -> tuple[list[Sample], float]:
    """One round: the samples and the generated tokens per second of wall time."""
    started = time.perf_counter()
    if concurrency == 1:
        samples = [await request(_prompt(number + i)) for i in range(SINGLE_STREAM_REQUESTS)]
    else:
        prompts = [_prompt(number + i) for i in range(concurrency)]
        samples = list(await asyncio.gather(*(request(p) for p in prompts)))
    return samples, sum(s.tokens for s in samples) / (time.perf_counter() - started)


def _summary(rounds: list[tuple[list[Sample], float]]) -> dict[str, Any]:
    samples = [s for round_samples, _ in rounds for s in round_samples]
    return {
        "tokens_per_s": round(statistics.median(rate for _, rate in rounds), 1),
        "tokens_per_s_runs": [round(rate, 1) for _, rate in rounds],
        "ttft_median_ms": round(statistics.median(s.first_token_s for s in samples) * 1000, 1),
        "ttft_max_ms": round(max(s.first_token_s for s in samples) * 1000, 1),
        "median_ms": round(statistics.median(s.total_s for s in samples) * 1000, 1),
        "requests": len(samples),
        "tokens": sum(s.tokens for s in samples),
    }


async def _measure(sides: dict[str, Request], levels: list[int], rounds: int) -> list[dict[str, Any]]:
    """Every level on every side, the sides' order rotating from round to round."""
    names = list(sides)
    for name in names:  # warm-up: the first request of a fresh process allocates its buffers
        await sides[name](PROMPTS[0])
    results = []
    for concurrency in levels:
        taken: dict[str, list[tuple[list[Sample], float]]] = {name: [] for name in names}
        for number in range(rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                taken[name].append(await _round(sides[name], concurrency, number))
        results.append({"concurrency": concurrency, **{name: _summary(taken[name]) for name in names}})
    return results


def _ratios(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """Ours / theirs at the top level and at concurrency 1, and whether each meets the bar."""
    top, single = levels[-1], levels[0]
    ratios: dict[str, Any] = {
        "aggregate": round(top["ours"]["tokens_per_s"] / top["theirs"]["tokens_per_s"], 3),
        "ttft": round(top["ours"]["ttft_median_ms"] / top["theirs"]["ttft_median_ms"], 3),
    }
    met = {
        "aggregate": ratios["aggregate"] >= BAR["aggregate_min"],
        "ttft": ratios["ttft"] <= BAR["ttft_max"],
    }
    if single["concurrency"] == 1:
        ratios["single_stream"] = round(single["ours"]["tokens_per_s"] / single["theirs"]["tokens_per_s"], 3)
        met["single_stream"] = ratios["single_stream"] >= BAR["single_stream_min"]
    return {**ratios, "met": met}


async def _compare(
    ours: str, theirs: str, embedded: LlamaCppProvider | None, levels: list[int], rounds: int, max_tokens: int
) -> list[dict[str, Any]]:
    # A connection per request: llama-server closes the connection after a streamed reply without saying
    # so (no `Connection: close`), so a client that reuses it at once sometimes finds it gone ("Server
    # disconnected without sending a response"). On loopback a new connection costs well under 1 ms.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        sides: dict[str, Request] = {
            "ours": lambda p: _http(client, ours, p, max_tokens),
            "theirs": lambda p: _http(client, theirs, p, max_tokens),
        }
        if embedded is not None:
            sides["embedded"] = lambda p: _embedded(embedded, p, max_tokens)
        return await _measure(sides, levels, rounds)


def run(
    settings: Settings,
    *,
    max_tokens: int,
    concurrency: list[int],
    threads: list[int],
    rounds: int,
    embedded: bool,
    points: list[int],
    queries: int,
) -> dict[str, Any]:
    levels = sorted(set(concurrency))
    gguf = model_path(settings)
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    for index, count in enumerate(threads):
        ours_env = {
            "CHATDASH_LLM_CONTEXT": str(settings.llm_context),
            "CHATDASH_LLM_PARALLEL": str(settings.llm_parallel),
            "CHATDASH_LLM_THREADS": str(count),
            "CHATDASH_LLM_MODEL_PATH": str(gguf),
            "CHATDASH_LLM_API_KEY": "",
        }
        theirs_args = ["-m", str(gguf), "--parallel", "16", "-cb", "-t", str(count), "-tb", str(count)]
        provider = None
        if embedded and index == 0:
            provider = LlamaCppProvider.from_settings(
                settings, threads=count, queue_size=max([*levels, settings.llm_queue_size])
            )
        with (
            running_server(ours_env) as ours,
            running_server({"LLAMA_API_KEY": ""}, llama_server_args=theirs_args) as theirs,
        ):
            measured = asyncio.run(_compare(ours, theirs, provider, levels, rounds, max_tokens))
        runs.append({"threads": count, "levels": measured, "ratios": _ratios(measured)})
    head = runs[0]["levels"][-1]
    result: dict[str, Any] = {
        "name": "llm",
        "backend": (
            f"llama-server, {gguf.name}, {settings.llm_parallel} slots x {settings.llm_context} tokens; "
            "theirs: --parallel 16 -cb"
        ),
        "model": gguf.name,
        "max_tokens": max_tokens,
        "rounds": rounds,
        # The JSON contract's headline: time per request at the top level, first thread count.
        "median_ms": head["ours"]["median_ms"],
        "baseline_median_ms": head["theirs"]["median_ms"],
        "speedup": round(head["theirs"]["median_ms"] / head["ours"]["median_ms"], 3),
        "bar": BAR,
        "bar_met": all(all(r["ratios"]["met"].values()) for r in runs),
        "runs": runs,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    result.update(vectors.run(settings, points=points, queries=queries))
    result["machine"] = machine()
    return result
