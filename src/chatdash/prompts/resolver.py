"""Prompts by reference at run time: a short cache in front of the registry, stale-while-error.

A pipeline names ``chat-system@production``; reading the database for every reply would put a query
on every reply's path, so each process keeps what it read for ``CHATDASH_PROMPT_CACHE_SECONDS``. A push
or promotion made in this process drops its entries at once (``store.on_change``); other processes
(replicas, the CLI's promotion) are seen when the entry expires.

When the database cannot be read, a reference read before keeps being served (the last good version,
logged once as a warning and listed by ``prompt_health`` for ``/readyz``) and is tried again every
TTL; one never read raises, since there is nothing good to serve. A name the registry does not have
at all is served from the shipped files (version 0) when one ships with that name, so a database that
``chatdash init`` has not filled yet still gets the shipped prompt; an unknown label or version of a
registered prompt is an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from chatdash.errors import NotInitialized, PromptNotFound, Unavailable
from chatdash.prompts.content import PromptRef, PromptVersion, parse_ref
from chatdash.prompts.shipped import shipped_prompts, shipped_version
from chatdash.prompts.store import get_prompt, on_change

log = logging.getLogger(__name__)

_UNREADABLE = (Unavailable, NotInitialized, SQLAlchemyError)
"""What 'the database cannot be read' looks like; any other error is the caller's to see."""


@dataclass(frozen=True, slots=True)
class StaleNotice:
    """A reference served from the last good read because the database cannot be read."""

    ref: str
    version: PromptVersion
    since: dt.datetime
    error: str

    def __str__(self) -> str:
        return (
            f"serving stale version {self.version.version} of {self.version.name} ({self.ref}) since "
            f"{self.since:%Y-%m-%d %H:%M:%S}Z: {self.error}"
        )


@dataclass(frozen=True, slots=True)
class PromptHealth:
    """What ``/readyz`` says of the prompts: stale ones (served, so still ready) and references that
    could never be read (their replies fail)."""

    stale: tuple[StaleNotice, ...] = ()
    unreadable: tuple[str, ...] = ()


class Resolver:
    """Reads references through a cache of ``ttl_s`` seconds; thread-safe."""

    def __init__(self, engine: Engine, ttl_s: float = 5.0) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, PromptVersion]] = {}
        self._good: dict[str, PromptVersion] = {}
        self._stale: dict[str, StaleNotice] = {}
        self._unreadable: dict[str, str] = {}
        _resolvers.add(self)

    def cached(self, ref: str | PromptRef) -> PromptVersion | None:
        """The cached version while it is fresh (no database read), else None."""
        key = str(parse_ref(ref))
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl_s:
            return entry[1]
        return None

    def get(self, ref: str | PromptRef) -> PromptVersion:
        """The version ``ref`` names now (within the TTL); see the module docstring for failures."""
        parsed = parse_ref(ref)
        key = str(parsed)
        hit = self.cached(key)
        if hit is not None:
            return hit
        try:
            found = get_prompt(self.engine, parsed)
        except PromptNotFound as exc:
            if exc.prompt_exists or parsed.name not in shipped_prompts():
                raise
            found = shipped_version(parsed.name)  # not pushed yet (`chatdash init`): the file
        except _UNREADABLE as exc:
            return self._stale_or_raise(key, exc)
        with self._lock:
            self._cache[key] = (time.monotonic(), found)
            self._good[key] = found
            self._unreadable.pop(key, None)
            recovered = self._stale.pop(key, None)
        if recovered is not None:
            log.warning("prompt %s read again from the database (stale since %s)", key, recovered.since)
        return found

    def notice(self, ref: str | PromptRef) -> StaleNotice | None:
        """Why ``ref`` is being served stale, or None when it is fresh."""
        with self._lock:
            return self._stale.get(str(parse_ref(ref)))

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached entries (of one prompt, or all): the next ``get`` reads the database."""
        with self._lock:
            for key in [k for k in self._cache if name is None or parse_ref(k).name == name]:
                del self._cache[key]

    def health(self) -> PromptHealth:
        with self._lock:
            return PromptHealth(tuple(self._stale.values()), tuple(sorted(self._unreadable)))

    def _stale_or_raise(self, key: str, exc: Exception) -> PromptVersion:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        with self._lock:
            good = self._good.get(key)
            if good is None:
                self._unreadable[key] = error
            else:
                # Served until the next try, one TTL later: a dead database is not asked per reply.
                self._cache[key] = (time.monotonic(), good)
                first = key not in self._stale
                if first:
                    self._stale[key] = StaleNotice(key, good, dt.datetime.now(dt.UTC), error)
        if good is None:
            raise exc
        if first:
            log.warning(
                "prompt %s: the database cannot be read (%s); serving version %d", key, error, good.version
            )
        return good


_resolvers: weakref.WeakSet[Resolver] = weakref.WeakSet()
_shared: weakref.WeakKeyDictionary[Engine, Resolver] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def resolver_for(engine: Engine, ttl_s: float) -> Resolver:
    """The process's resolver for ``engine`` (one cache per engine, whoever asks)."""
    with _shared_lock:
        resolver = _shared.get(engine)
        if resolver is None:
            resolver = _shared[engine] = Resolver(engine, ttl_s)
        resolver.ttl_s = ttl_s
        return resolver


def prompt_health(engine: Engine | None = None) -> PromptHealth:
    """Stale and unreadable references of this process's resolvers (of ``engine``, or all)."""
    stale: list[StaleNotice] = []
    unreadable: list[str] = []
    for resolver in list(_resolvers):
        if engine is None or resolver.engine is engine:
            health = resolver.health()
            stale += health.stale
            unreadable += health.unreadable
    return PromptHealth(tuple(stale), tuple(sorted(set(unreadable))))


def _invalidate(engine: Engine, name: str) -> None:
    for resolver in list(_resolvers):
        if resolver.engine is engine:
            resolver.invalidate(name)


on_change.append(_invalidate)
