"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL (readers never wait for the loader), foreign keys and a busy timeout on every
connection, and no pre-ping (a file does not hang up; the ping was a query on every checkout);
PostgreSQL gets a pre-pinged pool so a restarted server is reconnected transparently.
``schema`` puts every table of a PostgreSQL engine in one schema: tests and benchmarks use it to
share one database without touching each other's (or the app's) tables.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import weakref
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from chatdash.config import Settings, get_settings
from chatdash.errors import ConfigError, DatabaseUnavailable, NotInitialized

log = logging.getLogger(__name__)
POOL_SIZE = 16
"""Connections kept open per engine (and as many again in a burst): more than the app's worker threads
(``CHATDASH_WORKER_THREADS``), so requests never open one."""

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """Create an engine with the pragmas / pool settings chatdash relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        pool: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # Enough pooled connections for every worker thread: a connection past the pool is opened
            # (and its pragmas run) for one checkout and closed after it, costing more than the queries.
            pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_SIZE}
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _unavailable)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if schema is not None:
        connect_args["options"] = f"-csearch_path={_checked(schema)}"
    engine = create_engine(
        parsed,
        echo=echo,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _unavailable(context: ExceptionContext) -> None:
    """A refused or lost connection, wherever it happens (ORM, Core, the pool), is
    ``DatabaseUnavailable``: callers and edges see one type (HTTP 503), never the driver's error.
    The pool's own pre-ping is left alone: it reconnects by itself."""
    error = context.sqlalchemy_exception
    if context.is_pre_ping or not isinstance(error, OperationalError) or not _is_connection_error(error):
        return
    engine = context.engine
    where = redacted_url(engine) if engine is not None else "the configured database"
    log.warning("database unavailable at %s: %s", where, _first_line(context.original_exception))
    raise _unreachable(where) from context.original_exception


def _unreachable(where: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot reach the database at {where}; check CHATDASH_DATABASE_URL and that the server is running"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def ensure_schema(url: str, schema: str) -> None:
    """Create a PostgreSQL schema if missing (no-op on SQLite)."""
    if make_url(url).get_backend_name() == "postgresql":
        _run_once(url, f'CREATE SCHEMA IF NOT EXISTS "{_checked(schema)}"')


def drop_schema(url: str, schema: str, *, attempts: int = 5) -> None:
    """Drop a PostgreSQL schema and all in it. A transaction still writing there (a background trace
    writer, say) can make the drop the deadlock's victim: PostgreSQL's advice is to run it again."""
    for attempt in range(1, attempts + 1):
        try:
            _run_once(url, f'DROP SCHEMA IF EXISTS "{_checked(schema)}" CASCADE')
            return
        except OperationalError as exc:
            if "deadlock detected" not in str(exc.orig) or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


def _checked(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ConfigError(f"schema name {schema!r} must be lower-case letters, digits, _")
    return schema


def _run_once(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@lru_cache(maxsize=8)
def _cached_engine(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for the configured database."""
    return _cached_engine((settings or get_settings()).effective_database_url)


_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The engine's session maker, made once: building one per call cost more than a short query."""
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextlib.contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Turn 'cannot connect' driver errors into DatabaseUnavailable with what to check."""
    try:
        yield
    except (OperationalError, ProgrammingError) as exc:
        if _is_missing_table(exc):
            raise NotInitialized(
                f"the database at {redacted_url(engine)} has no chatdash tables yet "
                f"({_first_line(exc.orig)}): run `chatdash init` to create them"
            ) from exc
        if isinstance(exc, OperationalError) and _is_connection_error(exc):
            raise _unreachable(redacted_url(engine)) from exc
        raise


@contextlib.contextmanager
def connected(engine: Engine) -> Iterator[Connection]:
    """A connection whose errors say what to do (``translate_errors``): what every read module uses."""
    with translate_errors(engine), engine.connect() as conn:
        yield conn


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or ("relation" in message and "does not exist" in message)


def _is_connection_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    return any(
        part in message
        for part in ("connection", "could not connect", "unable to open database", "server closed")
    )


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error else "unknown error"


def redacted_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def backend_name(engine: Engine) -> str:
    return engine.dialect.name
