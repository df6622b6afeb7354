"""One thread per model, running its requests one at a time from a bounded queue.

A llama.cpp context is not thread-safe and does not batch here, so concurrent requests must take turns.
Taking turns behind an unbounded lock would let a burst pile up until every caller times out; a bounded
queue instead refuses the request that cannot be served in reasonable time, at once, with an estimate
of when to come back (``ModelBusy.retry_after``, the web layer's ``Retry-After``). The queue's depth
and its recent waiting and service times are public (``stats()``) for metrics and traces.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from chatdash.errors import ModelBusy, ModelUnavailable
from chatdash.llm.types import ProviderStats

log = logging.getLogger(__name__)

_SMOOTHING = 0.2  # weight of the newest request in the moving averages: recent load matters most


class Job:
    """One request: ``work`` runs on the worker thread and reports through ``emit`` (thread-safe).

    ``cancel()`` from any thread: a queued job is skipped, a running one stops at its next token.
    """

    def __init__(self, work: Callable[[Job], None], emit: Callable[[object], None]) -> None:
        self.work = work
        self.emit = emit
        self.enqueued_at = time.perf_counter()
        self.wait_s = 0.0
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class ModelWorker:
    """Runs jobs on one thread, holding at most ``queue_size`` waiting jobs besides the running one."""

    def __init__(self, name: str, queue_size: int) -> None:
        self.name = name
        self.queue_size = queue_size
        self._pending: deque[Job] = deque()
        self._running: Job | None = None
        self._closed = False
        self._lock = threading.Condition()
        self._served = self._rejected = 0
        self._last_wait = self._mean_wait = self._mean_service = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"chatdash-model-{name}", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> Job:
        """Queue ``job``; ``ModelBusy`` at once when the queue is full."""
        with self._lock:
            if self._closed:
                raise ModelUnavailable(f"the {self.name} model is shutting down; retry on another replica")
            if len(self._pending) >= self.queue_size and (self._running or self._pending):
                self._rejected += 1
                retry_after = self._retry_after()
                raise ModelBusy(
                    f"the {self.name} model is busy: {len(self._pending)} requests already wait "
                    f"(CHATDASH_LLM_QUEUE_SIZE={self.queue_size}); retry in about {retry_after:.0f} s, "
                    "or serve the model from more replicas (CHATDASH_LLM_BASE_URL)",
                    retry_after=retry_after,
                )
            job.enqueued_at = time.perf_counter()
            self._pending.append(job)
            self._lock.notify()
        return job

    def stats(self) -> ProviderStats:
        with self._lock:
            return ProviderStats(
                queued=len(self._pending),
                running=1 if self._running else 0,
                served=self._served,
                rejected=self._rejected,
                last_wait_s=round(self._last_wait, 4),
                mean_wait_s=round(self._mean_wait, 4),
                mean_service_s=round(self._mean_service, 4),
                retry_after_s=self._retry_after(),
            )

    def _retry_after(self) -> float:
        """Seconds until the queue has likely drained enough for one more request (at least 1)."""
        ahead = len(self._pending) + (1 if self._running else 0)
        return float(max(1, math.ceil(ahead * self._mean_service)))

    def close(self, timeout: float = 10.0) -> None:
        """Refuse new jobs, cancel waiting ones, let the running one stop, and end the thread."""
        with self._lock:
            self._closed = True
            abandoned = list(self._pending)
            self._pending.clear()
            if self._running:
                self._running.cancel()
            self._lock.notify_all()
        for job in abandoned:
            job.emit(ModelUnavailable(f"the {self.name} model was shut down before this request ran"))
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._running = self._pending.popleft()
            started = time.perf_counter()
            job.wait_s = started - job.enqueued_at
            if not job.cancelled:
                try:
                    job.work(job)
                except Exception as exc:  # reported to the caller; the worker must survive any request
                    log.debug("model job failed", exc_info=True)
                    job.emit(exc)
            self._record(job, time.perf_counter() - started)

    def _record(self, job: Job, service_s: float) -> None:
        with self._lock:
            self._running = None
            if job.cancelled and service_s < 1e-3:
                return  # skipped without running: says nothing about the model's speed
            self._served += 1
            self._last_wait = job.wait_s
            if self._served == 1:
                self._mean_wait, self._mean_service = job.wait_s, service_s
            else:
                self._mean_wait += _SMOOTHING * (job.wait_s - self._mean_wait)
                self._mean_service += _SMOOTHING * (service_s - self._mean_service)
