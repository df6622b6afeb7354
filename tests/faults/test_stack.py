"""``chatdash stack up``: the whole product behind the real nginx on loopback, and its faults.

One stack for the module (the throwaway PostgreSQL, Redis, llama.cpp's server with the bundled model,
the data API, two web replicas, the dashboard, nginx), on ports of its own. Each fault test stops or
kills a real process, says what clients saw and what was stored, and brings it back with ``stack up``.
Each prints its row of the fault table (run with ``-s``).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.faults.servers import Stream, until

CHATDASH = str(Path(sys.executable).with_name("chatdash"))
LEASE = 3.0


def _missing() -> str | None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (Debian package: nginx)"
    if not Path(sys.executable).with_name("llama-server").exists() and not shutil.which("llama-server"):
        return "llama.cpp's server is not built: run `make llama-server`"
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and not shutil.which("initdb"):
        return "PostgreSQL's server binaries are not installed (Debian package: postgresql)"
    return None


def _free_offset() -> int:
    """A port offset at which every port of the stack is free."""
    for _ in range(50):
        offset = random.randrange(20_000, 40_000, 100)
        ports = [p + offset for p in (8000, 8001, 8002, 8080, 8088, 8501, 5433, 6380)]
        if all(_free(port) for port in ports):
            return offset
    raise RuntimeError("no free port range for the stack")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class StackRun:
    home: Path
    env: dict[str, str]
    offset: int

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        argv = [CHATDASH, *args]
        if args[0] == "stack":
            argv += ["--port-offset", str(self.offset)]
        return subprocess.run(
            argv, env=self.env, cwd=self.home, capture_output=True, text=True, timeout=timeout
        )

    def up(self) -> None:
        done = self.cli("stack", "up", "--rows", "2000")
        assert done.returncode == 0, done.stdout + done.stderr

    def status(self) -> dict[str, dict[str, Any]]:
        done = self.cli("stack", "status", "--json")
        return {row["name"]: row for row in json.loads(done.stdout)}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{8088 + self.offset}"

    def port(self, name: str) -> int:
        return {"web-1": 8000, "web-2": 8002, "db-api": 8001, "lm": 8080}[name] + self.offset

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{5433 + self.offset}/chatdash"

    def service_headers(self) -> dict[str, str]:
        """How the web tier calls the data API for alice (its service key; internal only)."""
        kept = json.loads((self.home / "var" / "stack" / "secrets.json").read_text())
        return {"Authorization": f"Bearer {kept['db_api_key']}", "X-Chatdash-User": "alice"}

    def pid(self, name: str) -> int:
        state = json.loads((self.home / "var" / "stack" / "state.json").read_text())
        return int(state[name]["pid"])


@pytest.fixture(scope="module")
def stack() -> Iterator[StackRun]:
    missing = _missing()
    if missing:
        pytest.skip(missing)
    # Not under pytest's own folder (owner-only): PostgreSQL runs as the postgres account under root.
    home = Path(tempfile.mkdtemp(prefix="chatdash-stack-"))
    home.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_CHAT_REPLY_LEASE_SECONDS": str(LEASE),
        "CHATDASH_API_RATE_LIMIT": "100/second",  # one key sends several messages at once here
    }
    run = StackRun(home, env, _free_offset())
    try:
        run.up()
        yield run
    finally:
        down = run.cli("stack", "down")
        assert down.returncode == 0, down.stderr
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def key(stack: StackRun) -> str:
    env = stack.env | {"CHATDASH_DATABASE_URL": stack.database_url}
    made = subprocess.run(
        [CHATDASH, "users", "create", "alice", "--password-stdin"],
        env=env,
        input="long enough password\n",
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [CHATDASH, "keys", "create", "faults", "--user", "alice"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def api(stack: StackRun, key: str) -> httpx.Client:
    return httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@contextmanager
def signed_in(stack: StackRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        page = client.get("/")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        form = {"username": "alice", "password": "long enough password", "csrf": token.group(1)}
        assert client.post("/signin", data=form).status_code == 303
        yield client


def stored(stack: StackRun) -> dict[str, Counter[str]]:
    """What the database holds: message statuses by role."""
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT role, status FROM messages")).all()
    finally:
        engine.dispose()
    counts: dict[str, Counter[str]] = {}
    for role, status in rows:
        counts.setdefault(role, Counter())[status] += 1
    return counts


def row(fault: str, clients: str, stored_: str, recovery: str) -> None:
    print(f"\n| {fault} | {clients} | {stored_} | {recovery} |")


def test_up_serves_the_whole_product_behind_nginx(stack: StackRun, key: str) -> None:
    status = stack.status()
    assert set(status) == {"postgres", "redis", "lm", "db-api", "web-1", "web-2", "dashboard", "nginx"}
    assert all(component["healthy"] for component in status.values()), status

    with httpx.Client(base_url=stack.url, timeout=30) as client:
        home = client.get("/")
        assert home.status_code == 200 and "Sign in" in home.text
        assert re.fullmatch(r"[0-9a-f]{32}", home.headers["x-request-id"])
        assert home.headers["x-frame-options"] == "SAMEORIGIN"
        assert home.headers["x-content-type-options"] == "nosniff"
        assert client.get("/metrics").status_code == 404  # only from inside
        script = client.get("/static/vendor/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"})
        assert script.headers.get("content-encoding") == "gzip"
        dashboard = client.get("/dashboard/")
        assert dashboard.status_code == 200 and '<div id="root">' in dashboard.text
    assert "http_requests" in httpx.get(f"http://127.0.0.1:{stack.port('web-1')}/metrics").text

    # A sales answer through nginx, streamed from the real model; its figure is the database's.
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        orders = db.execute(
            sa.text("SELECT count(*) FROM sales_data WHERE order_date BETWEEN '2015-01-01' AND '2015-12-31'")
        ).scalar_one()
    engine.dispose()
    with api(stack, key) as client:
        stream = Stream(client, "How many orders were placed in 2015?").start()
        stream.join(120)
    assert stream.failure is None, stream.failure
    names = [name for name, _ in stream.events]
    assert names[0] == "start" and names[-1] == "done", names
    assert str(orders) in stream.text_streamed(), stream.text_streamed()
    # The access log has the request id the app logged for the same request.
    access = (stack.home / "var" / "log" / "nginx-access.log").read_text().splitlines()
    request_id = json.loads(access[-1])["request_id"]
    assert any(
        request_id in line for line in (stack.home / "var" / "log" / "web-1.log").read_text().splitlines()
    ) or any(
        request_id in line for line in (stack.home / "var" / "log" / "web-2.log").read_text().splitlines()
    )


def test_a_short_load_through_nginx_has_no_errors(stack: StackRun) -> None:
    """`chatdash bench load` (Locust) in short: signed-in people and API clients, the real model; the
    long runs' figures are in benchmarks/RESULTS.md."""
    env = stack.env | {"CHATDASH_DATABASE_URL": stack.database_url, "CHATDASH_API_RATE_LIMIT": "100/second"}
    done = subprocess.run(
        [
            CHATDASH,
            "bench",
            "load",
            "--users",
            "20",
            "--seconds",
            "15",
            "--think",
            "2",
            "--url",
            stack.url,
            "--json",
        ],
        env=env,
        cwd=stack.home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["failures"] == 0 and report["errors"] == 0, report
    assert report["model"] != "scripted"  # the real LM service, not the capacity stand-in
    for route in ("GET /c", "GET /c/[chat]", "POST /c/[chat]/send", "POST /api/chat"):
        found = report["routes"].get(route) or report["model_routes"].get(route)
        assert found and found["requests"] > 0, (route, report)


def test_a_web_replica_killed_under_load(stack: StackRun, key: str) -> None:
    """nginx moves the traffic to the other replica: page loads never fail; a reply the dead replica
    was writing keeps its accepted message and reads as `stopped` (retry-able) after its lease."""
    seen: Counter[int] = Counter()
    stop = threading.Event()
    chats: list[str] = []

    def browse() -> None:
        with signed_in(stack) as client:
            while not stop.is_set():
                listing = client.get("/c")
                seen[listing.status_code] += 1
                found = re.findall(r'href="/c/([0-9a-f-]{36})"', listing.text)
                if found:
                    seen[client.get(f"/c/{found[0]}").status_code] += 1

    before = stored(stack)
    browsers = [threading.Thread(target=browse) for _ in range(4)]
    for thread in browsers:
        thread.start()
    with api(stack, key) as client:
        streams = [Stream(client, f"Tell me a long story about chair number {i}").start() for i in range(4)]
        accepted = [s.ids(60) for s in streams]
        chats.extend(chat for chat, _ in accepted)
        victim = stack.pid("web-1")
        os.killpg(victim, signal.SIGKILL)
        time.sleep(3)
        stop.set()
        for thread in browsers:
            thread.join(30)
        for s in streams:
            s.join(120)
    cut = [s for s in streams if s.failure is not None or s.events[-1][0] != "done"]
    assert set(seen) == {200}, seen  # every page load answered, during the kill too
    after = stored(stack)
    assert after["user"].total() - before.get("user", Counter()).total() == 4  # no accepted message lost
    # The replies as every reader sees them (the data API): none left `streaming` past its lease.
    with httpx.Client(
        base_url=f"http://127.0.0.1:{stack.port('db-api')}", headers=stack.service_headers()
    ) as data:

        def replies() -> Counter[str] | None:
            found = Counter(
                data.get(f"/chats/{chat}/messages/{mid}").json()["status"] for chat, mid in accepted
            )
            return None if "streaming" in found else found

        new_replies = until(replies, LEASE * 10, 0.5)
    assert set(new_replies) <= {"complete", "stopped"}, new_replies
    assert len(cut) == new_replies["stopped"], (
        len(cut),
        new_replies,
    )  # cut streams read `stopped`, retry-able

    stack.up()  # the replica comes back
    assert stack.status()["web-1"]["healthy"]
    row(
        "a web replica killed (`kill -9`) under load (4 browsers, 4 streamed replies)",
        f"{sum(seen.values())} page loads, all 200 (nginx retried on the other replica); "
        f"{len(cut)} of 4 streams cut (those the dead replica served)",
        f"all 4 accepted messages; replies: {dict(new_replies)}",
        "`stack up` restarts the replica",
    )


def test_postgresql_restarted(stack: StackRun, key: str) -> None:
    with signed_in(stack) as browser, api(stack, key) as client:
        assert stack.cli("stack", "stop", "postgres").returncode == 0
        down_page = browser.get("/c")
        down_api = client.post("/api/chat", json={"messages": [{"role": "user", "content": "hello"}]})
        stack.up()
        back = time.monotonic()
        until(lambda: browser.get("/c").status_code == 200, 30, 0.2)
        recovered = time.monotonic() - back
    assert down_page.status_code == 503 and "database" in down_page.text.lower(), down_page.text[:300]
    assert down_api.status_code == 503 and "database" in down_api.text.lower(), down_api.text
    row(
        "PostgreSQL stopped, then started (`stack stop postgres`, `stack up`)",
        "pages and API: 503 naming the database (no 500)",
        "nothing written meanwhile; everything before kept",
        f"{recovered:.1f} s after the start, without restarting the app",
    )


def test_redis_stopped(stack: StackRun, key: str) -> None:
    with signed_in(stack) as browser, api(stack, key) as client:
        assert stack.cli("stack", "stop", "redis").returncode == 0
        page = browser.get("/c")
        ready = httpx.get(f"http://127.0.0.1:{stack.port('web-1')}/readyz")
        answer = client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": "How many orders in 2016?"}]}
        )
        stack.up()
    assert page.status_code == 200
    assert answer.status_code == 200, answer.text  # rate limits fail open: counted per process meanwhile
    assert ready.status_code == 503 and "redis" in ready.text.lower(), ready.text
    row(
        "Redis stopped (`stack stop redis`)",
        "pages and API answer (rate limits counted per process meanwhile); /readyz 503 naming Redis",
        "everything (Redis holds no data of ours)",
        "`stack up` restarts it",
    )


def test_lm_stopped(stack: StackRun, key: str) -> None:
    before = stored(stack)
    with signed_in(stack) as browser, api(stack, key) as client:
        assert stack.cli("stack", "stop", "lm").returncode == 0
        answer = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Tell me a story"}]})
        page = browser.get("/c")
        stack.up()
        again = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Tell me a story"}]})
    after = stored(stack)
    assert answer.status_code == 503 and "LM server" in answer.text, answer.text
    assert after["user"].total() - before.get("user", Counter()).total() == 2  # the one sent meanwhile kept
    assert page.status_code == 200
    assert again.status_code == 200, again.text
    row(
        "the LM service stopped (`stack stop lm`)",
        "503 naming the LM server; pages keep working",
        "the user's message saved, the reply marked `error`",
        "`stack up` restarts it; the next message is answered",
    )


def test_down_stops_only_what_up_started(stack: StackRun) -> None:
    pids = {
        name: stack.pid(name) for name in ("nginx", "web-1", "web-2", "db-api", "lm", "redis", "dashboard")
    }
    done = stack.cli("stack", "down")
    assert done.returncode == 0, done.stderr
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text(), (
            name
        )
    assert stack.cli("stack", "status").returncode == 1
    # The machine's own servers (the suite's PostgreSQL and Redis) are not the stack's: still there.
    for url in filter(
        None, (os.environ.get("CHATDASH_TEST_DATABASE_URL"), os.environ.get("CHATDASH_TEST_REDIS_URL"))
    ):
        port = int(re.search(r":(\d+)/", url).group(1))  # type: ignore[union-attr]
        assert not _free(port), url
    stack.up()  # for the fixture's own `down`
