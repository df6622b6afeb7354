"""Real `chatdash` processes for the browser tests: started with their output in a log, stopped for
sure (terminate, then kill), and waited for until their health check answers."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def running(args: list[str], env: dict[str, str], home: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 120, body: bytes | None = None
) -> None:
    """Until ``url`` answers (with ``body``, when given); fails with the log if the process exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{' '.join(map(str, process.args))} exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if body is None or response.read() == body:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no answer from {url} within {seconds} s:\n{log.read_text()}")
