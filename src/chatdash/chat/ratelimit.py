"""Per-key (and per-user) rate limits with the ``limits`` library.

Embedded, the counters live in memory; with ``CHATDASH_REDIS_URL`` they live in Redis, so every
replica spends from one budget. A moving window is used, so "1/10seconds" means at most one request in
any 10-second span, not two across a window edge.

When Redis does not answer, ``CHATDASH_RATE_LIMIT_ON_REDIS_DOWN`` decides: ``fail-open`` (the default)
counts in this process's memory meanwhile (each replica then allows the limit on its own, and it is
logged), ``fail-closed`` refuses with ``RedisUnavailable`` (HTTP 503 + Retry-After).

Every refusal is counted by its scope (the first identifier: ``api-key``, ``signin-user``...) in
``chatdash_rate_limit_rejections_total`` (``chatdash.chat.metrics``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from chatdash.chat.metrics import RATE_LIMITED
from chatdash.errors import RateLimited, RedisUnavailable

log = logging.getLogger(__name__)
Policy = Literal["fail-open", "fail-closed"]


class RateLimiter:
    """One limit (``limits`` notation) applied per identifier, e.g. ``("api-key", "42")``."""

    def __init__(
        self,
        limit: str,
        redis_url: str | None = None,
        *,
        key_prefix: str = "chatdash",
        on_redis_down: Policy = "fail-open",
    ) -> None:
        self.item: RateLimitItem = parse(limit)
        self.storage: Storage = (
            RedisStorage(redis_url, key_prefix=key_prefix) if redis_url else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self.storage)
        self.on_redis_down = on_redis_down
        self._fallback = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *identifiers: str) -> tuple[int, float]:
        """Spend one request: (remaining, seconds until the window frees one), or ``RateLimited``."""
        try:
            return self._hit(self._limiter, identifiers)
        except RedisError as exc:
            if self.on_redis_down == "fail-closed":
                raise RedisUnavailable(
                    "the rate limiter's Redis does not answer; try again shortly (check CHATDASH_REDIS_URL)"
                ) from exc
            log.warning("Redis does not answer (%s); counting this process's requests in memory", exc)
            return self._hit(self._fallback, identifiers)

    def _hit(self, limiter: MovingWindowRateLimiter, identifiers: tuple[str, ...]) -> tuple[int, float]:
        allowed = limiter.hit(self.item, *identifiers)
        stats = limiter.get_window_stats(self.item, *identifiers)
        reset_after = max(0.0, stats.reset_time - time.time())
        if not allowed:
            RATE_LIMITED.labels(identifiers[0] if identifiers else "").inc()  # the scope: "api-key"...
            retry = max(1, math.ceil(reset_after))
            raise RateLimited(
                f"rate limit of {self.item} exceeded; try again in {retry} s",
                retry_after=retry,
                limit=self.item.amount,
                reset_after=reset_after,
            )
        return stats.remaining, reset_after

    @property
    def limit(self) -> int:
        return self.item.amount

    def reset(self) -> None:
        self.storage.reset()
