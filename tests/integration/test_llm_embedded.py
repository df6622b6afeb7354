"""The embedded provider on the REAL bundled model (SmolLM2-135M-Instruct, llama.cpp in process).

Small max_tokens and temperature 0 keep each request well under a second. A 135M model's words are
not asserted (its greedy output even shifts with llama.cpp's prompt cache); what is asserted is what
chatdash promises: the stream joins to the text, usage adds up, JSON validates, long chats fit.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from chatdash.config import Settings
from chatdash.errors import ModelBusy, ModelNotFound, ModelTimeout
from chatdash.llm import Message, create, get_provider
from chatdash.llm.providers.llamacpp import LlamaCppProvider

pytestmark = pytest.mark.timeout(120)

CONTEXT = 512  # small: the trimming test evaluates a full window
QUESTION = [Message.system("You are a helpful assistant."), Message.user("Name three office products.")]


@pytest.fixture(scope="module")
def provider() -> LlamaCppProvider:
    created = create("llamacpp", Settings(llm_context=CONTEXT, llm_base_url=None, llm_model_path=None))
    assert isinstance(created, LlamaCppProvider)
    return created


def test_the_settings_choose_the_embedded_model_by_default() -> None:
    settings = Settings(llm_context=CONTEXT, llm_base_url=None, llm_model_path=None)
    assert isinstance(get_provider(settings), LlamaCppProvider)


def test_completion(provider: LlamaCppProvider) -> None:
    reply = asyncio.run(provider.complete(QUESTION, temperature=0, max_tokens=16, seed=1))
    assert reply.text.strip()
    assert reply.provider == "llamacpp" and reply.model == "smollm2-135m-instruct"
    assert reply.usage.prompt_tokens == provider.count_tokens(QUESTION)
    assert 1 <= reply.usage.completion_tokens <= 16
    assert reply.finish_reason in ("stop", "length")
    if reply.finish_reason == "length":
        assert reply.usage.completion_tokens == 16


def test_stream_deltas_join_to_the_text_and_usage_is_reported(provider: LlamaCppProvider) -> None:
    async def run() -> tuple[list[str], str]:
        async with provider.stream(QUESTION, temperature=0, max_tokens=24, seed=1) as stream:
            deltas = [delta async for delta in stream]
        return deltas, stream.completion.text

    deltas, text = asyncio.run(run())
    assert len(deltas) > 1
    assert "".join(deltas) == text
    usage = provider.engine.worker.stats()
    assert usage.served >= 1
    reply = asyncio.run(provider.complete(QUESTION, temperature=0, max_tokens=24, seed=1))
    u = reply.usage
    assert u.prompt_tokens > 10 and 1 <= u.completion_tokens <= 24
    assert u.first_token_s is not None and 0 < u.first_token_s <= u.total_s
    assert u.queue_s < u.first_token_s
    assert u.tokens_per_second > 0


class Product(BaseModel):
    name: str
    category: str
    price: float


def test_structured_output_validates_through_the_json_schema_grammar(provider: LlamaCppProvider) -> None:
    messages = [Message.user("A laptop is an Electronics product that costs 999.99. Describe it.")]
    result = asyncio.run(provider.structured(messages, Product, temperature=0, max_tokens=64, seed=1))
    assert isinstance(result.value, Product)
    assert result.value.name and result.value.category
    assert Product.model_validate_json(result.completion.text) == result.value


def test_a_history_longer_than_the_context_is_trimmed(provider: LlamaCppProvider) -> None:
    history = [Message.system("You are a sales assistant. Be brief.")]
    for turn in range(20):
        history.append(Message.user(f"Question {turn}: how many chairs did we sell in month {turn}? " * 3))
        history.append(Message.assistant(f"In month {turn} we sold {turn * 7} chairs and some desks. " * 3))
    history.append(Message.user("Thanks. Say goodbye."))
    assert provider.count_tokens(history) > 2 * CONTEXT

    reply = asyncio.run(provider.complete(history, temperature=0, max_tokens=16))
    assert reply.dropped_messages > 0
    assert reply.usage.prompt_tokens + 16 <= CONTEXT
    kept, dropped = provider.fit(history, 16)
    assert dropped == reply.dropped_messages
    assert kept[0] == history[0] and kept[-1] == history[-1]
    assert provider.count_tokens(kept) == reply.usage.prompt_tokens


def test_a_reader_that_stops_early_frees_the_model(provider: LlamaCppProvider) -> None:
    async def run() -> str:
        async with provider.stream(QUESTION, temperature=0, max_tokens=200) as stream:
            async for _ in stream:
                break  # the browser tab closed
        reply = await provider.complete(QUESTION, temperature=0, max_tokens=4)
        return reply.text

    assert asyncio.run(asyncio.wait_for(run(), 30))


def test_a_full_queue_is_busy_with_a_retry_after() -> None:
    # Its own engine (another context size, so another model instance) with room for one waiting request.
    small = LlamaCppProvider.from_settings(Settings(llm_model_path=None), queue_size=1, context_window=384)

    async def run() -> list[object]:
        # The first request must be running (not still waiting) before the others arrive: then one
        # more may wait, and the other two find the queue full.
        first = asyncio.ensure_future(small.complete(QUESTION, temperature=0, max_tokens=8))
        deadline = time.monotonic() + 30
        while not small.stats().running and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        rest = [small.complete(QUESTION, temperature=0, max_tokens=8) for _ in range(3)]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(run())
    busy = [r for r in results if isinstance(r, ModelBusy)]
    served = [r for r in results if not isinstance(r, BaseException)]
    assert len(served) == 2 and len(busy) == 2
    assert all(b.retry_after >= 1 for b in busy)
    deadline = time.monotonic() + 5
    while small.stats().running and time.monotonic() < deadline:  # the worker books the last request
        time.sleep(0.01)
    stats = small.stats()
    assert stats.rejected == 2 and stats.served == 2 and stats.queued == 0
    assert stats.mean_service_s > 0


def test_no_token_within_the_timeout(provider: LlamaCppProvider) -> None:
    impatient = LlamaCppProvider.from_settings(
        Settings(llm_context=CONTEXT, llm_model_path=None), timeout=0.001
    )
    assert impatient.engine is provider.engine  # one model per process, shared
    with pytest.raises(ModelTimeout, match="CHATDASH_LLM_TIMEOUT"):
        asyncio.run(impatient.complete(QUESTION, max_tokens=50))
    assert asyncio.run(provider.complete(QUESTION, max_tokens=2)).usage.completion_tokens >= 1


def test_a_missing_or_unreadable_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"CHATDASH_LLM_MODEL_PATH points at .*not a file"):
        create("llamacpp", Settings(llm_model_path=tmp_path / "missing.gguf"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelNotFound, match="complete GGUF model file"):
        create("llamacpp", Settings(llm_model_path=broken))
