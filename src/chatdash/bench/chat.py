"""`chatdash bench chat`: what the chat stack adds to a model's time to first token, and `GET /chats`
under load.

The app (``create_app``, role ``all``) runs under uvicorn in a background thread of this process, on a
free loopback port, over a temporary SQLite database with a fresh user and API key (rate limit raised
out of the way). The replies come from ``ProviderResponder`` (system prompt + history straight to the
provider), so the figure is the stack alone: HTTP, auth, rate limit, storing the chat and the turn,
starting the server-owned reply, SSE. The retrieval of the ``chat`` pipeline is not on this path.

*Added TTFT* of one request = the time from sending ``POST /api/chat`` (``"stream": true``) to the first
``delta`` event read by a plain-socket client over TCP (in a child process: a client thread in this
process would hold the GIL the server needs after each of its system calls), minus the provider's own
time to first token for that same request (``Usage.first_token_s``, recorded by the responder; the
baseline). Medians over the requests, with the ``scripted`` provider (microseconds of its own: isolates
the stack) and the bundled model (``llamacpp``, a few tokens). ``median_ms`` and ``baseline_median_ms``
are the scripted figures: the added TTFT and the provider's own TTFT. ``speedup`` is
``baseline_median_ms / median_ms`` as in every benchmark, so here it is far below 1 and says little: the
stack is not a faster way to the same result but a cost on top of the provider. Target: under 10 ms
added at the median (reported, not asserted).

``GET /chats`` throughput: a fixed number of requests by ``clients`` concurrent tasks of one
``httpx.AsyncClient`` in a separate process (so the load generator does not share this process's
GIL with the server), for a user owning ``chats`` chats; then the same load on ``GET /healthz`` (no
database, no key) as the reference: the most that load generator reaches on the machine.

Tracing: the scripted level runs twice in the same run, with ``CHATDASH_TRACING`` on (the headline
figures: every reply's trace goes to the background writer and into the database) and off; ``tracing``
reports what it costs the added TTFT (target: under 1 ms at the median) and ``GET /chats``' throughput
(target: under 5 %).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import multiprocessing
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from chatdash.bench.timing import machine, percentile
from chatdash.chat import ChatService, ProviderResponder, ReplyDone, ReplyRequest
from chatdash.chat.app import KEEP_ALIVE_SECONDS, create_app
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.llm import Provider, create

PROMPT = "Say hello to the benchmark in a few words."
RATE_LIMIT = "100000/second"
PROVIDERS = ("scripted", "llamacpp")
_T = TypeVar("_T")


class TimedResponder(ProviderResponder):
    """``ProviderResponder`` that also keeps each reply's provider-side time to first token, by chat."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(provider)
        self.first_token_s: dict[str, float | None] = {}

    async def reply(self, request: ReplyRequest) -> AsyncIterator[str | ReplyDone]:
        async for item in super().reply(request):
            if isinstance(item, ReplyDone):
                self.first_token_s[request.chat_id] = item.first_token_s
            yield item


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn in a background thread on a free 127.0.0.1 port; yields its base URL."""
    # proto IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says TCP, and without it every keep-alive request waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="bench-chat-server")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def client_replies(url: str, headers: dict[str, str], count: int) -> list[tuple[str, float]]:
    """``count`` streamed replies one after another: (conversation id, seconds to the first delta) each
    (run in a child process by ``run``, so the client does not share the server's GIL)."""
    return [_one_reply(url, headers) for _ in range(count)]


_DELTA = re.compile(rb"event: delta\r?\n")
_START = re.compile(rb'"conversation_id": ?"([0-9a-f]+)"')


def _one_reply(url: str, headers: dict[str, str]) -> tuple[str, float]:
    """One streamed ``POST /api/chat``: (conversation id, seconds to the first ``delta`` event). A plain
    socket, not an HTTP client library: parsing with httpx cost the client 1-2 ms that are not the
    stack's. A fresh connection each time (``Connection: close``), opened before the clock starts;
    the server's accepting it is on the clock."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"messages": [{"role": "user", "content": PROMPT}], "stream": True}).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST /api/chat HTTP/1.1\r\nHost: {host}\r\n{head}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    received = bytearray()
    first: float | None = None
    with socket.create_connection((host, int(port)), timeout=600) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
            if first is None and _DELTA.search(received):
                first = time.perf_counter() - started
    if not received.startswith(b"HTTP/1.1 200") or b"event: done" not in received or first is None:
        raise RuntimeError(f"the reply did not stream to the end: {bytes(received[:300])!r}")
    match = _START.search(received)
    if match is None:
        raise RuntimeError("no start event with the conversation id")
    return match.group(1).decode(), first


def _replies(
    url: str, headers: dict[str, str], responder: TimedResponder, repeat: int, warmup: int
) -> dict[str, Any]:
    timed = _in_child(client_replies, url, headers, warmup + repeat)[warmup:]
    ours: list[float] = []
    provider: list[float] = []
    for chat_id, first_s in timed:
        provider_s = responder.first_token_s.pop(chat_id, None)
        if provider_s is None:
            raise RuntimeError("the provider reported no time to first token")
        ours.append(first_s * 1000)
        provider.append(provider_s * 1000)
    added = [a - b for a, b in zip(ours, provider, strict=True)]
    return {
        "requests": repeat,
        "median_ms": round(statistics.median(added), 3),
        "ttft_median_ms": round(statistics.median(ours), 3),
        "baseline_median_ms": round(statistics.median(provider), 3),
        "added_max_ms": round(max(added), 3),
        "added_ms": [round(a, 3) for a in added],
    }


async def _list_load(
    url: str, headers: dict[str, str], requests: int, clients: int, path: str
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    remaining = requests
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:  # counted and reported, not fatal to the run
                    errors.append(f"{response.status_code}: {response.text[:200]}")

        for _ in range(clients):  # open the connections before the clock starts
            (await client.get(path)).raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "clients": clients,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def list_load(
    url: str, headers: dict[str, str], requests: int, clients: int, path: str = "/chats"
) -> dict[str, Any]:
    """``GET /chats`` by ``clients`` concurrent tasks (run in a child process by ``run``)."""
    return asyncio.run(_list_load(url, headers, requests, clients, path))


def run(
    settings: Settings,
    *,
    repeat: int = 50,
    warmup: int = 3,
    model_repeat: int = 5,
    model_max_tokens: int = 8,
    providers: tuple[str, ...] = PROVIDERS,
    list_requests: int = 2000,
    clients: int = 50,
    chats: int = 20,
) -> dict[str, Any]:
    """The whole benchmark; ``providers`` must start with ``scripted`` (the headline figures)."""
    if not providers or providers[0] != "scripted":
        raise ValueError("the providers must start with scripted (the headline figures)")
    prefix = f"bench-chat-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="chatdash-bench-chat-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'chat.db'}"
        engine = make_engine(url)
        try:
            upgrade(engine)
            base = settings.model_copy(update={"api_rate_limit": RATE_LIMIT, "database_url": url})
            levels: list[dict[str, Any]] = []
            listing: dict[str, Any] = {}
            keys: dict[str, dict[str, str]] = {}
            variants = [(providers[0], True), (providers[0], False), *((n, True) for n in providers[1:])]
            for name, tracing in variants:
                is_model = name != "scripted"
                update: dict[str, Any] = {"tracing": tracing}
                if is_model:
                    update["chat_max_tokens"] = model_max_tokens
                config = base.model_copy(update=update)
                provider = create(name, config)
                responder = TimedResponder(provider)
                service = ChatService(engine, config, responder)
                if not keys:
                    keys = _users(service, prefix, chats)
                app = create_app(config, "all", service=service, rate_limit_prefix=prefix, ready_checks={})
                with serving(app) as base_url:
                    level = _replies(
                        base_url,
                        keys["chat"],
                        responder,
                        model_repeat if is_model else repeat,
                        1 if is_model else warmup,
                    )
                    levels.append({"provider": name, "model": provider.model, "tracing": tracing, **level})
                    if not is_model:
                        listed = _in_child(list_load, base_url, keys["list"], list_requests, clients)
                        listed["chats"] = chats
                        listing["on" if tracing else "off"] = listed
                        if tracing:
                            # The same load on /healthz (no database, no auth): the most this load
                            # generator reaches on this machine, so the figure above can be read.
                            ceiling = _in_child(list_load, base_url, {}, list_requests, clients, "/healthz")
                            listed["healthz_rps"] = ceiling["rps"]
        finally:
            engine.dispose()
    first, untraced = levels[0], levels[1]
    on, off = listing["on"], listing["off"]
    return {
        "name": "chat",
        "backend": f"uvicorn in process, SQLite, {settings.worker_threads} worker threads, "
        f"rate limit {RATE_LIMIT}" + (" (Redis)" if settings.redis_url else " (memory)"),
        "median_ms": first["median_ms"],
        "baseline_median_ms": first["baseline_median_ms"],
        "speedup": round(first["baseline_median_ms"] / max(first["median_ms"], 1e-6), 4),
        "target_ms": 10,
        "model_max_tokens": model_max_tokens,
        "levels": levels,
        "list_chats": on,
        "tracing": {
            "added_ttft_on_ms": first["median_ms"],
            "added_ttft_off_ms": untraced["median_ms"],
            "ttft_cost_ms": round(first["median_ms"] - untraced["median_ms"], 3),
            "list_rps_on": on["rps"],
            "list_rps_off": off["rps"],
            "list_rps_cost_pct": round(100 * (off["rps"] - on["rps"]) / max(off["rps"], 1e-9), 2),
            "target": "under 1 ms added to the median TTFT, under 5 % off GET /chats' throughput",
        },
        "machine": machine(),
    }


def _users(service: ChatService, prefix: str, chats: int) -> dict[str, dict[str, str]]:
    """Two fresh users with a key each: one sends the replies, the other owns ``chats`` chats."""
    keys = {}
    for role in ("chat", "list"):
        user = service.sign_up(f"{prefix}-{role}", "long enough password")
        keys[role] = {"Authorization": f"Bearer {service.create_key(user.id, f'{prefix} {role}').token}"}
        if role == "list":
            for i in range(chats):
                service.create_chat(user.id, f"Benchmark chat {i + 1}")
    return keys


def _in_child(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` in a fresh child process: the load generator must not share this process's
    GIL with the server it measures (a busy client thread makes every server syscall wait for the GIL)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()
