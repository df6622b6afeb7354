"""Ctrl-C stops what `make run` starts cleanly: `chatdash serve` and `chatdash dashboard`, real processes,
get SIGINT as a terminal sends it (to their whole process group) and exit 0 without "Aborted!", so make
reports no error. (The dashboard used to end "Aborted!" with status 1: uvicorn re-raises the Ctrl-C it
caught, and Streamlit's command line turned that into an error.)"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import wait_healthy
from tests.e2e.test_dashboard_browser import CHATDASH, free_port

pytestmark = pytest.mark.timeout(180)


def restore_sigint() -> None:
    """The child takes Ctrl-C as from a terminal, even where the test runner's own is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("command", "health"), [("serve", "/healthz"), ("dashboard", "/_stcore/health")])
def test_ctrl_c_stops_cleanly(tmp_path: Path, command: str, health: str) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {"CHATDASH_VAR_DIR": str(tmp_path / "var"), "CHATDASH_LLM_PROVIDER": "scripted"}
    env["CHATDASH_ALLOW_SCRIPTED_MODEL"] = "true"
    subprocess.run([CHATDASH, "init", "--rows", "0"], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / f"{command}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CHATDASH, command, "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=restore_sigint,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}{health}", process, log)
        os.killpg(process.pid, signal.SIGINT)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert status == 0, output
    assert "Aborted" not in output and "Traceback" not in output, output
