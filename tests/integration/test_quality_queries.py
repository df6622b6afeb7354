"""The AI-quality queries (``chatdash.tracing.quality``) on SQLite and PostgreSQL: every figure against
a plain-Python computation over the rows the test wrote (``quality_data``), filters included."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import create_engine

from chatdash.db.engine import session_factory
from chatdash.db.models import Trace
from chatdash.errors import QueryError
from chatdash.tracing import quality
from chatdash.tracing.quality import QualityFilter
from tests.conftest import Database
from tests.integration.quality_data import (
    DAYS,
    FIRST_DAY,
    Seeded,
    as_figures,
    expected,
    nearest_rank,
    pick,
    seed,
)

DAY = dt.timedelta(days=1)
LAST_DAY = FIRST_DAY + (DAYS - 1) * DAY
FILTERS: list[dict[str, Any]] = [
    {},
    {"start": FIRST_DAY + DAY, "end": FIRST_DAY + DAY},
    {"start": FIRST_DAY + DAY, "end": FIRST_DAY + 3 * DAY},
    {"end": FIRST_DAY},
    {"start": LAST_DAY},
    {"prompts": ("chat-system@2",)},
    {"prompts": ("chat-system@1", "sales-fallback@1")},
    {"models": ("qwen2.5-0.5b",)},
    {"pipelines": ("sales", "eval-chat")},
    {"users": ("bob",)},
    {
        "users": ("alice", "carol"),
        "prompts": ("chat-system@1", "chat-system@2"),
        "models": ("smollm2-135m",),
        "start": FIRST_DAY + DAY,
        "end": LAST_DAY - DAY,
    },
    {"users": ("nobody",)},
    {"start": LAST_DAY + DAY},
]


@pytest.fixture
def seeded(database: Database) -> Seeded:
    return seed(database.engine)


def test_every_figure_matches_the_rows(database: Database, seeded: Seeded) -> None:
    for given in FILTERS:
        traces = pick(seeded.traces, **given)
        got = quality.key_metrics(database.engine, QualityFilter(**given))
        assert as_figures(got) == expected(traces, seeded.feedback), given
        if traces:
            errors = sum(t["status"] == "error" for t in traces)
            assert got.error_rate == errors / len(traces)
        else:
            assert got == quality.QualityMetrics() and got.error_rate is None and got.mean_score is None


def test_the_mix_has_what_the_definitions_turn_on(seeded: Seeded) -> None:
    """The independent side would prove little on rows without these cases."""
    traces = seeded.traces
    assert {t["status"] for t in traces} == {"complete", "stopped", "error"}
    assert {t["figure_check"] for t in traces} >= {None, "shown", "empty", "unchecked number 3.5"}
    assert any(t["ttft_ms"] is None for t in traces) and any(t["prompt_tokens"] is None for t in traces)
    assert any(t["user"] is None for t in traces) and any(t["message_id"] is None for t in traces)
    named = [t["message_id"] for t in traces if t["message_id"] is not None]
    assert len(named) > len(set(named)), "no reply is named by two traces"
    rated = [f["message_id"] for f in seeded.feedback]
    assert len(rated) > len(set(rated)), "no reply is rated twice"
    assert any(t["started_at"].time() == dt.time() for t in traces)
    assert any(t["started_at"].time() == dt.time(23, 59, 59, 999_999) for t in traces)


def test_a_reply_named_by_two_traces_counts_its_feedback_once(database: Database, seeded: Seeded) -> None:
    twice = next(
        m
        for m in {t["message_id"] for t in seeded.traces}
        if m is not None
        and sum(t["message_id"] == m for t in seeded.traces) > 1
        and any(f["message_id"] == m for f in seeded.feedback)
    )
    traces = [t for t in seeded.traces if t["message_id"] == twice]
    ratings = [f["score"] for f in seeded.feedback if f["message_id"] == twice]
    with session_factory(database.engine).begin() as session:  # only those traces left
        for trace in session.query(Trace).where(Trace.message_id.is_(None) | (Trace.message_id != twice)):
            session.delete(trace)
    got = quality.key_metrics(database.engine)
    assert got.requests == len(traces) > 1
    assert (got.scores, got.score_sum) == (len(ratings), sum(ratings))


def test_daily_is_per_utc_day(database: Database, seeded: Seeded) -> None:
    for given in FILTERS:
        traces = pick(seeded.traces, **given)
        days = sorted({t["started_at"].date() for t in traces})
        got = quality.daily(database.engine, QualityFilter(**given))
        assert [d.day for d in got] == days, given
        for day in got:
            on_day = [t for t in traces if t["started_at"].date() == day.day]
            assert as_figures(day.metrics) == expected(on_day, seeded.feedback), (given, day.day)


def test_days_do_not_follow_the_sessions_time_zone(database: Database, seeded: Seeded) -> None:
    """A PostgreSQL session in UTC+14 reads the same days (SQLite stores UTC text: nothing to vary)."""
    if database.schema is None:
        pytest.skip("PostgreSQL only: a SQLite connection has no time zone")
    options = f"-csearch_path={database.schema} -ctimezone=Pacific/Kiritimati"
    engine = create_engine(database.url, connect_args={"options": options})
    try:
        flt = QualityFilter(FIRST_DAY + DAY, FIRST_DAY + 2 * DAY)
        assert quality.daily(engine, flt) == quality.daily(database.engine, flt)
        assert quality.key_metrics(engine, flt) == quality.key_metrics(database.engine, flt)
        options_there = quality.filter_options(engine)
        assert options_there.days == quality.Days(FIRST_DAY, LAST_DAY)
    finally:
        engine.dispose()


def test_by_prompt_version(database: Database, seeded: Seeded) -> None:
    for given in FILTERS:
        traces = pick(seeded.traces, **given)
        prompts = {t["prompt"] for t in traces}
        order = sorted(prompts, key=lambda p: (p is None, p or ""))
        got = quality.by_prompt_version(database.engine, QualityFilter(**given))
        assert [row.prompt for row in got] == order, given
        for row in got:
            with_prompt = [t for t in traces if t["prompt"] == row.prompt]
            assert as_figures(row.metrics) == expected(with_prompt, seeded.feedback), (given, row.prompt)


def test_trace_pages_are_newest_first(database: Database, seeded: Seeded) -> None:
    for given in FILTERS:
        traces = sorted(pick(seeded.traces, **given), key=lambda t: (t["started_at"], t["id"]), reverse=True)
        flt = QualityFilter(**given)
        rows: list[quality.TraceRow] = []
        for offset in range(0, len(traces) + 1, 7):
            page = quality.trace_page(database.engine, flt, offset, 7)
            assert page.total == len(traces)
            rows += page.rows
        assert [row.id for row in rows] == [t["id"] for t in traces], given
    by_id = {t["id"]: t for t in seeded.traces}
    for row in quality.trace_page(database.engine, QualityFilter(), 0, 1000).rows:
        trace = by_id[row.id]
        ratings = [f["score"] for f in seeded.feedback if f["message_id"] == trace["message_id"]]
        assert (row.user, row.prompt, row.model, row.status, row.figure_check) == (
            trace["user"],
            trace["prompt"],
            trace["model"],
            trace["status"],
            trace["figure_check"],
        )
        assert (row.latency_ms, row.ttft_ms, row.prompt_tokens, row.completion_tokens) == (
            trace["latency_ms"],
            trace["ttft_ms"],
            trace["prompt_tokens"],
            trace["completion_tokens"],
        )
        assert row.started_at == trace["started_at"] and row.input == trace["input"]
        assert row.scores == len(ratings)
        assert row.mean_score == (pytest.approx(sum(ratings) / len(ratings)) if ratings else None)


def test_page_bounds(database: Database) -> None:
    for limit in (0, quality.MAX_PAGE_SIZE + 1):
        with pytest.raises(QueryError, match="page size"):
            quality.trace_page(database.engine, QualityFilter(), 0, limit)
    with pytest.raises(QueryError, match="offset"):
        quality.trace_page(database.engine, QualityFilter(), -1, 10)
    assert quality.trace_page(database.engine, QualityFilter(), 50, 10) == quality.TracePage([], 0)


def test_one_traces_spans_in_run_order(database: Database, seeded: Seeded) -> None:
    trace = seeded.traces[30]
    spans = quality.trace_spans(database.engine, trace["id"])
    written = seeded.spans[trace["id"]]
    assert [(s.id, s.parent_id, s.position, s.name, s.kind, s.status) for s in spans] == [
        (w["id"], w["parent_id"], w["position"], w["name"], w["kind"], w["status"]) for w in written
    ]
    root, recall, reply = spans
    assert root.parent_id is None and root.input == {"message": trace["input"]}
    assert recall.output == [{"text": "Revenue is counted in cents.", "score": 0.8}]
    assert reply.output == "not JSON: plain text"  # text that is not JSON comes back as it is
    assert (reply.model, reply.prompt, reply.prompt_tokens) == (
        trace["model"],
        trace["prompt"],
        trace["prompt_tokens"],
    )
    assert reply.attributes == {"temperature": 0.2}
    one = quality.get_trace(database.engine, trace["id"])
    assert one is not None and one.id == trace["id"] and one.output == trace["output"]
    assert quality.trace_spans(database.engine, "f" * 32) == []
    assert quality.get_trace(database.engine, "f" * 32) is None


def test_filter_options(database: Database) -> None:
    assert quality.filter_options(database.engine) == quality.FilterOptions(None)
    assert quality.key_metrics(database.engine) == quality.QualityMetrics()
    assert quality.daily(database.engine) == [] and quality.by_prompt_version(database.engine) == []
    seeded = seed(database.engine)
    options = quality.filter_options(database.engine)
    assert options.days == quality.Days(FIRST_DAY, LAST_DAY)
    assert options.prompts == sorted({t["prompt"] for t in seeded.traces if t["prompt"]})
    assert options.models == sorted({t["model"] for t in seeded.traces if t["model"]})
    assert options.pipelines == sorted({t["pipeline"] for t in seeded.traces})
    assert options.users == sorted({t["user"] for t in seeded.traces if t["user"]})


def test_nearest_rank_as_documented(database: Database) -> None:
    """p50 of 1, 2, 3, 4 is 2; p95 of ten values is the tenth; a single value is every percentile."""
    assert [nearest_rank([4.0, 1.0, 3.0, 2.0], p) for p in (50, 95)] == [2.0, 4.0]
    start = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
    with session_factory(database.engine).begin() as session:
        for i, latency in enumerate([10.0, 40.0, 20.0, 30.0, 100.0, 90.0, 80.0, 70.0, 60.0, 50.0]):
            session.add(
                Trace(
                    id=f"{i:032x}",
                    source="eval",
                    pipeline="chat",
                    input="q",
                    output="a",
                    status="complete",
                    started_at=start + dt.timedelta(days=i // 4),  # 4, 4 and 2 on three days
                    ended_at=start,
                    latency_ms=latency,
                    ttft_ms=latency / 10 if i == 0 else None,
                )
            )
    got = quality.key_metrics(database.engine)
    assert (got.latency_p50_ms, got.latency_p95_ms) == (50.0, 100.0)
    assert (got.ttft_p50_ms, got.ttft_p95_ms) == (1.0, 1.0)
    days = quality.daily(database.engine)
    assert [d.metrics.latency_p50_ms for d in days] == [20.0, 80.0, 50.0]  # 10 20 30 40 | 70..100 | 50 60


def test_the_filter_is_checked_and_normalised() -> None:
    with pytest.raises(QueryError, match="before start"):
        QualityFilter(dt.date(2025, 3, 2), dt.date(2025, 3, 1))
    for bad in ("chat-system", "chat-system@", "@2", "chat-system@two"):
        with pytest.raises(QueryError, match="name@version"):
            QualityFilter(prompts=(bad,))
    assert QualityFilter(models=("b", "a", "b")) == QualityFilter(models=("a", "b"))
    assert quality.parse_prompt("chat-system@12") == ("chat-system", 12)
    assert quality.prompt_label("chat-system", 12) == "chat-system@12"
