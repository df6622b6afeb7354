"""Start, check and stop the stack's processes; remember what was started in a state file.

Each process runs detached (its own session, so ``up`` returns and a terminal's Ctrl-C does not reach
it), with stdout and stderr in ``<VAR_DIR>/log/NAME.log``. The state file names each one's pid and
start time; a pid counts as ours only while ``/proc`` shows that start time, so a pid reused by another
program is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chatdash.config import Settings
from chatdash.errors import ConfigError
from chatdash.stack import nginx
from chatdash.stack.plan import Component, StackOptions, Topology, nginx_conf, plan
from chatdash.stack.postgres import Cluster

STOP_GRACE_SECONDS = 30.0
"""How long ``down`` waits after SIGTERM (web replicas finish their replies meanwhile) before SIGKILL."""


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    pid: int | None
    running: bool
    url: str
    health: str
    """``ok``, an HTTP status, or why it did not answer."""
    ready: str

    @property
    def healthy(self) -> bool:
        return self.running and self.health == "ok" and self.ready in ("ok", "")


def _probe(url: str, timeout: float = 2.0) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return "ok" if response.status == 200 else str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, ConnectionRefusedError):
            return "refused"
        return "timeout" if isinstance(reason, TimeoutError) else type(reason).__name__


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _started_at(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat``), None once it is gone or
    a zombie: with the pid, it names one process for good (a reused pid starts later)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return None if fields[0] == "Z" else int(fields[19])


class Stack:
    def __init__(self, settings: Settings, options: StackOptions) -> None:
        self.options = replace(options, var_dir=options.var_dir.resolve())
        self.var = self.options.var_dir
        self.log_dir = self.var / "log"
        self.state_file = self.var / "stack" / "state.json"
        self.topology: Topology = plan(settings, self.options, self._secrets())

    # -- state -------------------------------------------------------------------------------

    @staticmethod
    def last_options(var_dir: Path) -> StackOptions:
        """The options of the last ``up`` in ``var_dir`` (defaults when there was none)."""
        try:
            saved = json.loads((var_dir / "stack" / "options.json").read_text())
        except (OSError, ValueError):
            return StackOptions(var_dir=var_dir)
        return StackOptions(var_dir=var_dir, **{k: v for k, v in saved.items() if k != "var_dir"})

    def _save_options(self) -> None:
        path = self.var / "stack" / "options.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: v for k, v in asdict(self.options).items() if k != "var_dir"}))

    def _secrets(self) -> dict[str, str]:
        """Made once per ``<VAR_DIR>``, readable by its owner only, kept between ``down`` and ``up``."""
        path = self.var / "stack" / "secrets.json"
        if path.exists():
            kept: dict[str, str] = json.loads(path.read_text())
            return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        made = {"session_secret": secrets.token_urlsafe(48), "db_api_key": secrets.token_urlsafe(32)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made, out)
        return made

    def state(self) -> dict[str, dict[str, Any]]:
        try:
            loaded: dict[str, dict[str, Any]] = json.loads(self.state_file.read_text())
            return loaded
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.state_file)

    def _cluster(self, component: Component) -> Cluster:
        return Cluster(self.var / "pg", component.port, self.log_dir / "postgres.log")

    def alive(self, name: str) -> int | None:
        """The pid of this component as ``up`` started it, if that process still runs."""
        entry = self.state().get(name)
        if not entry:
            return None
        if entry.get("kind") == "postgres":
            cluster = self._cluster(self.topology.get(name))
            return cluster.pid() if cluster.running() else None
        pid, started = int(entry["pid"]), _started_at(int(entry["pid"]))
        return pid if started is not None and started == entry.get("started_at") else None

    # -- up ----------------------------------------------------------------------------------

    def up(self, say: Callable[[str], None], timeout: float = 240.0) -> list[Status]:
        """Start every component that is not running, wait until each answers, and report them."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._save_options()
        state = self.state()
        started: list[Component] = []
        for component in self.topology.components:
            if self.alive(component.name):
                say(f"{component.name}: already running")
                continue
            if component.kind == "postgres":
                say(
                    f"{component.name}: starting the cluster under {self.var / 'pg'} on port {component.port}"
                )
                cluster = self._cluster(component)
                cluster.start()
                state[component.name] = {"kind": "postgres", "pid": cluster.pid()}
                self._save(state)
                self._init(say)
                continue
            if component.name == "nginx":
                web = [f"127.0.0.1:{c.port}" for c in self.topology.components if c.name.startswith("web-")]
                dashboard = f"127.0.0.1:{self.topology.get('dashboard').port}"
                nginx.write_config(
                    nginx_conf(self.var), self.log_dir, f"127.0.0.1:{component.port}", web, dashboard
                )
            if _listening(component.port):
                raise ConfigError(
                    f"port {component.port} (for {component.name}) is taken by a process this stack did not "
                    "start: stop it, or move the stack with --port-offset"
                )
            pid = self._spawn(component)
            state[component.name] = {"kind": "process", "pid": pid, "started_at": _started_at(pid)}
            self._save(state)
            started.append(component)
            say(
                f"{component.name}: started on port {component.port} "
                f"(log: {self.log_dir / component.name}.log)"
            )
            if component.name == "redis":
                self._wait([component], timeout)
        if "postgres" not in state and not any(c.kind == "postgres" for c in self.topology.components):
            self._init(say)
        self._wait(started, timeout)
        return self.status()

    def _init(self, say: Callable[[str], None]) -> None:
        """Migrate, push the prompts and load the orders into an empty database: ``chatdash init``."""
        say(f"init: migrating and loading {self.options.rows} orders if the database is empty")
        argv = [*self.topology.get("db-api").argv[:1], "init", "--rows", str(self.options.rows)]
        done = subprocess.run(
            argv,
            env=self._env(self.topology.get("db-api")),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        (self.log_dir / "init.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise ConfigError(
                f"`chatdash init` failed (log: {self.log_dir / 'init.log'}): {done.stderr.strip()[-600:]}"
            )

    def _env(self, component: Component) -> dict[str, str]:
        return {**os.environ, **self.topology.app_env, **component.env}

    def _spawn(self, component: Component) -> int:
        with (self.log_dir / f"{component.name}.log").open("ab") as log:
            process = subprocess.Popen(
                component.argv,
                env=self._env(component),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return process.pid

    def _wait(self, components: list[Component], timeout: float) -> None:
        """Until each answers its health path (or its port, without one); a clear error with its log's
        last lines when one exits or does not answer in time."""

        def wait_one(component: Component) -> str | None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self.alive(component.name):
                    return f"{component.name} exited"
                if component.health:
                    if _probe(component.url + component.health) == "ok":
                        return None
                elif _listening(component.port):
                    return None
                time.sleep(0.25)
            return f"{component.name} did not answer within {timeout:.0f} s"

        with ThreadPoolExecutor(max_workers=max(1, len(components))) as pool:
            failures = [
                (c, error)
                for c, error in zip(components, pool.map(wait_one, components), strict=True)
                if error
            ]
        if failures:
            lines = []
            for component, error in failures:
                log = self.log_dir / f"{component.name}.log"
                tail = log.read_text(errors="replace").strip().splitlines()[-12:] if log.exists() else []
                lines.append(f"{error} (log: {log}):\n    " + "\n    ".join(tail))
            raise ConfigError("the stack did not come up:\n" + "\n".join(lines))

    # -- status and down ---------------------------------------------------------------------

    def status(self) -> list[Status]:
        def one(component: Component) -> Status:
            pid = self.alive(component.name)
            if component.kind == "postgres" or not component.health:
                answer = "ok" if _listening(component.port) else "no answer"
                url = f"127.0.0.1:{component.port}"
                return Status(component.name, pid, pid is not None, url, answer, "")
            health = _probe(component.url + component.health)
            ready = _probe(component.url + component.ready) if component.ready else ""
            return Status(component.name, pid, pid is not None, component.url, health, ready)

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(one, self.topology.components))

    def stop(
        self, name: str, sig: signal.Signals = signal.SIGTERM, grace: float = STOP_GRACE_SECONDS
    ) -> bool:
        """Stop one component that ``up`` started (SIGTERM, then SIGKILL after ``grace``)."""
        pid = self.alive(name)
        state = self.state()
        entry = state.pop(name, None)
        if entry and entry.get("kind") == "postgres":
            self._cluster(self.topology.get(name)).stop()
        elif pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _started_at(pid):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            if _started_at(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self._save(state)
        return entry is not None

    def down(self, say: Callable[[str], None]) -> None:
        """Stop what ``up`` started, front to back (nginx first, the database last); nothing else."""
        known = self.state()
        for component in reversed(self.topology.components):
            if component.name in known:
                say(f"{component.name}: stopping")
                self.stop(component.name)
        for name in list(self.state()):  # started by an `up` with other options: still ours
            say(f"{name}: stopping")
            self.stop(name)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
