"""deploy/Dockerfile, deploy/entrypoint.sh and requirements-runtime.lock: linted, and checked for what a
lint cannot see. Nothing here builds or starts a container (no container engine on the test machines).

hadolint and shellcheck come from `make deploy-tools` (.venv/tools); without them those two tests skip.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
TOOLS = ROOT / ".venv" / "tools" / "bin"

# The roles, what each runs, and where its health check looks.
ROLES = {
    "web": (
        ["serve", "--role", "ui", "--host", "0.0.0.0", "--port", "8000"],
        ["http://127.0.0.1:8000/healthz"],
    ),
    "db-api": (
        ["serve", "--role", "db-api", "--host", "0.0.0.0", "--port", "8001"],
        ["http://127.0.0.1:8001/healthz"],
    ),
    "dashboard": (
        ["dashboard", "--host", "0.0.0.0", "--port", "8501", "--base-path", "/dashboard/"],
        ["http://127.0.0.1:8501/dashboard/_stcore/health"],
    ),
    "lm": (
        ["lm", "serve", "--host", "0.0.0.0", "--port", "8080"],
        ["http://127.0.0.1:8080/health", "http://127.0.0.1:8080/v1/models"],
    ),
    "migrate": (["init"], []),
}


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in .venv/tools: run `make deploy-tools`")
    return path


# --- the Dockerfile --------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, each list starting with its FROM."""
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_hadolint_passes() -> None:
    hadolint = tool("hadolint")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_final_stage_runs_unprivileged_with_a_health_check() -> None:
    final = stages()[-1]
    users = [arguments for word, arguments in final if word == "USER"]
    assert users, "the final stage has no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the final stage's USER is {users[-1]}"
    assert any(word == "HEALTHCHECK" and "NONE" not in arguments for word, arguments in final)
    entrypoint = [arguments for word, arguments in final if word == "ENTRYPOINT"]
    assert entrypoint and "chatdash-entrypoint" in entrypoint[-1]
    # No compiler or build tool in what ships.
    assert not any(
        word == "RUN" and re.search(r"build-essential|cmake|\bgcc\b|\bg\+\+", arguments)
        for word, arguments in final
    )


def test_every_base_image_is_pinned() -> None:
    names: set[str] = set()
    for stage in stages():
        arguments = stage[0][1].split()
        image = next(word for word in arguments if not word.startswith("--"))
        if "AS" in (word.upper() for word in arguments):
            names.add(arguments[-1].lower())
        if image.lower() in names - {arguments[-1].lower()} or image == "scratch":
            continue  # an earlier stage of this file
        reference, _, digest = image.partition("@")
        _, _, tag = reference.rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, f"{image}: not pinned by tag"
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{image}: not pinned by digest"


def test_the_image_installs_the_runtime_lock_portably() -> None:
    runs = " ".join(arguments for word, arguments in instructions() if word in ("RUN", "COPY"))
    assert "requirements-runtime.lock" in runs
    assert not re.search(r"(?<![\w-])requirements\.lock", runs), "the image must not install the dev lock"
    assert "--no-deps -r requirements-runtime.lock" in runs and "pip check" in runs
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF"' in runs  # llama-cpp-python for any x86-64, not the builder's
    assert "deploy/llama-server/build.sh /opt/llama" in runs
    assert any(
        word == "COPY" and "--from=" in arguments and "/usr/local/bin/llama-server" in arguments
        for word, arguments in stages()[-1]
    )


def test_the_build_context_lets_in_every_copied_file() -> None:
    rules = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", ".dockerignore should let in only what the image is built from"
    allowed = [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]
    for word, arguments in instructions():
        if word != "COPY" or "--from=" in arguments:
            continue
        sources = [part for part in shlex.split(arguments) if not part.startswith("--")][:-1]
        for source in sources:
            assert any(source == rule or source.startswith(rule + "/") for rule in allowed), (
                f"COPY {source}: excluded from the build context by .dockerignore"
            )
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


# --- the entrypoint -------------------------------------------------------------------------------


def test_shellcheck_passes() -> None:
    shellcheck = tool("shellcheck")
    result = subprocess.run(
        [str(shellcheck), "--shell=sh", str(ENTRYPOINT)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def stub_path(tmp_path: Path) -> Path:
    """A PATH folder whose `chatdash` records its arguments instead of running, and a `python`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    stub = folder / "chatdash"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$STUB_ARGS"\n', encoding="utf-8")
    stub.chmod(0o755)
    (folder / "python").symlink_to(sys.executable)
    return folder


def entrypoint(stub_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    tmp = stub_path.parent
    (tmp / "args").unlink(missing_ok=True)
    env = {
        "PATH": f"{stub_path}{os.pathsep}{os.environ.get('PATH', '')}",
        "STUB_ARGS": str(tmp / "args"),
        "TMPDIR": str(tmp),
    }
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, env=env, timeout=60
    )
    ran = (tmp / "args").read_text(encoding="utf-8").splitlines() if (tmp / "args").exists() else []
    return result, ran, tmp / "chatdash-health"


def case_arms() -> set[str]:
    """The roles the entrypoint's `case` knows."""
    arms = re.findall(r"^ {4}([a-z|\s-]+)\)$", ENTRYPOINT.read_text(encoding="utf-8"), re.MULTILINE)
    return {word.strip() for arm in arms for word in arm.split("|")}


def check_with_the_cli(args: list[str]) -> Any:
    """Parse ``chatdash ARGS`` with the real CLI (commands, options, types, ranges) without running it;
    the leaf command's context. (Typer carries a Click of its own: no ``click`` import here.)"""
    from chatdash.cli import app

    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "list_commands"):  # a group
        assert rest, f"chatdash {' '.join(args)}: a group, not a command"
        name = rest.pop(0)
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"chatdash has no command {' '.join(args[: len(args) - len(rest)])}"
        command = sub
    return command.make_context("chatdash", rest)


def test_the_cli_check_bites() -> None:
    assert check_with_the_cli(["lm", "serve", "--port", "8080"]).params["port"] == 8080
    with pytest.raises(AssertionError, match="chatdash has no command serve-all"):
        check_with_the_cli(["serve-all"])
    with pytest.raises(Exception, match="base-path"):
        check_with_the_cli(["serve", "--base-path", "/x/"])
    with pytest.raises(Exception, match="65535"):
        check_with_the_cli(["dashboard", "--port", "99999"])


def test_every_role_is_documented_and_checked_here() -> None:
    assert case_arms() == {*ROLES, "health", "chatdash", "-h", "--help", "help"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_runs_a_command_the_cli_has(stub_path: Path, role: str) -> None:
    expected, health_urls = ROLES[role]
    result, ran, health_file = entrypoint(stub_path, role)
    assert result.returncode == 0, result.stderr
    assert ran == expected
    context = check_with_the_cli(ran)
    assert context.command.name == (ran[1] if ran[0] == "lm" else ran[0])
    if ran[0] == "serve":
        from chatdash.chat.app import ROLES as SERVE_ROLES

        assert context.params["role"] in SERVE_ROLES
    if health_urls:
        assert health_file.read_text(encoding="utf-8").split() == health_urls
    else:
        assert not health_file.exists()


def test_migrate_passes_init_options_and_one_off_commands_pass_through(stub_path: Path) -> None:
    result, ran, _ = entrypoint(stub_path, "migrate", "--rows", "0")
    assert result.returncode == 0 and ran == ["init", "--rows", "0"]
    check_with_the_cli(ran)
    result, ran, _ = entrypoint(stub_path, "chatdash", "users", "list")
    assert result.returncode == 0 and ran == ["users", "list"]
    check_with_the_cli(ran)
    result, ran, _ = entrypoint(stub_path)  # no command: the image's CMD is `web`, and so is this
    assert ran == ROLES["web"][0]


@pytest.mark.parametrize("args", [("web", "--port", "9000"), ("nonsense",)])
def test_a_wrong_command_is_refused(stub_path: Path, args: tuple[str, ...]) -> None:
    result, ran, _ = entrypoint(stub_path, *args)
    assert result.returncode == 64 and not ran
    assert "usage: chatdash-entrypoint" in result.stderr


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503 if self.path == "/down" else 200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_health_probes_what_the_role_wrote(stub_path: Path, local_server: str) -> None:
    health_file = stub_path.parent / "chatdash-health"
    result, _, _ = entrypoint(stub_path, "health")
    assert result.returncode == 0  # nothing written: a one-off command, nothing to probe
    health_file.write_text(f"{local_server}/down\n", encoding="utf-8")
    result, _, _ = entrypoint(stub_path, "health")
    assert result.returncode == 1 and "HTTP Error 503" in result.stdout
    health_file.write_text(f"{local_server}/down\n{local_server}/v1/models\n", encoding="utf-8")
    result, _, _ = entrypoint(stub_path, "health")
    assert result.returncode == 0, result.stdout + result.stderr


# --- requirements-runtime.lock --------------------------------------------------------------------


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.split(";", 1)[0].partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            found[canonicalize_name(name.split("[")[0])] = version.strip()
    return found


def runtime_requirements() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in pyproject["project"]["dependencies"]]


VENV_OWN = {"pip", "setuptools"}
"""What `python -m venv` installs itself (``llm`` asks for both): pip-compile leaves them out of either
lock as "unsafe", so they have no pin to compare."""


def runtime_closure() -> set[str]:
    """Every distribution the runtime dependencies need on this platform (Linux, CPython 3.11, as in
    the image), read from the installed metadata (.venv is installed from requirements.lock), but
    ``VENV_OWN``."""
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    todo = [(requirement, "") for requirement in runtime_requirements()]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        names.add(name)
        for wanted in {"", *requirement.extras}:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                requires = importlib.metadata.requires(requirement.name) or []
            except importlib.metadata.PackageNotFoundError:
                pytest.skip(f"{requirement.name} is not installed: run `make install`")
            todo.extend((Requirement(text), wanted) for text in requires)
    return names - VENV_OWN


def test_runtime_lock_pins_what_the_dev_lock_pins() -> None:
    full, runtime = pins(LOCK), pins(RUNTIME_LOCK)
    differ = {
        name: (version, full.get(name)) for name, version in runtime.items() if full.get(name) != version
    }
    assert not differ, f"requirements-runtime.lock differs from requirements.lock (runtime, dev): {differ}"


def test_runtime_lock_has_every_runtime_dependency_and_nothing_else() -> None:
    runtime = set(pins(RUNTIME_LOCK))
    direct = {canonicalize_name(requirement.name) for requirement in runtime_requirements()}
    regenerate = "regenerate it with the command in its header"
    assert not direct - runtime, f"requirements-runtime.lock lacks {sorted(direct - runtime)}: {regenerate}"
    closure = runtime_closure()
    assert not closure - runtime, f"requirements-runtime.lock lacks {sorted(closure - runtime)}: {regenerate}"
    assert not runtime - closure, f"not runtime dependencies: {sorted(runtime - closure)}: {regenerate}"
