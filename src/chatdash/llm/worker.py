"""One thread per model, running its requests one at a time from a bounded queue.

A llama.cpp context is not thread-safe and does not batch here, so concurrent requests must take turns.
Taking turns behind an unbounded lock would let a burst pile up until every caller times out; a bounded
queue instead refuses the request that cannot be served in reasonable time, at once, with an estimate
of when to come back (``ModelBusy.retry_after``, the web layer's ``Retry-After``). The queue's depth
and its recent waiting and service times are public (``stats()``) for metrics and traces.

The estimate is the work ahead of a newcomer: every request waiting or running, times how long one
takes. How long one takes is measured: a moving average over recent *whole* requests (those whose work
called ``Job.complete``), queue wait excluded, so a request that failed at once or whose caller left
after a token does not pass for the model's speed. Until one request has been measured it is each
request's own prior (``Job.expected_s``: its prompt and ``max_tokens`` at a conservative speed), never
zero. A busy model that answered ``Retry-After: 1`` while its queue needed minutes sent every client
back at once, into the same full queue.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable

from chatdash.errors import ModelBusy, ModelUnavailable
from chatdash.llm.types import ProviderStats

log = logging.getLogger(__name__)

_SMOOTHING = 0.2  # weight of the newest request in the moving averages: recent load matters most

DEFAULT_PRIOR_S = 10.0
"""How long a request is assumed to take, before any has been measured, when it brings no estimate."""

RETRY_AFTER_RANGE = (1.0, 600.0)
"""Bounds of ``ModelBusy.retry_after`` in seconds: at least one (the header's unit); at most ten minutes,
after which a client asks again and gets a fresh estimate."""


class Job:
    """One request: ``work`` runs on the worker thread and reports through ``emit`` (thread-safe).

    ``expected_s`` is the caller's guess of the request's duration, used only until the worker has
    measured one (e.g. ``max_tokens`` at a conservative tokens per second). ``work`` emits its last
    item with ``complete()``, which marks the request as run whole. ``cancel()`` from any thread: a
    queued job is skipped, a running one stops at its next token.
    """

    def __init__(
        self, work: Callable[[Job], None], emit: Callable[[object], None], *, expected_s: float | None = None
    ) -> None:
        self.work = work
        self.emit = emit
        self.expected_s = expected_s
        self.enqueued_at = time.perf_counter()
        self.wait_s = 0.0
        self.completed = False
        self._cancelled = threading.Event()

    def complete(self, item: object) -> None:
        """Emit the request's last item: it ran whole, so its duration measures the model."""
        self.completed = True
        self.emit(item)

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class ModelWorker:
    """Runs jobs on one thread, holding at most ``queue_size`` waiting jobs besides the running one.

    ``prior_s`` is the duration assumed for a job without ``expected_s`` until one has been measured.
    """

    def __init__(self, name: str, queue_size: int, *, prior_s: float = DEFAULT_PRIOR_S) -> None:
        self.name = name
        self.queue_size = queue_size
        self.prior_s = prior_s
        self._pending: deque[Job] = deque()
        self._running: Job | None = None
        self._closed = False
        self._lock = threading.Condition()
        self._served = self._rejected = self._measured = 0
        self._last_wait = self._mean_wait = self._mean_service = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"chatdash-model-{name}", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> Job:
        """Queue ``job``; ``ModelBusy`` at once when the queue is full."""
        with self._lock:
            if self._closed:
                raise ModelUnavailable(f"the {self.name} model is shutting down; retry on another replica")
            if any(waiting.cancelled for waiting in self._pending):  # left before their turn: no place kept
                self._pending = deque(waiting for waiting in self._pending if not waiting.cancelled)
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
        """Whole seconds until the requests now waiting or running have likely been served (call with
        the lock held): their number times the measured time of one, or the sum of their priors before
        anything was measured; within ``RETRY_AFTER_RANGE``."""
        ahead = [*self._pending, *([self._running] if self._running else [])]
        if self._measured:
            seconds = len(ahead) * self._mean_service
        else:
            seconds = sum(self.prior_s if job.expected_s is None else job.expected_s for job in ahead)
        low, high = RETRY_AFTER_RANGE
        return float(min(high, max(low, math.ceil(seconds))))

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
            ran = not job.cancelled
            if ran:
                try:
                    job.work(job)
                except Exception as exc:  # reported to the caller; the worker must survive any request
                    log.debug("model job failed", exc_info=True)
                    job.emit(exc)
            self._record(job, ran, time.perf_counter() - started)

    def _record(self, job: Job, ran: bool, service_s: float) -> None:
        with self._lock:
            self._running = None
            if not ran:
                return  # skipped (its caller left while it waited): says nothing about the model
            self._served += 1
            self._last_wait = job.wait_s
            self._mean_wait = _moving(self._mean_wait, job.wait_s, first=self._served == 1)
            if job.completed:  # a whole request: the first one replaces the priors
                self._measured += 1
                self._mean_service = _moving(self._mean_service, service_s, first=self._measured == 1)


def _moving(mean: float, sample: float, *, first: bool) -> float:
    """The exponentially weighted mean after ``sample`` (the sample itself when it is the first)."""
    return sample if first else mean + _SMOOTHING * (sample - mean)


async def run_job(
    worker: ModelWorker, work: Callable[[Job], None], *, timeout: float, expected_s: float | None = None
) -> AsyncGenerator[object, None]:
    """Queue ``work`` on ``worker`` and yield what it emits, in the caller's event loop.

    An emitted exception is raised here; ``ModelBusy`` comes from the first step when the queue is
    full, and ``TimeoutError`` when nothing arrives for ``timeout`` seconds. The caller decides which
    item is the last; closing this iterator (or leaving it any other way) cancels the job.
    """
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[object] = asyncio.Queue()

    def emit(item: object) -> None:  # called on the worker thread
        try:
            loop.call_soon_threadsafe(inbox.put_nowait, item)
        except RuntimeError:  # the caller's event loop is gone: nobody is listening any more
            job.cancel()

    job = Job(work, emit, expected_s=expected_s)
    worker.submit(job)
    try:
        while True:
            # Not ``asyncio.wait_for``: on Python 3.11 it drops a cancel that lands as the item
            # arrives, and a stopped reply then runs to its end.
            async with asyncio.timeout(timeout):
                item = await inbox.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        job.cancel()
