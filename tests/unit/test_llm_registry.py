"""Providers are chosen by settings and registered the same way, built-in or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chatdash.config import Settings
from chatdash.errors import ConfigError
from chatdash.llm import Message, Provider, create, default_provider_id, get_provider, provider_ids, register
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.llm.registry import unregister

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def custom() -> Iterator[str]:
    def factory(settings: Settings, **options: Any) -> Provider:
        return ScriptedProvider(["from the plugin"], model=settings.llm_model, **options)

    register("plugin", factory)
    yield "plugin"
    unregister("plugin")


def test_the_built_in_providers_are_registered() -> None:
    assert {"llamacpp", "openai_compat", "scripted"} <= set(provider_ids())


def test_the_base_url_chooses_the_provider() -> None:
    assert default_provider_id(Settings(llm_base_url=None)) == "llamacpp"
    assert default_provider_id(Settings(llm_base_url="http://127.0.0.1:8080/v1")) == "openai_compat"
    chosen = Settings(llm_provider="scripted", llm_base_url="http://127.0.0.1:8080/v1")
    assert default_provider_id(chosen) == "scripted"  # a provider named by id wins


def test_a_registered_provider_is_created_like_a_built_in(custom: str) -> None:
    provider = create(custom, Settings(llm_model="m1"), context_window=512)
    assert provider.model == "m1" and provider.context_window == 512
    with pytest.raises(ValueError, match="already registered"):
        register(custom, lambda settings: ScriptedProvider())


def test_an_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="llamacpp, openai_compat"):
        create("gpt-9")


def test_openai_compat_without_a_tokenizer_estimates_on_the_safe_side() -> None:
    provider = create(
        "openai_compat", Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="some-remote-model")
    )
    assert provider.capabilities.exact_token_count is False
    text = "The quick brown fox jumps over the lazy dog. " * 10
    # ~100 real tokens for English; the estimate must not be below that.
    assert provider.count_tokens([Message.user(text)]) >= 100


def test_get_provider_shares_one_provider_per_settings() -> None:
    remote = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="remote-model")
    assert get_provider(remote) is get_provider(remote.model_copy())
    other = remote.model_copy(update={"llm_context": 4096})
    assert get_provider(other) is not get_provider(remote)
    assert get_provider(other).context_window == 4096
