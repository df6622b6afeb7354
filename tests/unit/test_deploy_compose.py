"""deploy/compose.yml: valid against the Compose Specification's schema, and the stack's rules that a schema
cannot see (one way in, no default secrets, only real settings, health before dependants). Nothing is
built or started: no container engine runs on the test machines.

The schema is vendored in tests/data/compose-spec.json (its `$comment` says where from). `docker-compose
config` runs too where a compose client is installed (Debian: `apt-get install docker-compose`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from chatdash.config import SETTING_FIELDS
from tests.unit.test_deploy_image import ROLES as IMAGE_ROLES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
NGINX_CONF = DEPLOY / "nginx.conf"
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"

SECRET_NAME = re.compile(r"SECRET|KEY|PASSWORD|TOKEN|AUTH")
_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution (``$$``, ``${X}``, ``${X:-default}``, ``${X:?message}`` ...)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg, current = match.group("op"), match.group("arg"), env.get(name)
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise MissingVariable(f"{name}: {arg}")
        if (op == ":-" and not current) or (op == "-" and current is None):
            return str(arg)
        return current or ""

    return _VARIABLE.sub(substitute, value)


def raw() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def compose_text() -> str:
    """The compose file's strings (not its comments), where variables are substituted."""
    return "\n".join(strings(raw()))


def required_variables() -> set[str]:
    """Every ``${NAME:?...}`` of the compose file."""
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*):\?", compose_text()))


def dummy_env() -> dict[str, str]:
    return {name: f"dummy-{name.lower().replace('_', '-')}" for name in required_variables()}


def compose() -> dict[str, Any]:
    """The compose file as compose reads it, with dummy values for the secrets."""
    document = interpolate(raw(), dummy_env())
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def chatdash_services() -> dict[str, dict[str, Any]]:
    """The services that run the chatdash image (deploy/Dockerfile)."""
    return {
        name: service
        for name, service in services().items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def network_names(service: Mapping[str, Any]) -> set[str]:
    return set(service.get("networks") or {"default"})


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def test_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert "draft/2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_only_nginx_is_reachable_from_outside() -> None:
    networks = compose()["networks"]
    assert networks["internal"].get("internal") is True
    assert not networks["public"].get("internal")
    for name, service in services().items():
        assert "network_mode" not in service, name
        if name == "nginx":
            assert network_names(service) == {"public", "internal"}
            assert service["ports"]
        else:
            assert "ports" not in service, f"{name} publishes a port: only nginx may"
            assert network_names(service) == {"internal"}, f"{name} must be on the internal network only"


def test_no_secret_has_a_default() -> None:
    references = re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*)(:?[-?])?", compose_text())
    for name, op in references:
        if SECRET_NAME.search(name):
            assert op == ":?", f"${{{name}}} must be required (${{{name}:?...}}), never defaulted"
    for name, service in raw()["services"].items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                assert re.fullmatch(r"\$\{[A-Za-z_]\w*:\?[^}]+\}", value), (
                    f"{name}: {variable} must come from deploy/.env as ${{NAME:?...}}, not {value!r}"
                )
    for secret in (
        "CHATDASH_SESSION_SECRET",
        "CHATDASH_DB_API_KEY",
        "CHATDASH_LLM_API_KEY",
        "POSTGRES_PASSWORD",
    ):
        assert secret in required_variables()
    for name in required_variables():  # each one alone missing stops compose
        env = dummy_env()
        del env[name]
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw(), env)


def test_env_example_documents_every_secret_and_fills_in_none() -> None:
    documented: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            documented[name.strip()] = value.strip()
    assert set(documented) == required_variables()
    assert not any(documented.values()), "deploy/.env.example must not carry a secret's value"
    # Every other variable compose reads is there too, commented out with its meaning.
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name in set(re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*)", compose_text())):
        assert re.search(rf"^#? ?{name}=", text, re.MULTILINE), f"deploy/.env.example does not mention {name}"


def test_chatdash_variables_are_real_settings() -> None:
    for name, service in services().items():
        if name == "nginx":
            continue
        unknown = [
            variable
            for variable in environment(service)
            if variable.startswith("CHATDASH_")
            and variable.removeprefix("CHATDASH_").lower() not in SETTING_FIELDS
        ]
        assert not unknown, f"{name}: not settings of src/chatdash/config.py: {unknown}"
    for name, service in chatdash_services().items():
        assert environment(service)["CHATDASH_ENVIRONMENT"] == "production", name


def test_nginx_fills_exactly_the_templates_placeholders() -> None:
    nginx = services()["nginx"]
    mounts = nginx["volumes"]
    assert "./nginx.conf:/etc/nginx/templates/default.conf.template:ro" in mounts
    placeholders = set(re.findall(r"\$\{(CHATDASH_[A-Z_]+)\}", NGINX_CONF.read_text(encoding="utf-8")))
    assert set(environment(nginx)) == placeholders
    assert environment(nginx)["CHATDASH_WEB_SERVERS"].startswith("server web:8000")


def test_the_app_trusts_forwarded_headers_from_nginx_only() -> None:
    nginx_address = services()["nginx"]["networks"]["internal"]["ipv4_address"]
    subnet = compose()["networks"]["internal"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(nginx_address) in ipaddress.ip_network(subnet)
    for name, service in services().items():
        trusted = environment(service).get("CHATDASH_TRUSTED_PROXIES")
        if trusted is not None:
            assert trusted == nginx_address, name


def test_service_addresses_name_services_of_this_file() -> None:
    url = re.compile(r"^(?:https?|redis|postgresql\+psycopg)://(?:[^@/]*@)?(?P<host>[^:/]+)")
    names = set(services())
    for name, service in chatdash_services().items():
        for variable, value in environment(service).items():
            found = url.match(value)
            if found:
                assert found.group("host") in names, f"{name}: {variable}={value} names no service"


def test_health_comes_before_dependants() -> None:
    all_services = services()
    for name in ("postgres", "redis", "qdrant"):
        assert all_services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "pg_isready" in all_services["postgres"]["healthcheck"]["test"]
    image_checked = set(chatdash_services())  # the image's HEALTHCHECK (test_deploy_image checks it)
    for name, service in all_services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for target, how in depends.items():
            assert target in all_services, f"{name} depends on {target}, which is not a service"
            if how["condition"] == "service_healthy":
                assert target in image_checked or all_services[target].get("healthcheck"), (
                    f"{name} waits for {target} to be healthy, which has no health check"
                )
    for name in ("web", "db-api", "dashboard"):
        assert all_services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert all_services["migrate"]["restart"] == "no"  # a one-shot, not a loop


def test_roles_replicas_and_images() -> None:
    all_services = services()
    mine = chatdash_services()
    assert set(mine) == {"web", "db-api", "dashboard", "lm", "migrate"}
    for name, service in mine.items():
        assert service["build"]["context"] == ".."
        assert service["command"][0] in IMAGE_ROLES, f"{name}: {service['command']} is no role of the image"
    assert all_services["web"]["deploy"]["replicas"] == 2
    for name, service in all_services.items():
        if name in mine:
            continue
        image = service["image"]
        tag = image.rpartition(":")[2]
        assert "/" not in tag and re.search(r"\d", tag) and tag != "latest", f"{name}: {image} is not pinned"
    qwen = all_services["lm-qwen"]
    assert qwen["profiles"] == ["qwen"] and qwen["image"].startswith("ghcr.io/ggml-org/llama.cpp:server")
    command = qwen["command"]
    for flag, value in (("-c", "1024"), ("-n", "512"), ("--parallel", "4")):
        assert command[command.index(flag) + 1] == value


# --- a real compose client, where one is installed -----------------------------------------------------


def compose_client() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    pytest.skip("no compose client: install Debian's docker-compose (apt-get install docker-compose)")


def run_client(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Only the env file speaks: a caller's CHATDASH_* or POSTGRES_PASSWORD would win over it.
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(env_file.parent)}
    return subprocess.run(
        [*compose_client(), "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
        env=environ,
        timeout=120,
    )


def test_the_compose_client_accepts_it(tmp_path: Path) -> None:
    env_file = tmp_path / "dummy.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in dummy_env().items()), encoding="utf-8")
    result = run_client(env_file, "config")
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(services()) - {"lm-qwen"} <= set(rendered["services"])  # 1.29 lists profiles' services too
    result = run_client(env_file, "--profile", "qwen", "config", "--services")
    assert result.returncode == 0, result.stderr
    assert "lm-qwen" in result.stdout.split()


def test_the_compose_client_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    env_file = tmp_path / "empty.env"
    env_file.write_text("", encoding="utf-8")
    result = run_client(env_file, "config")
    assert result.returncode != 0
    assert "set it in deploy/.env" in result.stdout + result.stderr
