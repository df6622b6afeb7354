"""The background trace writer: replies hand it their trace and go on; one thread writes them in batches.

``record`` never blocks and never raises: a trace joins a bounded queue (``CHATDASH_TRACE_BUFFER``), and
when the queue is full it is dropped and counted (``dropped``, and a warning at most once a minute)
rather than slowing a reply. The thread takes what has queued up (at most ``batch`` traces), writes them
in one transaction, then hands them to the exporter (OTLP), whose failures are logged and nothing more.
While the database is unavailable (down, not migrated yet, locked, out of disk) the thread keeps its
batch and tries again with growing pauses; new traces queue meanwhile, up to the buffer. A batch the
database refuses for what is in it (a trace of a user deleted meanwhile) is written trace by trace, so
only the refused trace is lost, and logged. It also deletes the traces older than
``CHATDASH_TRACE_RETENTION_DAYS``, when it starts and about hourly.

``close`` writes what is queued before the thread ends (within its timeout), so a clean shutdown loses
no trace; ``flush`` waits for everything recorded so far (tests, and a CLI run before it exits).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from chatdash.config import Settings
from chatdash.errors import NotInitialized, Unavailable
from chatdash.tracing.records import TraceRecord
from chatdash.tracing.store import purge_traces, write_traces

log = logging.getLogger(__name__)

WARN_EVERY = 60.0
"""Seconds between two warnings of the same kind (traces dropped, database still unavailable)."""
PURGE_EVERY = 3600.0
MAX_BACKOFF = 30.0


class TraceExporter(Protocol):
    """Where written traces go next (``OtlpExporter``, or ``MemoryExporter`` in tests)."""

    def export(self, traces: Sequence[TraceRecord]) -> None: ...

    def shutdown(self) -> None: ...


class MemoryExporter:
    """The test double of an exporter: keeps every trace it is handed, in order."""

    def __init__(self) -> None:
        self.traces: list[TraceRecord] = []
        self.shut = False
        self._lock = threading.Lock()

    def export(self, traces: Sequence[TraceRecord]) -> None:
        with self._lock:
            self.traces.extend(traces)

    def shutdown(self) -> None:
        self.shut = True


class TraceWriter:
    """One daemon thread writing recorded traces to ``engine``; see the module's docstring.

    Counters (read them any time): ``written`` traces stored, ``dropped`` refused by a full buffer (or
    recorded after ``close``), ``rejected`` refused by the database itself (a trace of a user deleted
    meanwhile, say: logged with the reason), ``lost`` still unwritten when ``close`` gave up on an
    unavailable database, ``retries`` attempts that found the database unavailable.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        buffer: int,
        retention_days: int,
        exporter: TraceExporter | None = None,
        batch: int = 200,
        interval: float = 0.5,
        purge_every: float = PURGE_EVERY,
    ) -> None:
        """``interval``: the longest the idle thread sleeps before it looks again (for a ``close``, and
        the hourly purge); a recorded trace is taken at once. ``batch``: traces per transaction at most."""
        self.engine = engine
        self.exporter = exporter
        self.batch = max(1, batch)
        self.interval = interval
        self.retention = dt.timedelta(days=retention_days)
        self.purge_every = purge_every
        self.buffer = buffer
        self.written = 0
        self.dropped = 0
        self.rejected = 0
        self.lost = 0
        self.retries = 0
        self._queue: queue.Queue[TraceRecord] = queue.Queue(maxsize=buffer)
        self._state = threading.Condition()
        self._accepted = 0
        self._handled = 0
        self._closed = False
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._drops_unreported = 0
        self._drop_warned_at = -WARN_EVERY
        self._thread: threading.Thread | None = None  # started by the first trace: a process that
        # never replies (a CLI command, a test's service) runs no thread and no purge

    # -- the reply's side ----------------------------------------------------------------------

    def record(self, trace: TraceRecord) -> None:
        """Queue ``trace`` for writing; never blocks, never raises (a full buffer drops it)."""
        with self._state:
            if not self._closed:
                try:
                    self._queue.put_nowait(trace)
                except queue.Full:
                    pass
                else:
                    self._accepted += 1
                    if self._thread is None:
                        self._thread = threading.Thread(
                            target=self._run, name="chatdash-trace-writer", daemon=True
                        )
                        self._thread.start()
                    return
            self.dropped += 1
            self._drops_unreported += 1
        self._report_drops()

    @property
    def pending(self) -> int:
        """Traces recorded and not yet written (or given up)."""
        with self._state:
            return self._accepted - self._handled

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every trace recorded before this call is written (or refused by the database);
        False when ``timeout`` seconds pass first (a database that stays unavailable)."""
        with self._state:
            target = self._accepted
            return self._state.wait_for(lambda: self._handled >= target, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued, stop the thread and shut the exporter down. True when nothing was lost;
        traces still unwritten after ``timeout`` seconds (the database down at shutdown) are logged as
        lost. Later ``record`` calls drop their trace."""
        with self._state:
            if self._closed:
                return self._handled >= self._accepted and not self.lost
            self._closed = True
            self._deadline = time.monotonic() + timeout
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout + self.interval + 1.0)
        if self.exporter is not None:
            try:
                self.exporter.shutdown()
            except Exception:
                log.exception("the trace exporter failed to shut down")
        with self._state:
            return self._handled >= self._accepted and not self.lost

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        next_purge = 0.0
        while True:
            if time.monotonic() >= next_purge and not self._closing.is_set():
                next_purge = time.monotonic() + (self.purge_every if self._purge() else WARN_EVERY)
            batch = self._take()
            if batch:
                self._write(batch)
            elif self._closing.is_set():
                return
            self._report_drops()

    def _take(self) -> list[TraceRecord]:
        try:
            batch = [self._queue.get(timeout=self.interval)]
        except queue.Empty:
            return []
        while len(batch) < self.batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[TraceRecord]) -> None:
        backoff, warned_at, failures = 0.5, -WARN_EVERY, 0
        while True:
            try:
                written = write_traces(self.engine, batch)
            except (Unavailable, NotInitialized, OperationalError) as exc:  # the database, not the traces
                failures += 1
                with self._state:
                    self.retries += 1
                now = time.monotonic()
                if self._closing.is_set() and now >= self._deadline:
                    lost = len(batch) + self._queue.qsize()
                    log.error(
                        "shutting down with the database unavailable: %d traces not written (%s)", lost, exc
                    )
                    self._abandon(batch)
                    return
                if now - warned_at >= WARN_EVERY:
                    warned_at = now
                    log.warning(
                        "%d traces wait for the database (%s); %d more queued, retrying",
                        len(batch),
                        exc,
                        self._queue.qsize(),
                    )
                pause = backoff if not self._closing.is_set() else min(backoff, self._deadline - now)
                if self._closing.is_set():
                    time.sleep(max(0.0, pause))
                else:
                    self._closing.wait(pause)  # a close cuts the pause short: one more try, then its deadline
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception:
                written = self._write_one_by_one(batch)
            if failures:
                log.info("the database is back: traces are written again (after %d failed tries)", failures)
            self._export(batch)
            self._done(batch, written)
            return

    def _write_one_by_one(self, batch: list[TraceRecord]) -> int:
        """A batch the database refused (not for being down): each trace alone, so one bad trace costs
        only itself."""
        written = 0
        for trace in batch:
            try:
                written += write_traces(self.engine, [trace])
            except Exception as exc:
                with self._state:
                    self.rejected += 1
                log.error(
                    "trace %s was not stored: %s", trace.id, str(exc).splitlines()[0] if str(exc) else exc
                )
        return written

    def _export(self, batch: list[TraceRecord]) -> None:
        if self.exporter is None:
            return
        try:
            self.exporter.export(batch)
        except Exception:
            log.exception("exporting %d traces failed", len(batch))

    def _done(self, batch: list[TraceRecord], written: int) -> None:
        with self._state:
            self.written += written
            self._handled += len(batch)
            self._state.notify_all()

    def _abandon(self, batch: list[TraceRecord]) -> None:
        """Give up on ``batch`` and whatever is queued (a close whose deadline passed)."""
        abandoned = list(batch)
        while True:
            try:
                abandoned.append(self._queue.get_nowait())
            except queue.Empty:
                break
        with self._state:
            self.lost += len(abandoned)
        self._done(abandoned, 0)

    def _purge(self) -> bool:
        cutoff = dt.datetime.now(dt.UTC) - self.retention
        try:
            purged = purge_traces(self.engine, cutoff)
        except Exception as exc:
            log.warning("traces older than %s were not purged (tried again later): %s", cutoff, exc)
            return False
        if purged:
            log.info("purged %d traces older than %d days", purged, self.retention.days)
        return True

    def _report_drops(self) -> None:
        now = time.monotonic()
        with self._state:
            if not self._drops_unreported or now - self._drop_warned_at < WARN_EVERY:
                return
            count, total = self._drops_unreported, self.dropped
            self._drops_unreported, self._drop_warned_at = 0, now
        log.warning(
            "the trace buffer is full (CHATDASH_TRACE_BUFFER=%d): %d traces dropped since the last warning, "
            "%d in all",
            self.buffer,
            count,
            total,
        )


def writer_for(engine: Engine, settings: Settings) -> TraceWriter | None:
    """The writer the settings ask for: None when ``CHATDASH_TRACING`` is off; exporting to
    ``CHATDASH_OTLP_ENDPOINT`` when that is set."""
    if not settings.tracing:
        return None
    exporter: TraceExporter | None = None
    if settings.otlp_endpoint:
        from chatdash.tracing.otlp import OtlpExporter  # the OpenTelemetry SDK loads only when used

        exporter = OtlpExporter(settings.otlp_endpoint)
    return TraceWriter(
        engine, buffer=settings.trace_buffer, retention_days=settings.trace_retention_days, exporter=exporter
    )
