"""Which providers exist, and which one the settings choose.

Built-in providers are registered here through the same ``register`` call a plugin or a test would use,
each behind a small factory that imports its module only when it is created: ``import chatdash.llm``
stays cheap, and the web process never imports llama.cpp when it talks to a server.

The settings choose: ``CHATDASH_LLM_PROVIDER`` names a provider by id; unset, ``CHATDASH_LLM_BASE_URL``
unset means the embedded ``llamacpp`` and set means ``openai_compat`` pointed at that server.
``scripted`` chosen that way is refused unless ``CHATDASH_ALLOW_SCRIPTED_MODEL`` is true (``get_provider``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from chatdash.config import Settings, get_settings
from chatdash.errors import ConfigError
from chatdash.llm.provider import Provider

ProviderFactory = Callable[..., Provider]
"""Called as ``factory(settings, **options)``; returns a ready provider."""

_factories: dict[str, ProviderFactory] = {}
_shared: dict[str, Provider] = {}
_shared_lock = threading.Lock()


def register(provider_id: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make ``provider_id`` available to ``create``; refuses to shadow an id unless ``replace``."""
    if provider_id in _factories and not replace:
        raise ValueError(f"an LLM provider {provider_id!r} is already registered")
    _factories[provider_id] = factory


def unregister(provider_id: str) -> None:
    _factories.pop(provider_id, None)


def provider_ids() -> list[str]:
    return sorted(_factories)


def create(provider_id: str, settings: Settings | None = None, **options: Any) -> Provider:
    """A new provider of ``provider_id`` configured from ``settings`` (and ``options``)."""
    factory = _factories.get(provider_id)
    if factory is None:
        raise ConfigError(f"unknown LLM provider {provider_id!r}; known: {', '.join(provider_ids())}")
    return factory(settings or get_settings(), **options)


def default_provider_id(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.llm_provider:
        return settings.llm_provider
    return "openai_compat" if settings.llm_base_url else "llamacpp"


def get_provider(settings: Settings | None = None) -> Provider:
    """The process-wide provider the settings choose, created on first use (one per distinct settings).

    ``ConfigError`` when the settings choose ``scripted`` without ``ALLOW_SCRIPTED_MODEL``: this is the
    path of a process started from its environment (``serve``, ``eval run``), which must not answer users
    with canned echoes by mistake. Code that wants the scripted provider on purpose (tests, benchmarks)
    calls ``create("scripted")`` and passes the object."""
    settings = settings or get_settings()
    provider_id = default_provider_id(settings)
    if provider_id == "scripted" and not settings.allow_scripted_model:
        raise ConfigError(
            "CHATDASH_LLM_PROVIDER=scripted answers with canned echoes, not a model: it is for tests and "
            "capacity runs only. Set CHATDASH_ALLOW_SCRIPTED_MODEL=true to use it on purpose, or unset "
            "CHATDASH_LLM_PROVIDER for the configured model"
        )
    key = provider_id + repr(_fingerprint(settings))
    with _shared_lock:
        provider = _shared.get(key)
        if provider is None:
            provider = _shared[key] = create(provider_id, settings)
        return provider


def _fingerprint(settings: Settings) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, value.get_secret_value() if isinstance(value, SecretStr) else str(value))
        for name, value in settings
    )


def _llamacpp(settings: Settings, **options: Any) -> Provider:
    from chatdash.llm.providers.llamacpp import LlamaCppProvider

    return LlamaCppProvider.from_settings(settings, **options)


def _openai_compat(settings: Settings, **options: Any) -> Provider:
    from chatdash.llm.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider.from_settings(settings, **options)


def _scripted(settings: Settings, **options: Any) -> Provider:
    from chatdash.llm.providers.scripted import ScriptedProvider

    return ScriptedProvider(**options)


register("llamacpp", _llamacpp)
register("openai_compat", _openai_compat)
register("scripted", _scripted)
