"""The bounded queue in front of a model: one job at a time, a full queue refused at once with an honest
Retry-After (the work ahead times the measured time of one request, or the requests' priors before any
was measured)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest

from chatdash.errors import ModelBusy
from chatdash.llm.worker import RETRY_AFTER_RANGE, Job, ModelWorker

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def worker() -> Iterator[ModelWorker]:
    model = ModelWorker("test", queue_size=2)
    yield model
    model.close()


def wait_until_running(worker: ModelWorker) -> None:
    while worker.stats().running == 0:
        time.sleep(0.001)


def blocking_job(gate: threading.Event, done: list[str], name: str) -> Job:
    def work(job: Job) -> None:
        gate.wait(10)
        done.append(name)
        job.emit(name)

    return Job(work, lambda item: None)


def test_jobs_run_one_at_a_time_and_a_full_queue_is_busy(worker: ModelWorker) -> None:
    gate, done = threading.Event(), []
    first = worker.submit(blocking_job(gate, done, "first"))
    wait_until_running(worker)
    worker.submit(blocking_job(gate, done, "second"))
    worker.submit(blocking_job(gate, done, "third"))
    with pytest.raises(ModelBusy, match="CHATDASH_LLM_QUEUE_SIZE=2") as caught:
        worker.submit(blocking_job(gate, done, "refused"))
    assert caught.value.retry_after >= 1
    stats = worker.stats()
    assert (stats.queued, stats.running, stats.rejected) == (2, 1, 1)
    time.sleep(0.05)
    gate.set()
    while worker.stats().served < 3:
        time.sleep(0.001)
    assert done == ["first", "second", "third"]
    assert first.wait_s < worker.stats().last_wait_s  # later jobs waited for the earlier ones


def test_a_cancelled_job_is_skipped_and_failures_are_reported(worker: ModelWorker) -> None:
    gate, done, received = threading.Event(), [], []
    worker.submit(blocking_job(gate, done, "first"))
    wait_until_running(worker)
    skipped = worker.submit(blocking_job(gate, done, "skipped"))
    skipped.cancel()

    def fail(job: Job) -> None:
        raise RuntimeError("decode failed")

    finished = threading.Event()

    def emit(item: object) -> None:
        received.append(item)
        finished.set()

    worker.submit(Job(fail, emit))
    gate.set()
    assert finished.wait(10)
    assert done == ["first"]
    assert isinstance(received[0], RuntimeError)
    assert worker.stats().served == 2  # the skipped job does not count as served


def whole_job(seconds: float) -> Job:
    """A request that takes ``seconds`` and runs to its end (``complete``), as a real reply does."""

    def work(job: Job) -> None:
        time.sleep(seconds)
        job.complete("done")

    return Job(work, lambda item: None)


def run_whole(worker: ModelWorker, seconds: float) -> None:
    served = worker.stats().served
    worker.submit(whole_job(seconds))
    while worker.stats().served == served:
        time.sleep(0.001)


def fill(worker: ModelWorker, gate: threading.Event, expected_s: float | None = None) -> ModelBusy:
    """One running and ``queue_size`` waiting jobs held at ``gate``; the refusal of one more."""

    def held(job: Job) -> None:
        gate.wait(10)
        job.complete("done")

    worker.submit(Job(held, lambda item: None, expected_s=expected_s))
    wait_until_running(worker)
    for _ in range(worker.queue_size):
        worker.submit(Job(held, lambda item: None, expected_s=expected_s))
    with pytest.raises(ModelBusy) as caught:
        worker.submit(Job(held, lambda item: None, expected_s=expected_s))
    return caught.value


def test_before_any_request_finished_the_estimate_is_the_priors_of_the_work_ahead() -> None:
    # The cause of `Retry-After: 1` under a burst: no request had finished, the mean service time was 0.
    worker = ModelWorker("test", queue_size=2, prior_s=7.0)
    gate = threading.Event()
    try:
        busy = fill(worker, gate, expected_s=20.0)
        assert busy.retry_after == 60.0  # one running and two waiting, each 20 s by its own prior
        assert "retry in about 60 s" in str(busy)
        assert worker.stats().retry_after_s == 60.0
    finally:
        gate.set()
        worker.close()
    unknown = ModelWorker("test", queue_size=1, prior_s=7.0)
    gate = threading.Event()
    try:
        assert fill(unknown, gate).retry_after == 14.0  # jobs without an estimate: the worker's prior
    finally:
        gate.set()
        unknown.close()


def test_retry_after_is_the_depth_ahead_times_the_measured_service_time(worker: ModelWorker) -> None:
    run_whole(worker, 0.6)
    run_whole(worker, 0.9)
    mean = worker.stats().mean_service_s
    assert 0.6 <= mean < 0.9  # a moving average that favours the newest: 0.6 + 0.2 * (0.9 - 0.6)
    gate = threading.Event()
    try:
        busy = fill(worker, gate, expected_s=100.0)  # measured now: the priors no longer count
        assert busy.retry_after == math.ceil(3 * mean) >= 2  # one running and two waiting
    finally:
        gate.set()


def test_only_whole_requests_measure_the_model() -> None:
    """A request that failed at once or was left after its first token is no sample of the model's
    speed: counting them dragged the estimate to 0 and the header to 1."""
    worker = ModelWorker("test", queue_size=1, prior_s=5.0)
    try:
        failed = threading.Event()

        def fail(job: Job) -> None:
            raise RuntimeError("bad grammar")

        worker.submit(Job(fail, lambda item: failed.set()))
        assert failed.wait(10)
        left, started = threading.Event(), threading.Event()

        def abandoned(job: Job) -> None:
            started.set()
            left.wait(10)  # the caller leaves after the first token

        job = worker.submit(Job(abandoned, lambda item: None))
        assert started.wait(10)
        job.cancel()
        left.set()
        while worker.stats().served < 2:
            time.sleep(0.001)
        stats = worker.stats()
        assert (stats.served, stats.mean_service_s) == (2, 0.0)
        gate = threading.Event()
        try:
            assert fill(worker, gate).retry_after == 10.0  # still the prior: 2 x 5 s
        finally:
            gate.set()
    finally:
        worker.close()


def test_retry_after_is_clamped() -> None:
    worker = ModelWorker("test", queue_size=1)
    gate = threading.Event()
    try:
        assert fill(worker, gate, expected_s=3600.0).retry_after == RETRY_AFTER_RANGE[1]
    finally:
        gate.set()
        worker.close()
    quick = ModelWorker("test", queue_size=1)
    gate = threading.Event()
    try:
        run_whole(quick, 0.0)
        assert fill(quick, gate).retry_after == RETRY_AFTER_RANGE[0] == 1.0
    finally:
        gate.set()
        quick.close()


def test_a_cancel_that_lands_as_an_item_arrives_is_not_lost(worker: ModelWorker) -> None:
    """A stop must stop: ``asyncio.wait_for`` on Python 3.11 returned the arriving item and dropped the
    cancel, so a reply stopped mid-stream sometimes ran to its end."""
    import asyncio
    import random

    from chatdash.llm.worker import run_job

    def chatter(job: Job) -> None:
        while not job.cancelled:
            job.emit("token")
            time.sleep(0.0002)

    async def consume() -> None:
        async for _ in run_job(worker, chatter, timeout=5):
            pass

    async def stops() -> list[bool]:
        pick, taken = random.Random(3), []
        for _ in range(200):
            task = asyncio.create_task(consume())
            await asyncio.sleep(pick.uniform(0, 0.003))
            task.cancel()
            await asyncio.wait({task}, timeout=10)  # a lost cancel never ends (chatter runs on): no rush
            if task.done() and not task.cancelled():
                task.result()  # an error (say ModelBusy) says itself, rather than as a "lost" cancel
            taken.append(task.cancelled())
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=2)
        return taken

    taken = asyncio.run(stops())
    assert all(taken), f"{taken.count(False)} of {len(taken)} cancels were lost"
