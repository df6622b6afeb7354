"""Language models behind one protocol: the embedded llama.cpp model, any OpenAI-compatible server,
and a scripted double for tests.

Typical use::

    from chatdash.llm import Message, get_provider

    provider = get_provider()                       # chosen by CHATDASH_LLM_BASE_URL
    reply = await provider.complete([Message.user("Hello")], max_tokens=64)
    async with provider.stream(messages) as stream:
        async for delta in stream: ...
    spec = (await provider.structured(messages, QuerySpec)).value

Errors are ``chatdash.errors.ModelError`` subclasses (``ModelBusy`` carries ``retry_after``).
"""

from chatdash.llm.provider import Provider, Stream, Structured
from chatdash.llm.registry import create, default_provider_id, get_provider, provider_ids, register
from chatdash.llm.types import Capabilities, Completion, Message, Options, ProviderStats, Usage

__all__ = [
    "Capabilities",
    "Completion",
    "Message",
    "Options",
    "Provider",
    "ProviderStats",
    "Stream",
    "Structured",
    "Usage",
    "create",
    "default_provider_id",
    "get_provider",
    "provider_ids",
    "register",
]
