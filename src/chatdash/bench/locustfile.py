"""The users of `chatdash bench load`, for Locust: run by ``locust -f`` in a process of its own, never
imported by chatdash (importing Locust monkey-patches the standard library for gevent).

``chatdash.bench.load`` creates the accounts, API keys and chats beforehand and passes them in a plan
file (``--chatdash-plan``, JSON); each user takes the next identity from it:

- ``WebUser``, a person in a browser without JavaScript: signs in through the real form (its CSRF token
  from the sign-in page), then visits: the chat list (``GET /c``), one chat (``GET /c/{id}``), a message
  sent with the page's form (``POST /c/{id}/send``) and the reply streamed to its end
  (``GET /c/{id}/m/{mid}/events``, Server-Sent Events until ``done``), thinking between steps.
- ``ApiUser``, a script with an API key: a streamed ``POST /api/chat`` read to its ``done`` event
  (continuing its conversation for a few turns, then starting another), its chats (``GET /chats``) and
  one conversation's messages (``GET /chats/{id}/messages``). Its replies keep to the key's rate limit
  (``api_interval_s`` apart): the limit is the server's, not the capacity being measured.

On a loopback target each user connects from an address of its own (127.0.1.1, 127.0.1.2, ...), as
people do from their machines: the sign-in limit per address, nginx's connection limit per address and
its logs then see many clients, not one.

Every request Locust records is also kept whole (milliseconds, not Locust's rounded buckets), with the
time to the first streamed text of each reply; at the end they go to the plan's ``samples`` file, which
``chatdash.bench.load`` turns into the report.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.env import Environment
from requests import RequestException
from urllib3 import PoolManager

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_REPLY = re.compile(r"/c/([0-9a-f]+)#m(\d+)$")
TURNS_PER_CONVERSATION = 5
"""An API user starts a new conversation after this many replies, so no history grows without end."""

_plan: dict[str, Any] = {}
_identities: dict[str, itertools.count[int]] = {"web": itertools.count(), "api": itertools.count()}
_samples: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
"""Per route: (start, Unix seconds; milliseconds; failed) of every request."""
_failure_examples: dict[str, str] = {}
_first_token: dict[str, list[tuple[float, float]]] = defaultdict(list)
"""Per streamed route: (start; milliseconds to the first text) of every reply."""
_trace_ids: list[tuple[int, str]] = []
_user_errors: list[str] = []
_clock: dict[str, float] = {}


def _arguments(parser: Any) -> None:
    parser.add_argument("--chatdash-plan", default="", help="The plan file of `chatdash bench load`.")


def _init(environment: Environment, **_kwargs: Any) -> None:
    path = getattr(environment.parsed_options, "chatdash_plan", "") if environment.parsed_options else ""
    if not path:
        return  # e.g. `locust --help`
    with open(path) as plan_file:
        _plan.update(json.load(plan_file))
    WebUser.fixed_count = len(_plan["web"])
    ApiUser.fixed_count = len(_plan["api"])
    think = float(_plan["think_s"])
    WebUser.wait_time = between(think * 0.5, think * 1.5)


def _request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float | None = None,
    **_kw: Any,
) -> None:
    route = f"{request_type} {name}"
    started = start_time if start_time is not None else time.time() - response_time / 1000
    _samples[route].append((started, float(response_time), exception is not None))
    if exception is not None:
        _failure_examples.setdefault(route, str(exception)[:300])


def _user_error(user_instance: Any, exception: BaseException, tb: Any, **_kw: Any) -> None:
    if len(_user_errors) < 20:
        _user_errors.append(f"{type(user_instance).__name__}: {type(exception).__name__}: {exception}"[:300])
    else:
        _user_errors.append("")  # counted, not kept


def _started(**_kw: Any) -> None:
    _clock["start"] = time.time()


def _spawned(**_kw: Any) -> None:
    _clock["spawned"] = time.time()


def _stopped(**_kw: Any) -> None:
    _clock["stop"] = time.time()


def _write_samples(**_kw: Any) -> None:
    if not _plan:
        return
    result = {
        "samples": _samples,
        "failure_examples": _failure_examples,
        "first_token_ms": _first_token,
        "trace_ids": _trace_ids[:5],
        "user_errors": [e for e in _user_errors if e],
        "user_error_count": len(_user_errors),
        "started": _clock.get("start"),
        "spawned": _clock.get("spawned"),
        "stopped": _clock.get("stop", time.time()),
    }
    with open(_plan["samples"], "w") as out:
        json.dump(result, out)


events.init_command_line_parser.add_listener(_arguments)
events.init.add_listener(_init)
events.request.add_listener(_request)
events.user_error.add_listener(_user_error)
events.test_start.add_listener(_started)
events.spawning_complete.add_listener(_spawned)
events.test_stop.add_listener(_stopped)
events.quitting.add_listener(_write_samples)


def _pool(host: str | None, index: int) -> PoolManager | None:
    """Connections from 127.0.x.y, an address of this user's own, when the target is on loopback."""
    target = urlsplit(host or "").hostname or ""
    if not _plan.get("own_addresses") or not (target.startswith("127.") or target == "localhost"):
        return None
    address = f"127.0.{1 + index // 250}.{1 + index % 250}"
    return PoolManager(num_pools=2, maxsize=2, source_address=(address, 0))


class _PlannedUser(HttpUser):
    abstract = True
    kind = ""

    def __init__(self, environment: Environment) -> None:
        self.index = next(_identities[self.kind])
        self.identity: dict[str, Any] = _plan[self.kind][self.index % len(_plan[self.kind])]
        # API users take the addresses after the web users'.
        offset = 0 if self.kind == "web" else len(_plan["web"])
        self.pool_manager = _pool(environment.host, offset + self.index)
        super().__init__(environment)

    def read_stream(self, response: Any, started: float, route: str, data_event: str) -> str | None:
        """Read Server-Sent Events to ``done``: the stream's outcome as a failure text, or None. Sets
        the request's time to the whole reply's and keeps its time to the first ``data_event``."""
        event, first, failure, done_data = "", None, None, ""
        try:
            for raw in response.iter_lines(chunk_size=None):
                line = raw.decode() if isinstance(raw, bytes) else raw
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                    if event == data_event and first is None:
                        first = time.perf_counter()
                elif line.startswith("data:") and event in ("done", "error", "deleted"):
                    done_data = line.split(":", 1)[1].strip()
                    if event != "done":
                        failure = f"{event} event: {done_data[:200]}"
                    break
        except (RequestException, OSError) as exc:  # a connection cut mid-stream: a failed request
            failure = f"the stream broke: {exc}"
        response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
        if first is not None:
            _first_token[route].append((response.request_meta["start_time"], (first - started) * 1000))
        if failure is None and not done_data:
            failure = "the stream ended without a done event"
        if failure is None and self.kind == "api" and len(_trace_ids) < 5:
            trace_id = json.loads(done_data).get("trace_id")
            if trace_id:
                _trace_ids.append((self.index, trace_id))
        self.last_done = done_data
        return failure

    def message(self) -> str:
        messages: list[str] = _plan["messages"]
        return random.choice(messages)


class WebUser(_PlannedUser):
    """A person in the web app: signs in once, then visits a chat, sends and reads the reply."""

    kind = "web"

    def on_start(self) -> None:
        self.signed_in = False
        self.sign_in()

    def sign_in(self) -> None:
        page = self.client.get("/", name="/ (sign-in page)")
        match = _CSRF.search(page.text or "")
        if match is None:
            return
        form = {
            "csrf": match.group(1),
            "username": self.identity["username"],
            "password": self.identity["password"],
            "action": "signin",
        }
        with self.client.post(
            "/signin", data=form, allow_redirects=False, name="/signin", catch_response=True
        ) as answer:
            if answer.status_code == 303 and answer.headers.get("location", "").endswith("/c"):
                self.signed_in = True
                answer.success()
            else:
                answer.failure(f"sign-in answered {answer.status_code}: {answer.text[:200]}")

    @task
    def visit(self) -> None:
        if not self.signed_in:
            self.sign_in()
            if not self.signed_in:
                return
        chat = self.identity["chat_id"]
        self.client.get("/c", name="/c")
        self.wait()
        page = self.client.get(f"/c/{chat}", name="/c/[chat]")
        match = _CSRF.search(page.text or "")
        if match is None:
            return
        self.wait()
        form = {"csrf": match.group(1), "content": self.message()}
        with self.client.post(
            f"/c/{chat}/send", data=form, allow_redirects=False, name="/c/[chat]/send", catch_response=True
        ) as sent:
            reply = _REPLY.search(sent.headers.get("location", "")) if sent.status_code == 303 else None
            if reply is None:
                sent.failure(f"send answered {sent.status_code}: {sent.text[:200]}")
                return
            sent.success()
        route = "/c/[chat]/m/[message]/events"
        started = time.perf_counter()
        with self.client.get(
            f"/c/{chat}/m/{reply.group(2)}/events", stream=True, name=route, catch_response=True
        ) as stream:
            if stream.status_code != 200:
                stream.failure(f"events answered {stream.status_code}")
                return
            failure = self.read_stream(stream, started, f"GET {route}", "text")
            if failure:
                stream.failure(failure)
            else:
                stream.success()


class ApiUser(_PlannedUser):
    """A script with an API key: streamed replies within the key's rate limit, and its chats."""

    kind = "api"

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {self.identity['token']}"
        self.conversation: str | None = None
        self.turns = 0
        self.next_reply = 0.0
        self.in_task = False

    def wait_time(self) -> float:
        """A thinking pause; after a task, also until the key may send its next reply. A Locust pause,
        not a sleep inside the task, so that the end of the run does not wait for it."""
        think = float(_plan["think_s"]) * random.uniform(0.5, 1.5)
        return think if self.in_task else max(think, self.next_reply - time.monotonic())

    @task
    def chat(self) -> None:
        self.in_task = True
        try:
            self.converse()
        finally:
            self.in_task = False

    def converse(self) -> None:
        self.next_reply = time.monotonic() + float(_plan["api_interval_s"])
        body: dict[str, Any] = {"messages": [{"role": "user", "content": self.message()}], "stream": True}
        if self.conversation and self.turns < TURNS_PER_CONVERSATION:
            body["conversation_id"] = self.conversation
        else:
            self.conversation, self.turns = None, 0
        route = "/api/chat"
        started = time.perf_counter()
        with self.client.post(route, json=body, stream=True, name=route, catch_response=True) as stream:
            if stream.status_code != 200:
                stream.failure(f"/api/chat answered {stream.status_code}: {stream.text[:200]}")
                return
            failure = self.read_stream(stream, started, f"POST {route}", "delta")
            if failure:
                stream.failure(failure)
                return
            stream.success()
        self.conversation = json.loads(self.last_done)["conversation_id"]
        self.turns += 1
        self.wait()
        self.client.get("/chats?limit=20", name="/chats")
        self.wait()
        self.client.get(f"/chats/{self.conversation}/messages", name="/chats/[chat]/messages")
