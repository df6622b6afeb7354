"""OTLP export to a real receiver: Arize Phoenix (``phoenix serve``, from its own virtualenv made by
``make phoenix`` from requirements-phoenix.lock) takes what the trace writer exports, and its REST API
shows the spans with our ids, times, tree and attributes, and the chat as a session.

Skips, naming what is missing, only when Phoenix is not installed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatdash.chat import users
from chatdash.config import load_settings
from chatdash.tracing import writer_for
from tests.conftest import Database
from tests.unit.test_tracing_records import QUESTION, REPLY, sample_trace

pytestmark = pytest.mark.timeout(300)

PHOENIX = Path(__file__).resolve().parents[2] / ".venv" / "phoenix" / "bin" / "phoenix"
PROJECT = "chatdash"  # the exporter's openinference.project.name
START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server on free local ports with a fresh working folder; its base URL."""
    if not PHOENIX.exists():
        pytest.skip(
            f"Arize Phoenix (the OTLP receiver) is not installed at {PHOENIX}: `make phoenix` installs it "
            "from requirements-phoenix.lock (PyPI package arize-phoenix)"
        )
    folder = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("CHATDASH_", "PHOENIX_"))
    }
    env |= {
        "PHOENIX_WORKING_DIR": str(folder),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (folder / "phoenix.log").open("wb")
    server = subprocess.Popen(
        [str(PHOENIX), "serve"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"phoenix serve exited ({server.returncode}):\n{_tail(folder / 'phoenix.log')}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"phoenix serve did not answer in {START_SECONDS} s:\n{_tail(folder / 'phoenix.log')}"
                )
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def phoenix_spans(url: str, trace_id: str, expected: int) -> list[dict[str, Any]]:
    """The trace's spans as Phoenix's REST API lists them, once it has ingested all ``expected``."""
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(f"{url}/v1/projects/{PROJECT}/spans", params={"trace_id": trace_id}, timeout=10)
        data: list[dict[str, Any]] = answer.json().get("data", []) if answer.status_code == 200 else []
        if len(data) >= expected:
            return data
        assert time.monotonic() < deadline, (
            f"Phoenix has {len(data)} of {expected} spans: {answer.text[:500]}"
        )
        time.sleep(0.3)


def test_traces_written_are_exported_to_phoenix_with_their_ids_and_conventions(
    database: Database, phoenix: str
) -> None:
    alice = users.create_user(database.engine, "alice", None).id
    writer = writer_for(database.engine, load_settings(tracing=True, otlp_endpoint=phoenix))
    assert writer is not None
    traces = [sample_trace(alice), sample_trace(alice, status="error")]
    traces[1].error = "ModelTimeout: no token within 60 s"
    traces[1].spans[2].status, traces[1].spans[2].error = "error", "ModelTimeout: no token within 60 s"
    for trace in traces:
        writer.record(trace)
    assert writer.close(timeout=60) and writer.written == 2

    trace = traces[0]
    spans = {span["context"]["span_id"]: span for span in phoenix_spans(phoenix, trace.id, 3)}
    assert set(spans) == {span.id for span in trace.spans}
    root, retrieve, llm = (spans[span.id] for span in trace.spans)
    assert {span["context"]["trace_id"] for span in spans.values()} == {trace.id}
    assert root["parent_id"] is None and retrieve["parent_id"] == llm["parent_id"] == trace.spans[0].id
    assert [root["span_kind"], retrieve["span_kind"], llm["span_kind"]] == ["CHAIN", "RETRIEVER", "LLM"]
    assert root["name"] == "chat" and root["status_code"] == "OK"
    started = trace.spans[2].started_at
    assert _moment(llm["start_time"]) == started.isoformat()  # our times, to the microsecond

    assert root["attributes"]["input.value"] == QUESTION and root["attributes"]["output.value"] == REPLY
    assert root["attributes"]["user.id"] == str(alice)
    assert root["attributes"]["session.id"] == trace.chat_id
    assert root["attributes"]["chatdash.trace.source"] == "api"
    assert root["attributes"]["chatdash.prompt.name"] == "chat-system"
    assert root["attributes"]["chatdash.prompt.version"] == 3
    attributes = llm["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "scripted"
    assert (
        attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"] == "smollm2-135m-instruct"
    )
    assert attributes["gen_ai.usage.input_tokens"] == 42 and attributes["gen_ai.usage.output_tokens"] == 17
    assert attributes["gen_ai.request.temperature"] == 0.2 and attributes["gen_ai.request.max_tokens"] == 256
    assert attributes["llm.token_count.prompt"] == 42 and attributes["llm.token_count.completion"] == 17
    assert attributes["llm.model_name"] == "smollm2-135m-instruct"
    assert attributes["llm.input_messages.1.message.content"] == QUESTION
    assert retrieve["attributes"]["retrieval.documents.0.document.id"] == "doc-1"

    failed = {span["context"]["span_id"]: span for span in phoenix_spans(phoenix, traces[1].id, 3)}
    assert failed[traces[1].spans[0].id]["status_code"] == "ERROR"
    assert failed[traces[1].spans[2].id]["status_message"] == "ModelTimeout: no token within 60 s"

    sessions = httpx.get(f"{phoenix}/v1/projects/{PROJECT}/sessions", timeout=10).json()["data"]
    session = next(s for s in sessions if s["session_id"] == trace.chat_id)  # the chat, as Phoenix shows it
    assert [t["trace_id"] for t in session["traces"]] == [trace.id]
    assert session["token_count_total"] == 59


def _moment(text: str) -> str:
    """Phoenix's ISO time in Python's ``isoformat`` spelling."""
    return text.replace("Z", "+00:00")
