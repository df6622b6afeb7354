"""``chatdash lm serve``: the configured GGUF behind an OpenAI-compatible HTTP API, served by llama.cpp's
own server, ``llama-server``.

``llama-server`` batches: it keeps ``CHATDASH_LLM_PARALLEL`` slots and decodes every running request in
one batch per step (continuous batching: a request joins or leaves the batch between steps). On the
bundled model, 16 concurrent chats get several times the aggregate tokens/s, and a far shorter wait for
their first token, than with ``llama_cpp.server`` (which this module ran before, and which decodes one
request at a time); see ``chatdash bench llm``. It is built from the llama.cpp source that the pinned
llama-cpp-python vendors (``make llama-server``, or ``deploy/llama-server/build.sh`` in an image), so
the served and the embedded model run the same llama.cpp.

How we run it:

- Each slot keeps a full chat context: ``--ctx-size`` is ``CHATDASH_LLM_CONTEXT`` x slots.
- The file, threads (for generation and for prompts), model name (``--alias CHATDASH_LLM_MODEL``, what
  ``openai_compat`` sends) and the repeat penalty are the embedded provider's, so the split deployment
  answers like the embedded one.
- ``/metrics`` (Prometheus) is on: its ``llamacpp:requests_processing`` and ``llamacpp:requests_deferred``
  drive the Kubernetes autoscaler. The web UI and the ``/slots`` endpoint (which shows other users'
  prompts) are off.
- The API key, when set, reaches the server through its environment (``LLAMA_API_KEY``, the variable
  of ``--api-key``), not its command line, which every local user can read. ``/health`` stays open;
  every other endpoint, ``/metrics`` and ``/v1/models`` included, needs the key.
- ``serve`` replaces this process with the server (``os.execv``): signals, exit status and PID are the
  server's own, so a process manager or Kubernetes stops it directly.

``running_server`` starts it as a subprocess on a free loopback port, for tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NoReturn

from chatdash.config import Settings
from chatdash.errors import ConfigError, ModelUnavailable
from chatdash.llm import gguf
from chatdash.llm.providers.llamacpp import SAMPLING

BINARY = "llama-server"


def find_llama_server(configured: str | os.PathLike[str] | None = None) -> Path:
    """The ``llama-server`` binary: ``configured`` (``CHATDASH_LLAMA_SERVER``), else the one next to
    this Python (``make llama-server`` links it into ``.venv/bin``), else the first on ``PATH``."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigError(
            f"CHATDASH_LLAMA_SERVER points at {path}, which is not an executable file; build llama.cpp's "
            "server with `make llama-server` (or deploy/llama-server/build.sh) and point it there"
        )
    beside = Path(sys.executable).with_name(BINARY)
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(BINARY)
    if found:
        return Path(found)
    raise ConfigError(
        "llama-server (llama.cpp's server, which `chatdash lm serve` runs) is not installed: run "
        "`make llama-server` (builds it from the llama-cpp-python source and links it into .venv/bin), "
        "or set CHATDASH_LLAMA_SERVER to its path"
    )


def command(settings: Settings, *, host: str, port: int) -> list[str]:
    """The ``llama-server`` command line for ``settings`` (the binary found, the GGUF checked)."""
    binary = find_llama_server(settings.llama_server)
    threads = gguf.thread_count(settings)
    parallel = settings.llm_parallel
    return [
        str(binary),
        *("--model", str(gguf.model_path(settings))),
        *("--alias", settings.llm_model),
        *("--host", host, "--port", str(port)),
        *("--parallel", str(parallel), "--cont-batching"),
        *("--ctx-size", str(settings.llm_context * parallel)),
        *("--threads", str(threads), "--threads-batch", str(threads)),
        *("--repeat-penalty", str(SAMPLING["repeat_penalty"])),
        *("--metrics", "--no-slots", "--no-webui"),
    ]


def environment(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (default ours) with ``LLAMA_API_KEY`` set to our key, or
    removed when we have none (the server requires a key exactly when ``CHATDASH_LLM_API_KEY`` is set)."""
    env = dict(os.environ if base is None else base)
    env.pop("LLAMA_API_KEY", None)
    if settings.llm_api_key:
        env["LLAMA_API_KEY"] = settings.llm_api_key.get_secret_value()
    return env


def serve(
    settings: Settings, *, host: str, port: int, announce: Callable[[Path], None] | None = None
) -> NoReturn:
    """Become ``llama-server`` (``os.execv``) on the configured model until it is stopped.

    ``announce`` is called with the binary once everything is checked, just before the exec (the CLI
    says what it serves then, and not before an error).
    """
    argv = command(settings, host=host, port=port)
    if announce is not None:
        announce(Path(argv[0]))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, environment(settings))


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    ready_timeout: float = 60.0,
    llama_server_args: Sequence[str] | None = None,
) -> Iterator[str]:
    """Run ``chatdash lm serve`` in a subprocess on loopback; yields its base URL (``.../v1``).

    ``env`` adds ``CHATDASH_*`` variables for the server. With ``llama_server_args``, the ``llama-server``
    binary runs itself with exactly those arguments (plus loopback host and port) instead: what a
    benchmark compares ``chatdash lm serve`` against. A missing binary is a ``ConfigError`` raised here,
    before anything starts. The server is stopped (then killed, if it does not stop) when the block
    ends, so no test or benchmark leaves it running.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    environment = {**os.environ, **(env or {})}
    binary = find_llama_server(environment.get("CHATDASH_LLAMA_SERVER"))
    if llama_server_args is None:
        argv = [sys.executable, "-c", "from chatdash.cli import main; main()"]
        argv += ["lm", "serve", "--host", "127.0.0.1", "--port", str(port)]
        what = "`chatdash lm serve`"
        key = environment.get("CHATDASH_LLM_API_KEY")
    else:
        argv = [str(binary), *llama_server_args, "--host", "127.0.0.1", "--port", str(port)]
        what = "`llama-server`"
        key = environment.get("LLAMA_API_KEY")
    # A file, not a pipe: a pipe nobody reads fills up and then blocks the server mid-request.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(process, log, base_url, ready_timeout, key or None, what)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    log: IO[bytes],
    base_url: str,
    timeout: float,
    key: str | None,
    what: str,
) -> None:
    """Until ``/health`` says the model is loaded (503 while it loads) and ``/v1/models`` answers."""
    deadline = time.monotonic() + timeout
    root = base_url.removesuffix("/v1")
    models = urllib.request.Request(f"{base_url}/models")
    if key:
        models.add_header("Authorization", f"Bearer {key}")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise ModelUnavailable(f"{what} exited with {process.returncode}: {output[-2000:]}")
        try:
            for request in (urllib.request.Request(f"{root}/health"), models):
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status != 200:
                        raise ConnectionError(response.status)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise ModelUnavailable(f"{what} did not answer at {base_url} within {timeout:.0f} s")
