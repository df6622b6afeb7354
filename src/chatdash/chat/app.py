"""``create_app(settings, role)``: the ASGI app ``chatdash serve`` runs.

Roles, as in the published split deployment: ``db-api`` serves the data API (``/chats``...) only;
``ui`` serves what faces people (the web pages, ``/api/chat`` and ``/chats``... for key holders) and,
with ``CHATDASH_DB_API_URL``, keeps chats and messages in that data API over HTTP
(``chatdash.chat.repository.HttpRepository``); ``all``
serves everything in one process. Every role has ``/healthz``, ``/readyz`` and OpenAPI docs at ``/docs``
and ``/redoc``, served from local files (``chatdash.chat.web.docs``: nothing is fetched from a CDN).

Tests pass their own ``service`` (scripted model, test database) and ``rate_limit_prefix`` (so their
Redis counters do not meet); everything else comes from settings. With ``CHATDASH_ENVIRONMENT=production``
the factory refuses settings that are unsafe to serve with (``Settings.check_production``). Every request
gets an id, a log line and its metrics (``chatdash.chat.observe``); ``/metrics`` serves them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine

from chatdash.chat import http_errors, metrics, users
from chatdash.chat.api import archive, chats, completions, health, knowledge, traces, v1
from chatdash.chat.api.bodylimit import BodyLimit
from chatdash.chat.observe import RequestLog
from chatdash.chat.ratelimit import RateLimiter
from chatdash.chat.repository import HttpRepository
from chatdash.chat.service import ChatService
from chatdash.chat.web import docs
from chatdash.config import Settings, get_settings
from chatdash.errors import AuthError, Unavailable

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 75
"""How long an idle keep-alive connection stays open: longer than a proxy keeps its idle upstream
connections (nginx and most load balancers: 60 s), so the proxy, not the app, closes them. When the app
closes first, a request the proxy sends at that moment meets a reset connection."""

Role = Literal["all", "db-api", "ui"]
ROLES: tuple[Role, ...] = ("all", "db-api", "ui")


def create_app(
    settings: Settings | None = None,
    role: Role = "all",
    *,
    service: ChatService | None = None,
    rate_limit_prefix: str = "chatdash",
    ready_checks: dict[str, health.Check] | None = None,
) -> FastAPI:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    settings = settings or get_settings()
    settings.check_production(role)  # before anything is opened
    if service is None:
        from chatdash.db.engine import get_engine

        engine = get_engine(settings)
        service = ChatService(engine, settings, repository=_data_api(settings, engine, role))
    chat_service = service

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            chat_service.close_abandoned()
        except Unavailable as exc:  # start anyway: /readyz says 503 until the database is back
            log.warning("replies left by a dead process were not closed at start-up: %s", exc)
        # Worker threads (blocking database, data API and Redis calls) beyond a few per core only
        # queue for the GIL; see CHATDASH_WORKER_THREADS.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield
        await chat_service.aclose()  # running replies keep their text as "stopped"

    app = FastAPI(
        title="chatdash", summary="Chat and data APIs", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    docs.install(app)  # /docs and /redoc with their files served here, not from a CDN
    app.state.settings = settings
    app.state.chat = service
    app.state.service_metrics = metrics.service_registry(service)
    app.state.limiter = RateLimiter(
        settings.api_rate_limit,
        settings.redis_url,
        key_prefix=rate_limit_prefix,
        on_redis_down=settings.rate_limit_on_redis_down,
    )
    app.state.ready_checks = (
        ready_checks
        if ready_checks is not None
        else health.default_checks(settings, service.engine, settings.db_api_url if role == "ui" else None)
    )
    http_errors.install(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.api_max_body_bytes,
        upload_paths=frozenset({"/documents", "/remembered/documents"}),
        upload_max_bytes=settings.document_max_bytes,
    )
    app.add_middleware(v1.OpenAIErrors)
    app.include_router(health.router)
    # The chat API faces people too: the ui serves it through its repository (the data API when split),
    # so key holders behind nginx read what they wrote while the data API itself stays internal.
    app.include_router(chats.router)
    app.include_router(archive.router)
    app.include_router(knowledge.router)
    if role in ("all", "ui"):
        app.include_router(completions.router)
        app.include_router(traces.router)
        app.include_router(v1.router)
        _add_pages(app, settings, rate_limit_prefix)
    app.add_middleware(RequestLog)  # added last: outermost, so its time and status cover the others'
    return app


def _data_api(settings: Settings, engine: Engine, role: Role) -> HttpRepository | None:
    """The ui of the split deployment keeps chats and messages in the data API; users, sessions and API
    keys stay in its own database (``CHATDASH_DATABASE_URL``)."""
    if role != "ui" or not settings.db_api_url:
        return None

    def username_of(user_id: int) -> str:
        user = users.get_user(engine, user_id)
        if user is None:
            raise AuthError("this account no longer exists; sign in again")
        return user.username

    key = settings.db_api_key.get_secret_value() if settings.db_api_key else None
    return HttpRepository.connect(settings.db_api_url, key, username_of)


def _add_pages(app: FastAPI, settings: Settings, rate_limit_prefix: str) -> None:
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.staticfiles import StaticFiles

    from chatdash.chat import sessions
    from chatdash.chat.web import error_pages, history, pages, prompts_admin, remembered, session

    app.state.feedback_kind = settings.feedback_kind
    app.state.signin_limiter = RateLimiter(
        session.SIGNIN_LIMIT,
        settings.redis_url,
        key_prefix=rate_limit_prefix,
        on_redis_down=settings.rate_limit_on_redis_down,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=sessions.session_secret(settings),
        session_cookie=sessions.COOKIE,  # the dashboard reads it too (sessions.read_session)
        same_site="lax",
        https_only=False,  # SecureOverHttps marks it Secure per request, so plain-HTTP local use works
        max_age=sessions.MAX_AGE,
    )
    app.add_middleware(session.SecureOverHttps, cookie=sessions.COOKIE)  # added last: wraps the above
    app.mount("/static", StaticFiles(directory=Path(pages.__file__).parent / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(history.router)  # search, export, edit: beside the chat pages
    app.include_router(remembered.router)
    app.include_router(prompts_admin.router)
    error_pages.install(app)  # HTML for page routes; the JSON handlers still answer the APIs
