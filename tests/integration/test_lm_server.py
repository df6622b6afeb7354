"""`openai_compat` end to end against a real `chatdash lm serve` on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import Settings, get_settings
from chatdash.errors import ModelUnavailable
from chatdash.llm import Completion, Message, create, get_provider
from chatdash.llm.providers.openai_compat import OpenAICompatProvider
from chatdash.llm.server import free_port, running_server

pytestmark = pytest.mark.timeout(120)

KEY = "test-key-123"
QUESTION = [Message.system("You are a helpful assistant."), Message.user("Name three office products.")]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    env = {"CHATDASH_LLM_CONTEXT": "512", "CHATDASH_LLM_API_KEY": KEY, "CHATDASH_LLM_MODEL_PATH": ""}
    with running_server(env) as url:
        yield url


def provider_for(base_url: str, **options: object) -> OpenAICompatProvider:
    settings = Settings(llm_base_url=base_url, llm_api_key=KEY, llm_context=512, llm_model_path=None)
    provider = create("openai_compat", settings, **options)
    assert isinstance(provider, OpenAICompatProvider)
    return provider


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

    async def run() -> tuple[list[str], str]:
        async with provider.stream(QUESTION, temperature=0, max_tokens=16, seed=1) as stream:
            deltas = [delta async for delta in stream]
        await provider.aclose()
        return deltas, stream.completion.text

    deltas, text = asyncio.run(run())
    assert len(deltas) > 1 and "".join(deltas) == text


def test_served_and_embedded_count_the_prompt_alike(base_url: str) -> None:
    served = provider_for(base_url)
    embedded = create("llamacpp", Settings(llm_context=512, llm_model_path=None))
    ask = [Message.user("What is 2 + 2? Answer with the number only.")]
    one = asyncio.run(served.complete(ask, temperature=0, max_tokens=8))
    two = asyncio.run(embedded.complete(ask, temperature=0, max_tokens=8))
    assert one.usage.prompt_tokens == two.usage.prompt_tokens  # same template, same tokenizer


def test_concurrent_streams_are_not_cut_short(base_url: str) -> None:
    """llama_cpp.server's default interrupts a running stream when another request arrives."""
    provider = provider_for(base_url)
    prompts = [[Message.user(f"Write a long story about chair number {i}.")] for i in range(3)]

    async def run() -> list[Completion]:
        replies = await asyncio.gather(*(provider.complete(p, temperature=0, max_tokens=6) for p in prompts))
        await provider.aclose()
        return list(replies)

    for reply in asyncio.run(run()):
        assert reply.finish_reason == "length" and reply.usage.completion_tokens == 6


class Product(BaseModel):
    name: str
    category: str


def test_structured_output_learns_the_servers_dialect(base_url: str) -> None:
    provider = provider_for(base_url)
    messages = [Message.user("A laptop is an Electronics product. Describe it.")]
    result = asyncio.run(provider.structured(messages, Product, temperature=0, max_tokens=48, seed=1))
    assert isinstance(result.value, Product) and result.value.name
    assert provider._schema_style == "json_object"  # llama-cpp-python refuses the json_schema form


def test_a_wrong_key_says_which_setting_to_check(base_url: str) -> None:
    settings = Settings(llm_base_url=base_url, llm_api_key="wrong", llm_model_path=None)
    with pytest.raises(ModelUnavailable, match="CHATDASH_LLM_API_KEY"):
        asyncio.run(create("openai_compat", settings).complete(QUESTION, max_tokens=2))


def test_an_unreachable_server_says_which_setting_to_check() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    provider = get_provider(Settings(llm_base_url=url, llm_max_retries=1, llm_model="x"))
    assert isinstance(provider, OpenAICompatProvider)
    with pytest.raises(ModelUnavailable, match="CHATDASH_LLM_BASE_URL") as caught:
        asyncio.run(provider.complete(QUESTION, max_tokens=2))
    assert "retried 1 times" in str(caught.value)


def test_bench_llm_prints_one_json_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`chatdash bench llm --json`, cut down: both sides of the comparison, embeddings, search."""
    for name in list(os.environ):
        if name.startswith("CHATDASH_") and not name.startswith("CHATDASH_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    arguments = ["bench", "llm", "--max-tokens", "4", "--concurrency", "1", "--concurrency", "2"]
    arguments += ["--points", "300", "--queries", "10", "--json"]
    try:
        result = CliRunner().invoke(app, arguments)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "llm" and data["median_ms"] > 0 and data["baseline_median_ms"] > 0
    assert data["speedup"] == round(data["baseline_median_ms"] / data["median_ms"], 3)
    assert [level["concurrency"] for level in data["levels"]] == [1, 2]
    assert data["levels"][1]["tokens"] == data["levels"][1]["baseline"]["tokens"] == 8
    assert data["embeddings"]["texts_per_s"] > 0
    assert data["search"][0]["points"] == 300 and data["search"][0]["p95_ms"] >= data["search"][0]["p50_ms"]
