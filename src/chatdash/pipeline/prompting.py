"""Registry prompts for steps: ``prompt = "name@label"`` in a pipeline file, read at run time.

Through the process's resolver for the run's engine (``CHATDASH_PROMPT_CACHE_SECONDS``), so a promotion
reaches the next replies within the TTL without a restart; a cache hit costs no thread hop. A run
without a database (``ctx.engine`` None: tests, plain chat) gets the shipped file of that name. Each
step records which prompt and version it used in its span, and since when it was served stale.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from chatdash.pipeline.context import RunContext
from chatdash.prompts import PromptError, PromptVersion, parse_ref, resolver_for, shipped_version


async def resolve_prompt(ctx: RunContext, ref: str, span: dict[str, Any]) -> PromptVersion:
    parsed = parse_ref(ref)
    if ctx.engine is None:
        version = shipped_version(parsed.name)
    else:
        resolver = resolver_for(ctx.engine, ctx.settings.prompt_cache_seconds)
        cached = resolver.cached(parsed)
        version = cached if cached is not None else await anyio.to_thread.run_sync(resolver.get, parsed)
        notice = resolver.notice(parsed)
        if notice is not None:
            span["prompt_stale_since"] = notice.since.isoformat()
    span.update(prompt=version.name, prompt_ref=str(parsed), prompt_version=version.version)
    return version


def checked_ref(value: str | None) -> str | None:
    """A field validator's check of a reference (``ValueError`` for pydantic, naming what is wrong)."""
    if value is None:
        return None
    try:
        return str(parse_ref(value))
    except PromptError as exc:
        raise ValueError(str(exc)) from None
