"""`chatdash bench load`: many people and scripts at once against a running chatdash, with Locust.

The target is a server already running (``--url``: by default ``chatdash stack up``'s nginx on
http://127.0.0.1:8088; or one ``chatdash serve``). Its users are made first, straight in its database
(the bench reads ``CHATDASH_DATABASE_URL`` like the app, so run it with the server's settings) through
the same functions the sign-up form and ``chatdash keys create`` use: signed-in web users with a chat
each, and API clients with a key each, under a fresh name prefix (``bench-load-<hex>``) that the report
gives; they stay afterwards (``chatdash users delete`` removes one).

Locust then runs headless in a process of its own (``python -m locust -f locustfile.py``: importing
Locust patches the standard library for gevent, which this process must not get), ramping up to
``users`` at ``spawn_rate`` a second and stopping after ``seconds``; see ``chatdash.bench.locustfile``
for what each user does. API clients keep to ``CHATDASH_API_RATE_LIMIT`` (read here, so give the bench
the server's value): the limit is a policy, and 429s are not a capacity.

Before the clock starts, one sign-in page and one reply (an account of its own) warm the server up:
what it loads on first use (templates, the embedder, the prompt) is not the figure.

The report: per route, requests, failures, requests/s over the run, and p50/p95/p99 milliseconds from
every sample (not Locust's rounded buckets); the routes that do not call the model (sign-in, chat list,
a chat, the API's listings) apart from those that do (sending a message, a streamed reply read to its
end, whose time to first text is given too). ``median_ms`` is the median over every request of the
non-model routes: what the app itself costs a page or API call under this load. The whole run includes
the ramp (``ramp_s``: users starting and signing in, an argon2 hash each); ``steady`` gives the same
figures for the requests started after it. ``model`` is the model the server's traces name for the
replies (else the one these settings choose). With the ``scripted`` model
(``CHATDASH_LLM_PROVIDER=scripted``, allowed by ``CHATDASH_ALLOW_SCRIPTED_MODEL``) the figures are the
stack's capacity without a model's time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from limits import parse

from chatdash.bench.timing import machine, percentile
from chatdash.chat import SqlRepository, keys, users
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.errors import ConfigError, Unavailable
from chatdash.llm import default_provider_id

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DEFAULT_URL = "http://127.0.0.1:8088"
MESSAGES = (
    "Hello! What can you help me with?",
    "What was the total revenue in 2022?",
    "Which category sold the most in 2021?",
    "Thanks. Say that again in one short sentence.",
)
"""What the users send, at random: small talk and sales questions (answered from the database)."""
MODEL_ROUTES = ("POST /c/[chat]/send", "GET /c/[chat]/m/[message]/events", "POST /api/chat")
"""Routes that start or carry a model's reply; every other route is the app alone."""
RATE_MARGIN = 1.05
"""API replies are spaced this much wider than the rate limit allows, so clock jitter never trips it."""


@dataclass(frozen=True)
class Accounts:
    prefix: str
    web: list[dict[str, Any]]
    api: list[dict[str, Any]]
    warm_up_token: str


def run(
    settings: Settings,
    *,
    url: str = DEFAULT_URL,
    users_count: int = 100,
    seconds: int = 30,
    spawn_rate: float = 20.0,
    api_share: float = 0.2,
    think_s: float = 1.0,
    own_addresses: bool = True,
) -> dict[str, Any]:
    """The whole run against ``url``; raises when the server, Locust or the database is not there."""
    if importlib.util.find_spec("locust") is None:  # find, never import: Locust patches the stdlib
        raise ConfigError(
            "`chatdash bench load` needs Locust, a development dependency: pip install -e '.[dev]' "
            "(or pip install locust==2.47.0)"
        )
    url = url.rstrip("/")
    _check_up(url)
    api_count = split_users(users_count, api_share)
    interval = api_interval(settings.api_rate_limit)
    setup_started = time.perf_counter()
    accounts = create_accounts(settings, users_count - api_count, api_count)
    warm_up(url, accounts.warm_up_token)
    setup_s = time.perf_counter() - setup_started
    with tempfile.TemporaryDirectory(prefix="chatdash-bench-load-") as tmp:
        folder = Path(tmp)
        plan = {
            "web": accounts.web,
            "api": accounts.api,
            "think_s": think_s,
            "api_interval_s": interval,
            "messages": list(MESSAGES),
            "own_addresses": own_addresses,
            "samples": str(folder / "samples.json"),
        }
        (folder / "plan.json").write_text(json.dumps(plan))
        log = folder / "locust.log"
        _locust(url, users_count, spawn_rate, seconds, folder / "plan.json", log)
        samples_file = folder / "samples.json"
        if not samples_file.exists():
            raise RuntimeError(f"Locust wrote no samples; its log:\n{_tail(log)}")
        samples = json.loads(samples_file.read_text())
        cpu_warning = "CPU usage above" in log.read_text(errors="replace")
    model, model_source = served_model(url, settings, accounts, samples["trace_ids"])
    report = summarize(samples)
    return {
        "name": "load",
        "url": url,
        "users": users_count,
        "web_users": len(accounts.web),
        "api_users": len(accounts.api),
        "seconds": seconds,
        "spawn_rate": spawn_rate,
        "think_s": think_s,
        "model": model,
        "model_source": model_source,
        "scripted_model": model == "scripted",
        **report,
        "api_rate_limit": settings.api_rate_limit,
        "api_interval_s": round(interval, 3),
        "accounts_prefix": accounts.prefix,
        "setup_s": round(setup_s, 2),
        "load_generator": {
            "tool": f"locust {_locust_version()}",
            "processes": 1,
            "own_addresses": own_addresses,
            "cpu_warning": cpu_warning,
        },
        "machine": machine(),
    }


def split_users(users_count: int, api_share: float) -> int:
    """How many of ``users_count`` are API clients: ``api_share`` of them, and at least one of each
    kind when there are two users or more and the share is strictly between 0 and 1."""
    api = round(users_count * api_share)
    if users_count >= 2 and 0 < api_share < 1:
        api = min(max(api, 1), users_count - 1)
    return max(0, min(api, users_count))


def api_interval(rate_limit: str) -> float:
    """Seconds between one key's replies that keep within ``rate_limit`` (``limits`` notation)."""
    item = parse(rate_limit)
    return item.get_expiry() / item.amount * RATE_MARGIN


def create_accounts(settings: Settings, web: int, api: int) -> Accounts:
    """Fresh accounts in the server's database: web users with a password and a chat, API users with a
    key. Passwords are hashed (argon2) on two threads: that is most of the set-up time."""
    prefix = f"bench-load-{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(18)
    engine = make_engine(settings.effective_database_url)
    try:
        chats = SqlRepository(engine)

        def web_user(i: int) -> dict[str, Any]:
            user = users.create_user(engine, f"{prefix}-web{i + 1}", password)
            chat = chats.create_chat(user.id, f"Load test {i + 1}")
            return {"username": user.username, "password": password, "chat_id": chat.id}

        def api_user(i: int) -> dict[str, Any]:
            user = users.create_user(engine, f"{prefix}-api{i + 1}", None)
            return {"username": user.username, "token": keys.create_key(engine, user.id, prefix).token}

        with ThreadPoolExecutor(max_workers=2) as pool:
            web_users = list(pool.map(web_user, range(web)))
        api_users = [api_user(i) for i in range(api)]
        warm = users.create_user(engine, f"{prefix}-warmup", None)
        warm_up_token = keys.create_key(engine, warm.id, prefix).token
    finally:
        engine.dispose()
    return Accounts(prefix, web_users, api_users, warm_up_token)


def warm_up(url: str, token: str) -> None:
    """One sign-in page and one reply before the clock starts, with an account of its own (its key's
    rate limit is not the users'): what a server loads on first use (templates, the embedder, the
    prompt, the model) is not the load's figure."""
    with httpx.Client(base_url=url, timeout=300) as client:
        client.get("/").raise_for_status()
        body = {"messages": [{"role": "user", "content": MESSAGES[0]}]}
        answer = client.post("/api/chat", json=body, headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            raise RuntimeError(f"the warm-up reply failed: {answer.status_code} {answer.text[:300]}")


def summarize(samples: dict[str, Any]) -> dict[str, Any]:
    """The report's figures from the locustfile's samples: per route, per kind, overall; for the whole
    run, and (``steady``) for the requests that started once every user was running and signed in."""
    started, stopped = float(samples["started"]), float(samples["stopped"])
    signed_in = [start + ms / 1000 for start, ms, _ in samples["samples"].get("POST /signin", [])]
    ramp_end = max([float(samples["spawned"] or started), *signed_in])
    whole = _section(samples, started, stopped)
    for route, example in samples["failure_examples"].items():
        if example:
            {**whole["routes"], **whole["model_routes"]}[route]["first_failure"] = example
    steady = _section(samples, ramp_end, stopped) if stopped - ramp_end >= 1 else None
    return {
        **whole,
        "errors": whole["failures"] + int(samples["user_error_count"]),
        "user_errors": samples["user_errors"],
        "ramp_s": round(ramp_end - started, 2),
        "steady": steady,
    }


def _section(samples: dict[str, Any], since: float, until: float) -> dict[str, Any]:
    """Figures of the requests that started from ``since`` (Unix seconds) on, over ``until - since``."""
    wall = max(until - since, 1e-9)
    kept: dict[str, list[tuple[float, bool]]] = {}
    for route, rows in samples["samples"].items():
        if taken := [(ms, bool(failed)) for start, ms, failed in rows if start >= since]:
            kept[route] = taken
    routes: dict[str, dict[str, Any]] = {}
    model_routes: dict[str, dict[str, Any]] = {}
    for route in sorted(kept):
        figures = _figures([ms for ms, _ in kept[route]], sum(f for _, f in kept[route]), wall)
        first = [ms for start, ms in samples["first_token_ms"].get(route, []) if start >= since]
        if first:
            figures["first_text"] = {k: v for k, v in _figures(first, 0, wall).items() if "ms" in k}
        (model_routes if route in MODEL_ROUTES else routes)[route] = figures

    def together(names: dict[str, Any]) -> dict[str, Any]:
        rows = [row for route in names for row in kept[route]]
        return _figures([ms for ms, _ in rows], sum(f for _, f in rows), wall)

    app = [ms for route in routes for ms, _ in kept[route]]
    everything = [row for rows in kept.values() for row in rows]
    return {
        "median_ms": round(statistics.median(app), 2) if app else None,
        "requests": len(everything),
        "failures": sum(f for _, f in everything),
        "rps": round(len(everything) / wall, 1),
        "wall_s": round(wall, 2),
        "totals": {"non_model": together(routes), "model": together(model_routes)},
        "routes": routes,
        "model_routes": model_routes,
    }


def _figures(values: list[float], failures: int, wall: float) -> dict[str, Any]:
    if not values:
        return {"requests": 0, "failures": failures, "rps": 0.0}
    return {
        "requests": len(values),
        "failures": failures,
        "rps": round(len(values) / wall, 2),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2),
    }


def served_model(
    url: str, settings: Settings, accounts: Accounts, trace_ids: list[list[Any]]
) -> tuple[str, str]:
    """The model that wrote the replies, as the server's own traces say (``GET /api/traces/{id}`` with
    the key that asked; traces are written in the background, so a few tries); else what these
    settings choose, which is the server's only when the bench runs with the server's settings."""
    deadline = time.monotonic() + 5
    with httpx.Client(base_url=url, timeout=5) as client:
        for index, trace_id in trace_ids:
            token = accounts.api[int(index) % len(accounts.api)]["token"]
            while time.monotonic() < deadline:
                answer = client.get(f"/api/traces/{trace_id}", headers={"Authorization": f"Bearer {token}"})
                if answer.status_code == 200 and answer.json().get("model"):
                    return str(answer.json()["model"]), "the server's traces"
                if answer.status_code != 404:
                    break
                time.sleep(0.25)
    provider = default_provider_id(settings)
    chosen = "scripted" if provider == "scripted" else f"{settings.llm_model} ({provider})"
    return chosen, "these settings (no trace of a reply could be read)"


def _check_up(url: str) -> None:
    try:
        httpx.get(url + "/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"no chatdash answers at {url}/healthz ({exc}): start one with `chatdash stack up` or "
            "`chatdash serve`, or give its --url"
        ) from None


def _locust(url: str, users_count: int, spawn_rate: float, seconds: int, plan: Path, log: Path) -> None:
    """Locust headless in its own process; its output goes to ``log``."""
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users_count),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",  # users finish the request they are in (a streamed reply), then stop at their next pause
        "--host",
        url,
        "--chatdash-plan",
        str(plan),
        "--only-summary",
        "--exit-code-on-error",
        "0",  # failures are reported, not a crash
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        done = subprocess.run(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=seconds + 180, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"locust exited with {done.returncode}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")
