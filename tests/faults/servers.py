"""Servers of the fault tests' own, to stop and start at will: a throwaway PostgreSQL cluster, a
``redis-server``, the slow stand-in model and ``chatdash serve``; and ``Stream``, a streamed
``POST /api/chat`` read on a thread. Never the machine's shared PostgreSQL
and Redis, which the rest of the suite and CI use.

PostgreSQL comes from the machine's own binaries (``initdb``, ``pg_ctl``, Debian package
``postgresql``), in a temporary folder on a free port; run as the ``postgres`` account when the tests
run as root, which PostgreSQL refuses to run as.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.skip(f"{name} is not installed (Debian package: postgresql)")
    return found[-1]


class Postgres:
    """A PostgreSQL cluster of its own: ``stop`` and ``start`` it during a test."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chatdash-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self._run(_postgres_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def data(self) -> str:
        return str(self.root / "data")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "log")
        self._run(_postgres_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[Postgres]:
    cluster = Postgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class Redis:
    """A ``redis-server`` of its own on a free port, without persistence."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or pytest.skip(
            "redis-server is not installed (Debian package: redis-server)"
        )
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextmanager
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Process:
    """A server process with its output in a log: ``kill`` it for real (SIGKILL) and ``start`` it again."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int, health: str = "") -> None:
        self.args, self.env, self.log, self.port, self.health = args, env, log, port, health
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 60) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"{' '.join(self.args)} exited with {self.process.returncode}:\n{self.log.read_text()}"
                )
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2):
                    return
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP answer, whatever its status: it is up
                    return
                time.sleep(0.1)
        pytest.fail(f"{self.url} did not answer within {seconds} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def slow_model(log: Path, words: int = 60, delay: float = 0.1) -> Process:
    port = free_port()
    args = [sys.executable, "-m", "tests.faults.slow_lm", "--port", str(port), "--words", str(words)]
    return Process([*args, "--delay", str(delay)], dict(os.environ), log, port, "/v1/models")


def chatdash_serve(env: dict[str, str], log: Path) -> Process:
    port = free_port()
    chatdash = str(Path(sys.executable).with_name("chatdash"))
    return Process([chatdash, "serve", "--port", str(port)], env, log, port, "/healthz")


@dataclass
class Stream:
    """A streamed ``POST /api/chat`` read on a thread: its events as they come."""

    client: httpx.Client
    text: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failure: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Stream:
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self) -> None:
        body = {"messages": [{"role": "user", "content": self.text}], "stream": True}
        try:
            with self.client.stream("POST", "/api/chat", json=body, timeout=300) as answer:
                event = ""
                for line in answer.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event:
                        self.events.append((event, json.loads(line.split(":", 1)[1])))
        except BaseException as exc:  # the test asserts on it
            self.failure = exc

    def ids(self, seconds: float = 30) -> tuple[str, int]:
        start = until(lambda: next((data for name, data in self.events if name == "start"), None), seconds)
        return start["conversation_id"], start["message_id"]

    def text_streamed(self) -> str:
        return "".join(data["content"] for name, data in self.events if name == "delta")

    def deltas(self) -> int:
        return sum(1 for name, _ in self.events if name == "delta")

    def join(self, seconds: float) -> None:
        assert self.thread is not None
        self.thread.join(seconds)
        assert not self.thread.is_alive(), f"the stream did not end within {seconds} s: {self.events[-3:]}"


def until(probe: Any, seconds: float, pause: float = 0.05) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(pause)
    raise AssertionError(f"not within {seconds} s")
