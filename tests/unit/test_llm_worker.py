"""The bounded queue in front of a model: one job at a time, a full queue refused at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from chatdash.errors import ModelBusy
from chatdash.llm.worker import Job, ModelWorker

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


def test_retry_after_grows_with_the_queue(worker: ModelWorker) -> None:
    gate, done = threading.Event(), []
    worker._mean_service = 3.0  # as if each request took 3 s
    worker.submit(blocking_job(gate, done, "a"))
    wait_until_running(worker)
    worker.submit(blocking_job(gate, done, "b"))
    assert worker.stats().retry_after_s == 6.0  # one running + one waiting, 3 s each
    gate.set()
