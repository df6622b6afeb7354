"""chatdash as an OpenAI model: the official ``openai`` client against a real ``chatdash serve`` with the
real bundled model and loaded sales data, streaming included. The figure the reply leads with is the
database's, computed here independently with Polars over the same generated rows."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openai
import polars as pl
import pytest

from chatdash.sales import format_figure
from chatdash.sales.generator import generate_frame
from tests.faults.servers import Process, chatdash_serve

ROWS, SEED = 5_000, 11
CHATDASH = str(Path(sys.executable).with_name("chatdash"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, str]]:
    home = tmp_path_factory.mktemp("v1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_")}
    env |= {"CHATDASH_VAR_DIR": str(home / "var"), "CHATDASH_API_RATE_LIMIT": "1000/second"}
    env |= {"CHATDASH_SESSION_SECRET": "v1-" + "s" * 40}
    init = [CHATDASH, "init", "--rows", str(ROWS), "--seed", str(SEED)]
    subprocess.run(init, env=env, check=True, capture_output=True)
    account = [CHATDASH, "users", "create", "alice", "--password-stdin"]
    subprocess.run(account, env=env, input=b"long enough password\n", check=True, capture_output=True)
    made = subprocess.run([CHATDASH, "keys", "create", "v1", "--user", "alice"], env=env, capture_output=True)
    app = chatdash_serve(env, home / "app.log")
    app.start(seconds=120)
    try:
        yield app, made.stdout.decode().split()[-1]
    finally:
        app.stop()


def client(served: tuple[Process, str], key: str | None = None) -> openai.OpenAI:
    app, token = served
    return openai.OpenAI(base_url=app.url + "/v1", api_key=key or token, max_retries=0, timeout=120)


def revenue_2024() -> str:
    frame = generate_frame(ROWS, SEED).filter(pl.col("order_date").dt.year() == 2024)
    return format_figure(Decimal(int(frame["total_cents"].sum())).scaleb(-2))


def test_models_lists_chatdash(served: tuple[Process, str]) -> None:
    assert [m.id for m in client(served).models.list()] == ["chatdash"]


def test_a_completion_leads_with_the_databases_figure(served: tuple[Process, str]) -> None:
    messages: list[dict[str, str]] = [
        {"role": "system", "content": "You are terse."},  # left out: chatdash writes the prompt
        {"role": "user", "content": "how much revenue did we make in 2024?"},
    ]
    reply = client(served).chat.completions.create(model="chatdash", messages=messages)  # type: ignore[arg-type]
    text = reply.choices[0].message.content or ""
    assert revenue_2024() in text, text
    assert reply.choices[0].finish_reason == "stop" and reply.usage and reply.usage.completion_tokens > 0


def test_a_streamed_completion_arrives_in_chunks(served: tuple[Process, str]) -> None:
    stream = client(served).chat.completions.create(
        model="chatdash",
        messages=[{"role": "user", "content": "and what was the revenue in 2024, please?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert revenue_2024() in text, text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_a_wrong_key_and_a_bad_request_are_the_clients_errors(served: tuple[Process, str]) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(served, key="cd_wrong").chat.completions.create(
            model="chatdash", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.UnprocessableEntityError, match="last message must be the user's"):
        client(served).chat.completions.create(
            model="chatdash", messages=[{"role": "assistant", "content": "hi"}]
        )
