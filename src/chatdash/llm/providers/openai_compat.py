"""``openai_compat``: any OpenAI-compatible server (``chatdash lm serve``, llama.cpp, vLLM, a hosted API).

It uses the official ``openai`` client, whose retries already do what a careful caller wants: bounded
(``CHATDASH_LLM_MAX_RETRIES``), exponential backoff with jitter, on 408/409/429/5xx and connection
errors, honouring ``Retry-After``. A stream is retried only before its first byte; after that a retry
would repeat text the user has already seen. Timeouts are per read (``CHATDASH_LLM_TIMEOUT``), so a
long stream is fine as long as tokens keep coming.

Structured output asks for the standard ``response_format={"type": "json_schema", ...}``, which llama.cpp's
``llama-server`` (what ``chatdash lm serve`` runs) and vLLM take. Servers built on llama-cpp-python
(``llama_cpp.server``) only accept the older ``{"type": "json_object", "schema": ...}`` form and refuse
the standard one, with a 500; so the first structured request goes out without retries, and a refusal
that names ``response_format`` switches the provider to the older form for the rest of its life.
"""

from __future__ import annotations

import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Sequence
from typing import Any, Literal, cast

import openai
from openai.types.chat import ChatCompletionChunk

from chatdash.config import Settings, get_settings
from chatdash.errors import (
    ConfigError,
    ModelBusy,
    ModelError,
    ModelNotFound,
    ModelTimeout,
    ModelUnavailable,
)
from chatdash.llm import tokens
from chatdash.llm.context import TokenCounter
from chatdash.llm.provider import Chunks, Provider
from chatdash.llm.structured import schema_name
from chatdash.llm.types import Capabilities, Final, Message, Options, ProviderStats

StreamOfChunks = openai.AsyncStream[ChatCompletionChunk]


class OpenAICompatProvider(Provider):
    """A model behind an OpenAI-compatible ``/v1/chat/completions``."""

    id = "openai_compat"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        context_window: int = 2048,
        timeout: float = 120.0,
        max_retries: int = 2,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(model=model, context_window=context_window)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._api_key = api_key or "not-needed"  # the client insists on one; most local servers ignore it
        self._max_retries = max_retries
        self._counter = token_counter or tokens.estimate
        self.capabilities = Capabilities(exact_token_count=token_counter is not None)
        self._schema_style: Literal["json_schema", "json_object"] | None = None  # learnt on first use
        self._clients: weakref.WeakKeyDictionary[AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._in_flight = self._served = 0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> OpenAICompatProvider:
        settings = settings or get_settings()
        if not settings.llm_base_url:
            raise ConfigError("openai_compat needs CHATDASH_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
        arguments: dict[str, Any] = {
            "base_url": settings.llm_base_url,
            "model": settings.llm_model,
            "api_key": settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            "context_window": settings.llm_context,
            "timeout": settings.llm_timeout,
            "max_retries": settings.llm_max_retries,
        }
        if "token_counter" not in overrides:
            arguments["token_counter"] = tokens.gguf_counter(settings)
        return cls(**{**arguments, **overrides})

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self._counter(messages)

    def stats(self) -> ProviderStats:
        return ProviderStats(running=self._in_flight, served=self._served)

    def _client(self) -> openai.AsyncOpenAI:
        """One client per event loop: its connection pool belongs to the loop that opened it."""
        loop = get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                timeout=openai.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                max_retries=self._max_retries,
            )
        return client

    async def aclose(self) -> None:
        client = self._clients.pop(get_running_loop(), None)
        if client is not None:
            await client.close()

    async def _generate(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> Chunks:
        self._in_flight += 1
        try:
            stream = await self._open(messages, options, schema)
            prompt_tokens = completion_tokens = deltas = 0
            finish = "stop"
            try:
                async for chunk in stream:
                    if chunk.usage:  # servers that honour stream_options report exact usage last
                        prompt_tokens, completion_tokens = (
                            chunk.usage.prompt_tokens,
                            chunk.usage.completion_tokens,
                        )
                    for choice in chunk.choices:
                        if choice.delta.content:
                            deltas += 1
                            yield choice.delta.content
                        finish = choice.finish_reason or finish
            finally:
                await stream.close()
            self._served += 1  # before the last yield: a reader stops reading once it has the Final
            # Without reported usage: our count of the prompt, and one token per streamed delta.
            yield Final(
                prompt_tokens or self.count_tokens(messages),
                completion_tokens or deltas,
                "length" if finish == "length" else "stop",
            )
        except openai.APIError as exc:
            raise self._error(exc) from exc
        finally:
            self._in_flight -= 1

    async def _open(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> openai.AsyncStream[ChatCompletionChunk]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.seed is not None:
            request["seed"] = options.seed
        if options.stop:
            request["stop"] = list(options.stop)
        if schema is None:
            return cast(StreamOfChunks, await self._client().chat.completions.create(**request))
        request["response_format"] = self._response_format(schema)
        if self._schema_style is None:  # first structured request: learn the server's dialect
            try:
                probe = self._client().with_options(max_retries=0)
                stream = await probe.chat.completions.create(**request)
                self._schema_style = "json_schema"
                return cast(StreamOfChunks, stream)
            except openai.APIStatusError as exc:
                if "response_format" in str(exc.message):
                    self._schema_style = "json_object"
                    request["response_format"] = self._response_format(schema)
        return cast(StreamOfChunks, await self._client().chat.completions.create(**request))

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._schema_style == "json_object":  # llama-cpp-python's dialect
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": schema_name(schema), "schema": schema}}

    def _error(self, exc: openai.APIError) -> ModelError:
        """The typed chatdash error for a client error, saying what to check."""
        where = f"the LM server at {self.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"{where} sent nothing for {self.timeout:.0f} s (CHATDASH_LLM_TIMEOUT)")
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnavailable(
                f"cannot reach {where} (retried {self._max_retries} times: {exc}); check "
                "CHATDASH_LLM_BASE_URL and that the server runs (e.g. `chatdash lm serve`)"
            )
        if not isinstance(exc, openai.APIStatusError):
            return ModelError(f"{where} sent an unexpected reply: {exc}")
        status = exc.status_code
        if status in (401, 403):
            return ModelUnavailable(f"{where} refused our credentials ({status}); check CHATDASH_LLM_API_KEY")
        if status == 404:
            return ModelNotFound(
                f"{where} does not serve model {self.model!r} ({exc.message}); check CHATDASH_LLM_MODEL and "
                "that CHATDASH_LLM_BASE_URL ends with /v1"
            )
        if status in (429, 503):
            retry_after = _retry_after(exc.response.headers.get("retry-after"))
            return ModelBusy(f"{where} is busy ({status}, retried {self._max_retries} times)", retry_after)
        if status >= 500:
            return ModelUnavailable(f"{where} failed ({status}: {exc.message}); check the server's log")
        return ModelError(f"{where} refused the request ({status}: {exc.message})")


def _retry_after(header: str | None) -> float:
    try:
        return max(1.0, float(header)) if header else 1.0
    except ValueError:
        return 1.0
