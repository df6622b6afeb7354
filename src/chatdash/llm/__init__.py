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

Code outside this package imports only the names in ``__all__``. ``model_path``, ``thread_count``
(the GGUF), ``serve`` and ``running_server`` (the OpenAI-compatible LM server) load llama.cpp, so they
are imported on first use; import them inside the function that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chatdash.llm.embeddings import Embedder, get_embedder
from chatdash.llm.provider import Provider, Stream, Structured
from chatdash.llm.registry import create, default_provider_id, get_provider, provider_ids, register
from chatdash.llm.types import Capabilities, Completion, Message, Options, ProviderStats, Role, Usage

if TYPE_CHECKING:
    from chatdash.llm.gguf import model_path, thread_count
    from chatdash.llm.server import running_server, serve

__all__ = [
    "Capabilities",
    "Completion",
    "Embedder",
    "Message",
    "Options",
    "Provider",
    "ProviderStats",
    "Role",
    "Stream",
    "Structured",
    "Usage",
    "create",
    "default_provider_id",
    "get_embedder",
    "get_provider",
    "model_path",
    "provider_ids",
    "register",
    "running_server",
    "serve",
    "thread_count",
]

# These import llama_cpp (gguf at module level, the server through gguf): loaded on first use, so that
# importing chatdash.llm (every chat, pipeline and test process) does not load the model runtime.
_LAZY = {
    "model_path": "chatdash.llm.gguf",
    "thread_count": "chatdash.llm.gguf",
    "running_server": "chatdash.llm.server",
    "serve": "chatdash.llm.server",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
