"""Traces in the real database (SQLite and PostgreSQL): the round trip with spans, who may read which,
listing, purging, and the background writer: batches, flush, a clean close, a full buffer, and a
database that goes away and comes back."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, make_url, select

from chatdash.chat import users
from chatdash.config import load_settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.db.models import Span, Trace
from chatdash.errors import DatabaseUnavailable
from chatdash.tracing import (
    MemoryExporter,
    TraceRecord,
    TraceWriter,
    get_trace,
    list_traces,
    new_trace_id,
    purge_traces,
    write_traces,
    writer_for,
)
from chatdash.tracing.otlp import OtlpExporter
from tests.conftest import Database
from tests.unit.test_tracing_records import sample_trace

pytestmark = pytest.mark.timeout(120)


def stored(engine: Engine) -> tuple[int, int]:
    """(traces, spans) in the database."""
    with engine.connect() as conn:
        traces = conn.scalar(select(func.count()).select_from(Trace))
        spans = conn.scalar(select(func.count()).select_from(Span))
    return traces or 0, spans or 0


def people(engine: Engine) -> tuple[int, int, int]:
    """An admin (the first account is one) and two ordinary users, A and B."""
    admin = users.create_user(engine, "root", None).id
    return admin, users.create_user(engine, "alice", None).id, users.create_user(engine, "bob", None).id


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the store --------------------------------------------------------------------------------------


def test_a_trace_reads_back_as_written_with_its_spans(database: Database) -> None:
    _, alice, _ = people(database.engine)
    trace = sample_trace(alice)
    assert write_traces(database.engine, [trace]) == 1
    assert stored(database.engine) == (1, 3)

    read = get_trace(database.engine, trace.id, user_id=alice)
    assert read is not None
    expected = trace.as_dict()
    assert read.as_dict() == expected
    assert read.spans[2].attributes["at"] == trace.started_at.isoformat()  # not JSON: kept as its text
    assert [span.name for span in read.spans] == ["chat", "retrieve", "llm"]  # run order
    assert read.spans[1].output == [{"id": "doc-1", "text": "Sales are in sales_data.", "score": 0.82}]
    assert read.started_at.tzinfo is not None


def test_an_id_already_stored_is_skipped_not_an_error(database: Database) -> None:
    first, second = sample_trace(), sample_trace()
    assert write_traces(database.engine, [first, first]) == 1  # the same id twice in one batch
    assert write_traces(database.engine, [first, second]) == 1  # a retried batch: only the new one
    assert write_traces(database.engine, []) == 0
    assert stored(database.engine) == (2, 6)


def test_texts_longer_than_their_columns_are_cut_to_fit(database: Database) -> None:
    trace = sample_trace()
    trace.model = "m" * 300
    trace.spans[2].name = "n" * 150
    assert write_traces(database.engine, [trace]) == 1
    read = get_trace(database.engine, trace.id, user_id=None, admin=True)
    assert read is not None and read.model == "m" * 200 and read.spans[2].name == "n" * 100


def test_a_trace_is_read_by_its_user_or_an_admin_only(database: Database) -> None:
    admin, alice, bob = people(database.engine)
    alices, nobodys = sample_trace(alice), sample_trace(None, source="eval")
    write_traces(database.engine, [alices, nobodys])

    assert get_trace(database.engine, alices.id, user_id=alice) is not None
    assert get_trace(database.engine, alices.id, user_id=bob) is None  # looks exactly like a missing one
    assert get_trace(database.engine, alices.id, user_id=bob, admin=True) is not None
    assert get_trace(database.engine, alices.id, user_id=admin, admin=True) is not None
    assert get_trace(database.engine, new_trace_id(), user_id=admin, admin=True) is None
    assert get_trace(database.engine, "not-an-id", user_id=alice) is None
    assert get_trace(database.engine, nobodys.id, user_id=alice) is None  # a test-bed run: admins only
    assert get_trace(database.engine, nobodys.id, user_id=admin, admin=True) is not None


def test_traces_are_listed_newest_first_without_spans(database: Database) -> None:
    _, alice, bob = people(database.engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    hour = dt.timedelta(hours=1)
    old = sample_trace(alice, started=now - 3 * hour)
    middle = sample_trace(bob, started=now - 2 * hour, status="error")
    new = sample_trace(alice, started=now - hour)
    write_traces(database.engine, [middle, new, old])

    listed = list_traces(database.engine)
    assert [t.id for t in listed] == [new.id, middle.id, old.id]
    assert all(t.spans == [] for t in listed)
    assert [t.id for t in list_traces(database.engine, user_id=alice)] == [new.id, old.id]
    assert [t.id for t in list_traces(database.engine, limit=1)] == [new.id]
    assert [t.id for t in list_traces(database.engine, status="error")] == [middle.id]
    window = list_traces(database.engine, since=now - 2 * hour, until=now - hour)
    assert [t.id for t in window] == [middle.id]  # since inclusive, until exclusive
    assert list_traces(database.engine, user_id=alice, status="error") == []


def test_purge_deletes_old_traces_with_their_spans(database: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    old = [sample_trace(started=now - dt.timedelta(days=40)) for _ in range(3)]
    recent = sample_trace(started=now - dt.timedelta(days=1))
    write_traces(database.engine, [*old, recent])
    assert purge_traces(database.engine, now - dt.timedelta(days=30)) == 3
    assert stored(database.engine) == (1, 3)
    assert get_trace(database.engine, recent.id, user_id=None, admin=True) is not None
    assert purge_traces(database.engine, now - dt.timedelta(days=30)) == 0


def test_a_user_deleted_takes_their_traces_along(database: Database) -> None:
    _, alice, bob = people(database.engine)
    write_traces(database.engine, [sample_trace(alice), sample_trace(bob)])
    users.delete_user(database.engine, "alice", None)
    assert [t.user_id for t in list_traces(database.engine)] == [bob]


# -- the writer -------------------------------------------------------------------------------------


class BatchExporter(MemoryExporter):
    """Keeps the size of each batch it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def export(self, traces: Sequence[TraceRecord]) -> None:
        self.sizes.append(len(traces))
        super().export(traces)


def test_the_writer_writes_in_batches_and_close_loses_nothing(database: Database) -> None:
    exporter = BatchExporter()
    writer = TraceWriter(database.engine, buffer=1000, retention_days=30, exporter=exporter, batch=50)
    traces = [sample_trace() for _ in range(240)]
    for trace in traces[:120]:
        writer.record(trace)
    assert writer.flush(timeout=30)
    assert writer.written == 120 and stored(database.engine) == (120, 360)
    for trace in traces[120:]:
        writer.record(trace)
    assert writer.close(timeout=30)  # no flush first: close writes what is queued
    assert writer.written == 240 and writer.dropped == 0 and writer.pending == 0
    assert stored(database.engine) == (240, 720)
    assert max(exporter.sizes) <= 50 and sum(exporter.sizes) == 240
    assert [t.id for t in exporter.traces] == [t.id for t in traces]  # exported after writing, in order
    assert exporter.shut

    writer.record(sample_trace())  # after close: dropped and counted, not an error
    assert writer.dropped == 1


class BlockingExporter(MemoryExporter):
    """Holds the writer's thread inside ``export`` until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, traces: Sequence[TraceRecord]) -> None:
        self.entered.set()
        self.release.wait(30)
        super().export(traces)


def test_a_full_buffer_drops_new_traces_and_counts_them(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = BlockingExporter()
    writer = TraceWriter(database.engine, buffer=5, retention_days=30, exporter=exporter, interval=0.05)
    try:
        writer.record(sample_trace())
        assert exporter.entered.wait(20)  # the thread is busy with the first trace
        with caplog.at_level(logging.WARNING, logger="chatdash.tracing.writer"):
            start = time.monotonic()
            for _ in range(8):
                writer.record(sample_trace())  # 5 fit in the buffer, 3 do not
            assert time.monotonic() - start < 1.0  # record never waits
        assert writer.dropped == 3
        warnings = [r.getMessage() for r in caplog.records if "buffer is full" in r.getMessage()]
        assert len(warnings) == 1 and "CHATDASH_TRACE_BUFFER=5" in warnings[0]  # once a minute at most
        exporter.release.set()
        assert writer.flush(timeout=30)
        assert writer.written == 6 and stored(database.engine)[0] == 6
    finally:
        exporter.release.set()
        writer.close()


def test_the_writer_purges_old_traces_when_it_starts(database: Database) -> None:
    """It starts with the first trace recorded (a process that never replies runs no thread)."""
    now = dt.datetime.now(dt.UTC)
    write_traces(database.engine, [sample_trace(started=now - dt.timedelta(days=8)), sample_trace()])
    writer = TraceWriter(database.engine, buffer=10, retention_days=7)
    try:
        time.sleep(0.3)
        assert stored(database.engine)[0] == 2  # no trace yet: no thread, no purge
        writer.record(sample_trace())
        wait_for(lambda: stored(database.engine)[0] == 2 and writer.written == 1)
    finally:
        writer.close()


def test_a_trace_the_database_refuses_costs_only_itself(database: Database) -> None:
    _, alice, _ = people(database.engine)
    orphan = sample_trace(user_id=999_999)  # no such user: the foreign key refuses it
    fine = [sample_trace(alice), sample_trace(None)]
    writer = TraceWriter(database.engine, buffer=10, retention_days=30, interval=0.05)
    try:
        for trace in [fine[0], orphan, fine[1]]:
            writer.record(trace)
        assert writer.flush(timeout=30)
        assert writer.written == 2 and writer.rejected == 1
        assert {t.id for t in list_traces(database.engine)} == {t.id for t in fine}
    finally:
        writer.close()


class Proxy:
    """A TCP forwarder in front of PostgreSQL that can stop answering, as a server that went away does:
    down, it cuts the connections it carries and closes each new one at once."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.up = True
        self.closed = False
        self.carried: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
            client.settimeout(None)
            with self.lock:
                if not self.up:  # went down meanwhile
                    client.close()
                    upstream.close()
                    continue
                self.carried += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        with self.lock:
            self.up = False
            carried, self.carried = self.carried, []
        for end in carried:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.down()
        self.closed = True
        self.server.close()


@contextlib.contextmanager
def outage(
    database: Database, tmp_path: Path
) -> Iterator[tuple[Engine, Callable[[], None], Callable[[], None]]]:
    """An engine on a migrated database of the test's backend, and (down, up) to take that database away
    and bring it back: a PostgreSQL behind a proxy that stops answering, a SQLite file whose folder is
    moved away (the file cannot be opened)."""
    if database.backend == "sqlite":
        folder, away = tmp_path / "db", tmp_path / "away"
        engine = make_engine(f"sqlite:///{folder / 'traces.db'}")
        upgrade(engine)
        engine.dispose()

        def gone() -> None:
            engine.dispose()  # no pooled connection keeps the file open
            folder.rename(away)

        def back() -> None:
            if away.exists():
                away.rename(folder)

        yield engine, gone, back
        engine.dispose()
        return
    url = make_url(database.url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        schema=database.schema,
    )

    def up() -> None:
        proxy.up = True

    try:
        yield engine, proxy.down, up
    finally:
        engine.dispose()
        proxy.close()


def test_the_writer_keeps_its_batch_while_the_database_is_down(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with outage(database, tmp_path) as (engine, down, up):
        exporter = MemoryExporter()
        writer = TraceWriter(engine, buffer=100, retention_days=30, exporter=exporter, batch=2, interval=0.05)
        try:
            writer.record(sample_trace())
            assert writer.flush(timeout=30) and writer.written == 1  # up: written at once
            down()
            with pytest.raises(DatabaseUnavailable):
                list_traces(engine)
            with caplog.at_level(logging.WARNING, logger="chatdash.tracing.writer"):
                traces = [sample_trace() for _ in range(5)]
                for trace in traces[:3]:
                    writer.record(trace)
                wait_for(lambda: writer.retries >= 2)  # tried, and tried again
                for trace in traces[3:]:
                    writer.record(trace)  # still queue while the writer waits
                assert not writer.flush(timeout=0.3)
            assert writer.written == 1 and writer.dropped == 0 and writer.pending == 5
            assert any("wait for the database" in r.getMessage() for r in caplog.records)
            up()
            assert writer.flush(timeout=60)
            assert writer.written == 6 and writer.rejected == 0
            assert {t.id for t in list_traces(engine, limit=100)} >= {t.id for t in traces}
            assert len(exporter.traces) == 6
        finally:
            up()
            writer.close()


def test_close_with_the_database_down_gives_up_after_its_timeout(database: Database, tmp_path: Path) -> None:
    with outage(database, tmp_path) as (engine, down, up):
        writer = TraceWriter(engine, buffer=100, retention_days=30, interval=0.05)
        try:
            down()
            writer.record(sample_trace())
            writer.record(sample_trace())
            start = time.monotonic()
            assert writer.close(timeout=1.5) is False  # lost, and logged as lost
            assert time.monotonic() - start < 10
            assert writer.written == 0 and writer.lost == 2 and writer.pending == 0
        finally:
            up()


def test_writer_for_follows_the_settings(database: Database) -> None:
    assert writer_for(database.engine, load_settings(tracing=False)) is None
    writer = writer_for(database.engine, load_settings(tracing=True, trace_buffer=7, trace_retention_days=3))
    assert (
        writer is not None and writer.buffer == 7 and writer.retention.days == 3 and writer.exporter is None
    )
    writer.close()
    exporting = writer_for(database.engine, load_settings(otlp_endpoint="http://127.0.0.1:4318/"))
    assert exporting is not None and isinstance(exporting.exporter, OtlpExporter)
    assert exporting.exporter.endpoint == "http://127.0.0.1:4318/v1/traces"
    exporting.close()
