"""``chatdash lm serve``: the configured GGUF behind an OpenAI-compatible HTTP API, via ``llama_cpp.server``.

We configure llama-cpp-python's server rather than write one. Two settings matter:

- ``interrupt_requests`` is off. Its default (on) makes a new request cut the running stream short,
  which with several concurrent chats (seen here at 4 streams) truncates replies mid-sentence.
- The model runs with the same file, context size, threads and logits settings as the embedded
  provider, and the same name (``CHATDASH_LLM_MODEL``) that ``openai_compat`` sends, so the split
  deployment answers like the embedded one. (Prompt log-probabilities are therefore not served.)

The server does not batch: concurrent requests take turns on one model (about 47 tokens/s for one
stream on 2 idle cores), so scale it by running more replicas behind a load balancer.

``running_server`` starts it as a subprocess on a free loopback port, for tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import IO, Any

from chatdash.config import Settings
from chatdash.errors import ModelNotFound, ModelUnavailable
from chatdash.llm import gguf


def create_app(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080) -> Any:
    """The ``llama_cpp.server`` FastAPI app on the configured model (loaded now)."""
    from llama_cpp.server.app import create_app as llama_create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    path = gguf.model_path(settings)
    threads = gguf.thread_count(settings)
    server_settings = ServerSettings(
        host=host,
        port=port,
        interrupt_requests=False,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
    )
    model_settings = ModelSettings(
        model=str(path),
        model_alias=settings.llm_model,
        n_ctx=settings.llm_context,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,  # as embedded: its default (True) costs ~10-20 % of prompt time, for logprobs only
        verbose=False,
    )
    try:
        return llama_create_app(server_settings=server_settings, model_settings=[model_settings])
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelNotFound(f"llama.cpp cannot load {path} ({exc}); check CHATDASH_LLM_MODEL_PATH") from exc


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    import uvicorn

    app = create_app(settings, host=host, port=port)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str] | None = None, *, port: int | None = None, ready_timeout: float = 60.0
) -> Iterator[str]:
    """Run ``chatdash lm serve`` in a subprocess on loopback; yields its base URL (``.../v1``).

    ``env`` adds ``CHATDASH_*`` variables for the server. The server is stopped (then killed, if it
    does not stop) when the block ends, so no test or benchmark leaves it running.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-c", "from chatdash.cli import main; main()"]
    command += ["lm", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # A file, not a pipe: a pipe nobody reads fills up and then blocks the server mid-request.
    with tempfile.TemporaryFile() as log:
        environment = {**os.environ, **(env or {})}
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_until_ready(process, log, base_url, ready_timeout, environment.get("CHATDASH_LLM_API_KEY"))
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(
    process: subprocess.Popen[bytes], log: IO[bytes], base_url: str, timeout: float, key: str | None
) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{base_url}/models")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            error = log.read().decode(errors="replace")
            raise ModelUnavailable(f"`chatdash lm serve` exited with {process.returncode}: {error[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise ModelUnavailable(f"`chatdash lm serve` did not answer at {base_url} within {timeout:.0f} s")
