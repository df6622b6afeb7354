"""The stack's topology: components, ports and the settings each one runs with.

Ports are DESIGN.md's (web 8000, data API 8001, LM 8080, dashboard 8501, nginx 8088) plus
``port_offset``, so a second stack (a test's) can run beside a developer's. The second web replica
takes 8002; the throwaway PostgreSQL 5433 and Redis 6380 keep clear of the machine's own servers.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chatdash.config import Settings

Kind = Literal["process", "postgres"]


@dataclass(frozen=True, slots=True)
class StackOptions:
    """What ``chatdash stack up`` was asked for."""

    var_dir: Path
    port_offset: int = 0
    web_replicas: int = 2
    rows: int = 100_000
    """Synthetic orders loaded into an empty database on the first ``up``."""
    scripted_model: bool = False
    """Capacity runs only: the scripted stand-in model instead of the LM service (never the default)."""


@dataclass(frozen=True, slots=True)
class Component:
    """One process of the stack."""

    name: str
    argv: tuple[str, ...]
    port: int
    health: str
    """Path that answers 200 once the process serves (``/healthz``); status also asks ``ready``."""
    ready: str = ""
    env: dict[str, str] = field(default_factory=dict)
    kind: Kind = "process"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True, slots=True)
class Topology:
    """The components in start order, and the settings every app process shares."""

    components: tuple[Component, ...]
    app_env: dict[str, str]
    database_url: str
    entry_url: str

    def get(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)


def _chatdash(*args: str) -> tuple[str, ...]:
    """The ``chatdash`` beside this interpreter: a stack never mixes two installs."""
    beside = Path(sys.executable).with_name("chatdash")
    return (str(beside) if beside.exists() else shutil.which("chatdash") or "chatdash", *args)


def nginx_conf(var_dir: Path) -> Path:
    """The main file ``up`` writes and nginx runs from (``-c``; its folder is ``-p``)."""
    return var_dir / "stack" / "nginx" / "nginx.conf"


def plan(settings: Settings, options: StackOptions, secrets: dict[str, str]) -> Topology:
    """Every component ``up`` starts, given what the environment already provides."""
    offset = options.port_offset
    components: list[Component] = []

    database_url = settings.database_url
    if not database_url.startswith("postgresql"):
        port = 5433 + offset
        database_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/chatdash"
        components.append(Component("postgres", (), port, "", kind="postgres"))

    redis_url = settings.redis_url
    if not redis_url:
        port = 6380 + offset
        redis_url = f"redis://127.0.0.1:{port}/0"
        binary = shutil.which("redis-server") or "redis-server"
        argv: tuple[str, ...] = (
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        )
        components.append(Component("redis", argv, port, ""))

    llm_base_url = settings.llm_base_url
    if not llm_base_url and not options.scripted_model:
        port = 8080 + offset
        llm_base_url = f"http://127.0.0.1:{port}/v1"
        argv = _chatdash("lm", "serve", "--host", "127.0.0.1", "--port", str(port))
        components.append(Component("lm", argv, port, "/health"))

    api_port, nginx_port = 8001 + offset, 8088 + offset
    app_env = {
        "CHATDASH_ENVIRONMENT": "production",
        "CHATDASH_DATABASE_URL": database_url,
        "CHATDASH_REDIS_URL": redis_url,
        "CHATDASH_SESSION_SECRET": secrets["session_secret"],
        "CHATDASH_DB_API_KEY": secrets["db_api_key"],
        "CHATDASH_TRUSTED_PROXIES": "127.0.0.1",
        "CHATDASH_DASHBOARD_URL": "/dashboard/",
        "CHATDASH_CHAT_URL": "/",
        "CHATDASH_VAR_DIR": str(options.var_dir),
    }
    if options.scripted_model:
        app_env |= {"CHATDASH_LLM_PROVIDER": "scripted", "CHATDASH_ALLOW_SCRIPTED_MODEL": "true"}
    else:
        app_env["CHATDASH_LLM_BASE_URL"] = llm_base_url or ""
    if settings.qdrant_url:
        app_env["CHATDASH_QDRANT_URL"] = settings.qdrant_url
    else:
        # Qdrant's local folder opens in one process only: replicas without a server run without
        # vector memory rather than each with a memory of its own.
        app_env["CHATDASH_MEMORY"] = "false"

    serve = ("serve", "--host", "127.0.0.1")
    components.append(
        Component(
            "db-api",
            _chatdash(*serve, "--port", str(api_port), "--role", "db-api"),
            api_port,
            "/healthz",
            "/readyz",
        )
    )
    web_env = {"CHATDASH_DB_API_URL": f"http://127.0.0.1:{api_port}"}
    for replica in range(options.web_replicas):
        port = 8000 + offset + (0 if replica == 0 else replica + 1)  # 8000, 8002, 8003...
        argv = _chatdash(*serve, "--port", str(port), "--role", "ui")
        components.append(Component(f"web-{replica + 1}", argv, port, "/healthz", "/readyz", env=web_env))
    dashboard_port = 8501 + offset
    argv = _chatdash(
        "dashboard", "--host", "127.0.0.1", "--port", str(dashboard_port), "--base-path", "/dashboard/"
    )
    components.append(Component("dashboard", argv, dashboard_port, "/dashboard/_stcore/health"))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = nginx_conf(options.var_dir)
    argv = (nginx, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;")
    components.append(Component("nginx", argv, nginx_port, "/healthz", "/readyz"))
    return Topology(tuple(components), app_env, database_url, f"http://127.0.0.1:{nginx_port}/")
