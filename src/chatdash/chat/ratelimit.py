"""Per-key (and per-user) rate limits with the ``limits`` library.

Embedded, the counters live in memory; with ``CHATDASH_REDIS_URL`` they live in Redis, so every
replica spends from one budget. A moving window is used, so "1/10seconds" means at most one request in
any 10-second span, not two across a window edge.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from chatdash.errors import RateLimited


class RateLimiter:
    """One limit (``limits`` notation) applied per identifier, e.g. ``("api-key", "42")``."""

    def __init__(self, limit: str, redis_url: str | None = None, *, key_prefix: str = "chatdash") -> None:
        self.item: RateLimitItem = parse(limit)
        self.storage: Storage = (
            RedisStorage(redis_url, key_prefix=key_prefix) if redis_url else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self.storage)

    def hit(self, *identifiers: str) -> tuple[int, float]:
        """Spend one request: (remaining, seconds until the window frees one), or ``RateLimited``."""
        allowed = self._limiter.hit(self.item, *identifiers)
        stats = self._limiter.get_window_stats(self.item, *identifiers)
        reset_after = max(0.0, stats.reset_time - time.time())
        if not allowed:
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
