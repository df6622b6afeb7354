"""``/healthz`` (the process answers), ``/readyz`` (its database, Redis when configured, LM, vector
store and, for a split ui, the data API do) and ``/metrics`` (Prometheus; not in the OpenAPI document).

A process that drains after SIGTERM (``ChatService.drain``) is not ready, whatever its dependencies say:
``/readyz`` answers 503 at once, so the load balancer sends its requests elsewhere while it finishes its
replies.

Readiness checks are cheap and never load a model: the database runs ``SELECT 1``; an LM server must
answer ``GET /models``, the embedded model's GGUF must exist; a Qdrant server must answer ``/readyz``,
local mode needs its folder to be creatable. Each check reports ok or the reason, and any failure
makes the answer 503 so a load balancer takes the replica out. A check may also return a note: it is
reported in place of "ok" and does not fail readiness.

``prompts`` reports the registry prompts this process serves stale (the database could not be read,
so the last version read is used: "serving stale version 2 of chat-system (chat-system@production)
since ..."): the replica still answers with a known-good prompt, and taking it out would not bring the
database back, so this is a note, not a failure. It fails only for a prompt this process could never
read, whose replies fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from chatdash.chat import metrics
from chatdash.config import Settings
from chatdash.prompts import prompt_health

router = APIRouter(tags=["health"])

Check = Callable[[], Awaitable[str | None]]
"""Raises (with a message saying what is wrong) when a dependency is not ready; may return a note that
is worth reporting but leaves it ready."""


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description='Each dependency: "ok", or what is wrong with it')
    detail: str | None = Field(None, description="When unavailable: which dependencies are not ready")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready: see `checks`"}},
)
async def readyz(request: Request) -> JSONResponse:
    service = getattr(request.app.state, "chat", None)
    if service is not None and service.draining:
        body = Readiness(
            status="unavailable",
            checks={"shutdown": "draining: finishing the replies in flight, starting none"},
            detail="not ready: shutting down",
        )
        return JSONResponse(body.model_dump(exclude_none=True), 503)
    checks: dict[str, Check] = request.app.state.ready_checks
    results: dict[str, str] = {}
    failing: list[str] = []
    for name, check in checks.items():
        try:
            note: str | None = await asyncio.wait_for(_awaited(check), timeout=5)
            results[name] = note or "ok"
        except Exception as exc:  # a readiness probe reports every failure, it never raises
            results[name] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            failing.append(name)
    if not failing:
        return JSONResponse(Readiness(status="ok", checks=results).model_dump(exclude_none=True))
    detail = f"not ready: {', '.join(failing)} (see checks)"
    body = Readiness(status="unavailable", checks=results, detail=detail)
    return JSONResponse(body.model_dump(exclude_none=True), 503)


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    """This process's metrics in Prometheus' text format (``chatdash.chat.metrics``)."""
    return Response(metrics.exposition(request.app.state.service_metrics), media_type=metrics.CONTENT_TYPE)


async def _awaited(check: Check) -> str | None:
    return await check()


def default_checks(
    settings: Settings, engine: Engine | None, db_api_url: str | None = None
) -> dict[str, Check]:
    checks: dict[str, Check] = {}
    if engine is not None:
        checks["database"] = lambda: asyncio.to_thread(_select_one, engine)
    if db_api_url:
        checks["db_api"] = lambda: _check_db_api(db_api_url)
    if settings.redis_url:
        checks["redis"] = lambda: _check_redis(settings.redis_url or "")
    checks["llm"] = lambda: _check_llm(settings)
    checks["vector_store"] = lambda: _check_vectors(settings)
    if engine is not None:
        checks["prompts"] = lambda: _check_prompts(engine)
    return checks


async def _check_prompts(engine: Engine) -> str | None:
    health = prompt_health(engine)
    if health.unreadable:
        raise RuntimeError(f"never read, the database cannot be read: {', '.join(health.unreadable)}")
    return "; ".join(str(notice) for notice in health.stale) or None


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def _check_redis(url: str) -> None:
    import redis.asyncio

    client = redis.asyncio.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _check_db_api(url: str) -> None:
    async with httpx.AsyncClient(timeout=3) as client:
        (await client.get(url.rstrip("/") + "/healthz")).raise_for_status()


async def _check_llm(settings: Settings) -> None:
    from chatdash.llm import default_provider_id

    provider = default_provider_id(settings)
    if provider == "openai_compat" and settings.llm_base_url:
        headers = {}
        if settings.llm_api_key:
            headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
        async with httpx.AsyncClient(timeout=3) as client:
            answer = await client.get(settings.llm_base_url.rstrip("/") + "/models", headers=headers)
            answer.raise_for_status()
        return
    if provider != "llamacpp":
        return  # a provider in this process (scripted, a plugin's) answers for itself
    from chatdash.llm import model_path  # only the embedded mode needs llama.cpp importable

    await asyncio.to_thread(model_path, settings)


async def _check_vectors(settings: Settings) -> None:
    if settings.qdrant_url:
        async with httpx.AsyncClient(timeout=3) as client:
            (await client.get(settings.qdrant_url.rstrip("/") + "/readyz")).raise_for_status()
        return
    folder = Path(settings.var_dir) / "qdrant"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
