"""`chatdash lm serve` for real: llama.cpp's llama-server on the bundled model, on a free loopback port,
reached with plain HTTP and with the `openai_compat` provider the chat uses.

The tests that need the server skip, saying to run `make llama-server`, when the binary is not built.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import Settings, get_settings
from chatdash.errors import ConfigError, ModelUnavailable
from chatdash.llm import Message, create, get_provider
from chatdash.llm.providers.openai_compat import OpenAICompatProvider
from chatdash.llm.server import find_llama_server, free_port, running_server

pytestmark = pytest.mark.timeout(180)

KEY = "test-key-123"
QUESTION = [Message.system("You are a helpful assistant."), Message.user("Name three office products.")]
SLOTS = 4


def llama_server_or_skip() -> None:
    try:
        find_llama_server(os.environ.get("CHATDASH_LLAMA_SERVER"))
    except ConfigError as exc:
        pytest.skip(str(exc))  # it says to run `make llama-server`


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    llama_server_or_skip()
    env = {
        "CHATDASH_LLM_CONTEXT": "512",
        "CHATDASH_LLM_PARALLEL": str(SLOTS),
        "CHATDASH_LLM_API_KEY": KEY,
        "CHATDASH_LLM_MODEL_PATH": "",
    }
    with running_server(env) as url:
        yield url


def provider_for(base_url: str, **options: object) -> OpenAICompatProvider:
    settings = Settings(llm_base_url=base_url, llm_api_key=KEY, llm_context=512, llm_model_path=None)
    provider = create("openai_compat", settings, **options)
    assert isinstance(provider, OpenAICompatProvider)
    return provider


def get(url: str, key: str | None = KEY) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(base_url: str, name: str) -> float:
    status, text = get(base_url.removesuffix("/v1") + "/metrics")
    assert status == 200, text
    found = re.search(rf"^llamacpp:{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert found, f"no llamacpp:{name} in /metrics"
    return float(found.group(1))


def test_the_server_answers_plain_http(base_url: str) -> None:
    """What `curl localhost:8080/v1/chat/completions` does."""
    body = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4, "temperature": 0}
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        reply = json.load(response)
    assert reply["choices"][0]["message"]["content"]
    assert reply["usage"]["completion_tokens"] <= 4


def test_models_health_and_metrics(base_url: str) -> None:
    """`/v1/models` (the chat's /readyz check) names the model as the chat asks for it; `/metrics` has
    what the autoscaler reads; `/health` is open; the web UI and `/slots` (others' prompts) are off."""
    root = base_url.removesuffix("/v1")
    status, text = get(f"{base_url}/models")
    assert status == 200 and Settings().llm_model in [m["id"] for m in json.loads(text)["data"]]
    assert get(f"{root}/health", key=None)[0] == 200
    assert metric(base_url, "requests_processing") >= 0 and metric(base_url, "requests_deferred") >= 0
    assert get(f"{root}/slots")[0] != 200
    assert "<html" not in get(f"{root}/")[1].lower()


def test_the_api_key_is_enforced(base_url: str) -> None:
    root = base_url.removesuffix("/v1")
    for path in ("/v1/models", "/metrics"):
        assert get(root + path, key=None)[0] == 401
        assert get(root + path, key="wrong")[0] == 401
    settings = Settings(llm_base_url=base_url, llm_api_key="wrong", llm_model_path=None)
    with pytest.raises(ModelUnavailable, match="CHATDASH_LLM_API_KEY"):
        asyncio.run(create("openai_compat", settings).complete(QUESTION, max_tokens=2))


def test_completion(base_url: str) -> None:
    provider = provider_for(base_url)
    assert provider.capabilities.exact_token_count  # the bundled GGUF's tokenizer counts for it
    reply = asyncio.run(provider.complete(QUESTION, temperature=0, max_tokens=12, seed=1))
    assert reply.text.strip() and reply.provider == "openai_compat"
    assert reply.usage.prompt_tokens == provider.count_tokens(QUESTION)
    assert 1 <= reply.usage.completion_tokens <= 12
    assert provider.stats().served == 1 and provider.stats().running == 0


def test_stream(base_url: str) -> None:
    provider = provider_for(base_url)

    async def run() -> tuple[list[str], str, int]:
        async with provider.stream(QUESTION, temperature=0, max_tokens=16, seed=1) as stream:
            deltas = [delta async for delta in stream]
        await provider.aclose()
        return deltas, stream.completion.text, stream.completion.usage.completion_tokens

    deltas, text, tokens = asyncio.run(run())
    assert len(deltas) > 1 and "".join(deltas) == text
    assert 1 <= tokens <= 16  # the server's own count, reported at the end of the stream


def test_served_and_embedded_count_the_prompt_alike(base_url: str) -> None:
    served = provider_for(base_url)
    embedded = create("llamacpp", Settings(llm_context=512, llm_model_path=None))
    ask = [Message.user("What is 2 + 2? Answer with the number only.")]
    one = asyncio.run(served.complete(ask, temperature=0, max_tokens=8))
    two = asyncio.run(embedded.complete(ask, temperature=0, max_tokens=8))
    assert one.usage.prompt_tokens == two.usage.prompt_tokens  # same template, same tokenizer


def test_concurrent_requests_are_decoded_together(base_url: str) -> None:
    """Each request gets its own slot: the later ones start before the first is done, and none is cut
    short (llama_cpp.server, which this replaced, served them one after another)."""
    provider = provider_for(base_url)
    prompts = [[Message.user(f"Write a long story about chair number {i}.")] for i in range(SLOTS)]

    async def one(messages: list[Message]) -> tuple[float, float, int, str]:
        started = time.monotonic()
        first = 0.0
        async with provider.stream(messages, temperature=0, max_tokens=48) as stream:
            async for _ in stream:
                first = first or time.monotonic()
        completion = stream.completion
        return started, first, completion.usage.completion_tokens, completion.finish_reason

    async def run() -> list[tuple[float, float, int, str]]:
        replies = await asyncio.gather(*(one(p) for p in prompts))
        await provider.aclose()
        return list(replies)

    started = time.monotonic()
    replies = asyncio.run(run())
    finished = time.monotonic()
    for _, _, tokens, finish in replies:
        assert finish == "length" and tokens == 48
    # Taking turns, the last first token would come after the others' 3 x 48 tokens: most of the time.
    last_first_token = max(first for _, first, _, _ in replies)
    assert last_first_token - started < 0.5 * (finished - started)


def test_leaving_a_stream_stops_the_generation(base_url: str) -> None:
    provider = provider_for(base_url)

    async def run() -> None:
        async with provider.stream(QUESTION, temperature=0, max_tokens=400) as stream:
            async for _ in stream:
                break
        await provider.aclose()

    asyncio.run(run())
    deadline = time.monotonic() + 5
    while metric(base_url, "requests_processing") > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(base_url, "requests_processing") == 0


class Product(BaseModel):
    name: str
    category: str


def test_structured_output_uses_the_standard_json_schema(base_url: str) -> None:
    provider = provider_for(base_url)
    messages = [Message.user("A laptop is an Electronics product. Describe it.")]
    result = asyncio.run(provider.structured(messages, Product, temperature=0, max_tokens=48, seed=1))
    assert isinstance(result.value, Product) and result.value.name
    assert provider._schema_style == "json_schema"  # llama-server takes OpenAI's response_format


def test_an_unreachable_server_says_which_setting_to_check() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    provider = get_provider(Settings(llm_base_url=url, llm_max_retries=1, llm_model="x"))
    assert isinstance(provider, OpenAICompatProvider)
    with pytest.raises(ModelUnavailable, match="CHATDASH_LLM_BASE_URL") as caught:
        asyncio.run(provider.complete(QUESTION, max_tokens=2))
    assert "retried 1 times" in str(caught.value)


def test_a_missing_binary_says_to_build_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting, nothing beside the Python, nothing on PATH: the CLI says what to run."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHATDASH_LLAMA_SERVER", raising=False)
    with pytest.raises(ConfigError, match="make llama-server"):
        find_llama_server(None)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["lm", "serve", "--port", str(free_port())])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "make llama-server" in result.output and "Traceback" not in result.output


def test_a_wrong_binary_setting_names_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHATDASH_LLAMA_SERVER", str(tmp_path / "nowhere" / "llama-server"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["lm", "serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "CHATDASH_LLAMA_SERVER" in result.output and "make llama-server" in result.output
    with (
        pytest.raises(ConfigError, match="CHATDASH_LLAMA_SERVER"),
        running_server({"CHATDASH_LLAMA_SERVER": str(tmp_path / "nowhere")}),
    ):
        pytest.fail("running_server started without a binary")


def test_bench_llm_prints_one_json_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`chatdash bench llm --json`, cut down: ours against theirs, the embedded reference, embeddings,
    search."""
    llama_server_or_skip()
    for name in list(os.environ):
        if name.startswith("CHATDASH_") and not name.startswith("CHATDASH_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATDASH_LLM_CONTEXT", "512")
    get_settings.cache_clear()
    arguments = ["bench", "llm", "--max-tokens", "4", "--concurrency", "1", "--concurrency", "2"]
    arguments += ["--threads", "1", "--rounds", "1", "--points", "300", "--queries", "10", "--json"]
    try:
        result = CliRunner().invoke(app, arguments)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output or repr(result.exception)
    data = json.loads(result.output)
    assert data["name"] == "llm" and data["median_ms"] > 0 and data["baseline_median_ms"] > 0
    assert data["speedup"] == round(data["baseline_median_ms"] / data["median_ms"], 3)
    [run] = data["runs"]
    assert run["threads"] == 1 and [level["concurrency"] for level in run["levels"]] == [1, 2]
    top = run["levels"][1]
    assert top["ours"]["tokens"] == top["theirs"]["tokens"] == top["embedded"]["tokens"] == 8
    assert set(run["ratios"]["met"]) == {"aggregate", "ttft", "single_stream"}
    assert isinstance(data["bar_met"], bool)
    assert data["embeddings"]["texts_per_s"] > 0
    assert data["search"][0]["points"] == 300 and data["search"][0]["p95_ms"] >= data["search"][0]["p50_ms"]
