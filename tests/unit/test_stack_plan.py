"""The stack's plan (which parts, which ports, which settings) and its nginx file, checked by nginx."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chatdash.config import Settings
from chatdash.stack import StackOptions, plan
from chatdash.stack import nginx as stack_nginx

SECRETS = {"session_secret": "s" * 64, "db_api_key": "k" * 43}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_bare_machine_gets_every_part_on_the_designed_ports(tmp_path: Path) -> None:
    topology = plan(settings(), StackOptions(var_dir=tmp_path), SECRETS)
    ports = {c.name: c.port for c in topology.components}
    assert ports == {
        "postgres": 5433,
        "redis": 6380,
        "lm": 8080,
        "db-api": 8001,
        "web-1": 8000,
        "web-2": 8002,
        "dashboard": 8501,
        "nginx": 8088,
    }
    env = topology.app_env
    assert env["CHATDASH_ENVIRONMENT"] == "production"
    assert env["CHATDASH_DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5433/chatdash"
    assert env["CHATDASH_LLM_BASE_URL"] == "http://127.0.0.1:8080/v1"
    assert env["CHATDASH_MEMORY"] == "false"  # no Qdrant server: no replica holds a memory of its own
    assert env["CHATDASH_TRUSTED_PROXIES"] == "127.0.0.1"
    assert topology.get("web-2").env["CHATDASH_DB_API_URL"] == "http://127.0.0.1:8001"
    assert "--role" in topology.get("web-1").argv and "ui" in topology.get("web-1").argv
    assert topology.entry_url == "http://127.0.0.1:8088/"


def test_servers_named_in_settings_are_used_not_started(tmp_path: Path) -> None:
    given = settings(
        database_url="postgresql+psycopg://app@db.internal/chatdash",
        redis_url="redis://cache:6379/0",
        llm_base_url="http://gpu:8000/v1",
        qdrant_url="http://qdrant:6333",
    )
    topology = plan(given, StackOptions(var_dir=tmp_path, port_offset=100, web_replicas=3), SECRETS)
    names = [c.name for c in topology.components]
    assert names == ["db-api", "web-1", "web-2", "web-3", "dashboard", "nginx"]
    assert [topology.get(f"web-{i}").port for i in (1, 2, 3)] == [8100, 8102, 8103]
    assert topology.app_env["CHATDASH_LLM_BASE_URL"] == "http://gpu:8000/v1"
    assert topology.app_env["CHATDASH_QDRANT_URL"] == "http://qdrant:6333"
    assert "CHATDASH_MEMORY" not in topology.app_env


def test_the_scripted_model_only_when_asked_and_then_allowed_explicitly(tmp_path: Path) -> None:
    topology = plan(settings(), StackOptions(var_dir=tmp_path, scripted_model=True), SECRETS)
    assert "lm" not in [c.name for c in topology.components]
    assert topology.app_env["CHATDASH_LLM_PROVIDER"] == "scripted"
    assert topology.app_env["CHATDASH_ALLOW_SCRIPTED_MODEL"] == "true"


def test_the_nginx_template_is_filled_in_and_nginx_accepts_it(tmp_path: Path) -> None:
    block = stack_nginx.server_block(
        "127.0.0.1:18088", ["127.0.0.1:1", "127.0.0.1:2"], "127.0.0.1:3", "/x.log"
    )
    assert "${" not in block  # every placeholder filled
    assert "server 127.0.0.1:1 max_fails=1" in block and "server 127.0.0.1:2 max_fails=1" in block
    assert "$request_id" in block and "$remote_addr" in block  # nginx's own variables untouched
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.skip("nginx is not installed (Debian package: nginx)")
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.parent.mkdir()
    stack_nginx.write_config(
        conf, tmp_path / "log", "127.0.0.1:18088", ["127.0.0.1:1", "127.0.0.1:2"], "127.0.0.1:3"
    )
    checked = subprocess.run(
        [binary, "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
