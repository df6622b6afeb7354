"""The Test bed page's questions, as typed functions over the test bed's tables and the traces.

Shaped like ``chatdash.tracing.quality``: functions that take an engine, SQLAlchemy Core that runs the
same on SQLite and PostgreSQL, aggregates computed in the database.

Definitions (one place; the page's help texts say the same):

- A run's *mean score* is the mean over its cases of each case's mean combined score (each case
  weighs the same, however many repeats scored): ``RunReport``'s mean, without its interval.
  Executions without a score (unscorable, or waiting for a person with nothing else scored) are left
  out; a provisional score (others scored, a manual one pending) counts as it stands.
- Its *pass rate* is the share of its scored executions with a score at or above the run's
  threshold (``eval_runs.settings``); None without a scored execution.
- *Waiting*: executions with a manual score not given yet.
- *Feedback per pipeline per day*: the ``feedback`` rows on the replies of the traces of each
  pipeline, by the UTC day the reply's trace started (the day the reply was written, not rated);
  a reply that two traces name is counted once. Test-bed traces name no reply, so they have none.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Float, case, cast, func, literal, select, union
from sqlalchemy.sql import ColumnElement

from chatdash.db.engine import connected
from chatdash.db.models import Base, EvalCase, EvalExecution, EvalRun, Feedback, Trace, User
from chatdash.errors import QueryError
from chatdash.evals.manual import PENDING_LIKE

_runs = Base.metadata.tables[EvalRun.__tablename__]
_executions = Base.metadata.tables[EvalExecution.__tablename__]
_cases = Base.metadata.tables[EvalCase.__tablename__]
_traces = Base.metadata.tables[Trace.__tablename__]
_feedback = Base.metadata.tables[Feedback.__tablename__]
_users = Base.metadata.tables[User.__tablename__]

MAX_RUNS = 1_000
DEFAULT_THRESHOLD = 0.5
"""A run's threshold when its settings do not name one (the scenario file's default)."""


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run as the runs table shows it, with the figures computed from its executions."""

    id: str
    scenario: str
    variant: dict[str, str]
    status: str
    cases: int
    repeat: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    pipeline: str | None
    threshold: float
    assertions: tuple[tuple[float, float], ...]
    """(below, at_most) of each of the scenario's assertions, as ``RunReport.of`` takes them."""
    executions: int
    scored: int
    """Executions with a combined score (provisional ones included)."""
    errors: int
    waiting: int
    """Executions with a manual score not given yet."""
    passes: int
    mean: float | None

    @property
    def pass_rate(self) -> float | None:
        return self.passes / self.scored if self.scored else None

    @property
    def planned(self) -> int:
        return self.cases * self.repeat


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    """One execution of a run, each evaluator's entry parsed (``scores``)."""

    id: int
    case_id: str
    repeat: int
    input: str
    expected: Any
    output: str
    error: str | None
    score: float | None
    status: str
    scores: list[dict[str, Any]]
    latency_ms: float
    trace_id: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PipelineDay:
    pipeline: str
    day: dt.date
    ratings: int
    mean_score: float


@dataclass(frozen=True, slots=True)
class RatedTrace:
    """A production trace whose reply was rated: the message, the reply, the ratings, and the
    scenarios it was already added to as a test case."""

    id: str
    started_at: dt.datetime
    user: str | None
    source: str
    pipeline: str
    input: str
    output: str
    ratings: int
    mean_score: float
    comments: tuple[str, ...]
    added_to: tuple[str, ...]


# -- runs ------------------------------------------------------------------------------------------


def runs(engine: Engine, *, scenario: str | None = None, limit: int = 200) -> list[RunRow]:
    """The newest ``limit`` runs (of one scenario, or all), newest first, with their figures."""
    if not 1 <= limit <= MAX_RUNS:
        raise QueryError(f"limit must be between 1 and {MAX_RUNS}, got {limit}")
    r = _runs
    stmt = select(r).order_by(r.c.started_at.desc(), r.c.id).limit(limit)
    if scenario is not None:
        stmt = stmt.where(r.c.scenario == scenario)
    with connected(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
        return _with_figures(conn, rows)


def get_run(engine: Engine, run_id: str) -> RunRow | None:
    """One run by its id; None when there is none."""
    with connected(engine) as conn:
        rows = conn.execute(select(_runs).where(_runs.c.id == run_id)).mappings().all()
        found = _with_figures(conn, rows)
    return found[0] if found else None


def _with_figures(conn: Connection, rows: Any) -> list[RunRow]:
    """The runs' figures from their executions in two grouped queries (counts and passes at each
    run's own threshold; the mean of case means)."""
    if not rows:
        return []
    settings = {row["id"]: _settings(row["settings"]) for row in rows}
    thresholds = {run_id: _threshold(s) for run_id, s in settings.items()}
    e = _executions
    ids = list(settings)
    scored = e.c.score.is_not(None)
    threshold = case(thresholds, value=e.c.run_id, else_=DEFAULT_THRESHOLD)
    counts = {
        row[0]: row[1:]
        for row in conn.execute(
            select(
                e.c.run_id,
                func.count(),
                _count_if(scored),
                _count_if(e.c.status == "error"),
                _count_if(e.c.scores.like(PENDING_LIKE)),
                _count_if(scored & (e.c.score >= threshold)),
            )
            .where(e.c.run_id.in_(ids))
            .group_by(e.c.run_id)
        ).all()
    }
    per_case = (
        select(e.c.run_id, func.avg(cast(e.c.score, Float)).label("m"))
        .where(e.c.run_id.in_(ids), scored)
        .group_by(e.c.run_id, e.c.case_id)
        .subquery("per_case")
    )
    means = dict(
        conn.execute(select(per_case.c.run_id, func.avg(per_case.c.m)).group_by(per_case.c.run_id)).all()
    )
    found = []
    for row in rows:
        run_id, s = row["id"], settings[row["id"]]
        executions, n_scored, errors, waiting, passes = (int(v) for v in counts.get(run_id, (0,) * 5))
        mean = means.get(run_id)
        found.append(
            RunRow(
                id=run_id,
                scenario=row["scenario"],
                variant=json.loads(row["variant"] or "{}"),
                status=row["status"],
                cases=row["cases"],
                repeat=row["repeat"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                pipeline=s.get("pipeline") if isinstance(s.get("pipeline"), str) else None,
                threshold=thresholds[run_id],
                assertions=_assertions(s),
                executions=executions,
                scored=n_scored,
                errors=errors,
                waiting=waiting,
                passes=passes,
                mean=float(mean) if mean is not None else None,
            )
        )
    return found


def _settings(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _threshold(settings: dict[str, Any]) -> float:
    value = settings.get("threshold")
    return float(value) if isinstance(value, int | float) else DEFAULT_THRESHOLD


def _assertions(settings: dict[str, Any]) -> tuple[tuple[float, float], ...]:
    found = []
    for item in settings.get("assertions") or []:
        if isinstance(item, dict) and "below" in item and "at_most" in item:
            found.append((float(item["below"]), float(item["at_most"])))
    return tuple(found)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def executions(engine: Engine, run_id: str) -> list[ExecutionRow]:
    """A run's executions by case, then repeat; empty for an unknown run."""
    e = _executions
    stmt = select(e).where(e.c.run_id == run_id).order_by(e.c.case_id, e.c.repeat)
    with connected(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        ExecutionRow(
            id=r["id"],
            case_id=r["case_id"],
            repeat=r["repeat"],
            input=r["input"],
            expected=json.loads(r["expected"]) if r["expected"] else None,
            output=r["output"],
            error=r["error"],
            score=r["score"],
            status=r["status"],
            scores=json.loads(r["scores"] or "[]"),
            latency_ms=r["latency_ms"],
            trace_id=r["trace_id"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def scenario_names(engine: Engine) -> list[str]:
    """Every scenario a run or an added case names, sorted."""
    names = union(select(_runs.c.scenario.label("name")), select(_cases.c.scenario.label("name"))).subquery()
    with connected(engine) as conn:
        return sorted(conn.execute(select(names.c.name)).scalars())


def scenario_pipelines(engine: Engine) -> dict[str, str]:
    """Each scenario's pipeline, as its newest run names it (how a production trace, which names its
    pipeline, is matched to the scenarios that test that pipeline)."""
    r = _runs
    with connected(engine) as conn:
        rows = conn.execute(select(r.c.scenario, r.c.settings).order_by(r.c.started_at, r.c.id)).all()
    found: dict[str, str] = {}
    for scenario, text in rows:
        pipeline = _settings(text).get("pipeline")
        if isinstance(pipeline, str):
            found[scenario] = pipeline
    return found


# -- production --------------------------------------------------------------------------------


def feedback_by_pipeline(engine: Engine) -> list[PipelineDay]:
    """Feedback per pipeline per UTC day (see the module's docstring), by day then pipeline."""
    t, fb = _traces, _feedback
    with connected(engine) as conn:
        day = _day(conn)
        replies = (
            select(t.c.pipeline, day.label("day"), t.c.message_id)
            .where(t.c.message_id.is_not(None))
            .distinct()
            .subquery("replies")
        )
        stmt = (
            select(replies.c.pipeline, replies.c.day, func.count(fb.c.id), func.avg(cast(fb.c.score, Float)))
            .select_from(replies.join(fb, fb.c.message_id == replies.c.message_id))
            .group_by(replies.c.pipeline, replies.c.day)
            .order_by(replies.c.day, replies.c.pipeline)
        )
        rows = conn.execute(stmt).all()
    return [PipelineDay(p, _as_date(d), int(n), float(mean)) for p, d, n, mean in rows]


def rated_traces(engine: Engine, *, limit: int = 100) -> list[RatedTrace]:
    """The newest ``limit`` traces whose reply has feedback, newest first, with their ratings."""
    if not 1 <= limit <= MAX_RUNS:
        raise QueryError(f"limit must be between 1 and {MAX_RUNS}, got {limit}")
    t, fb, u = _traces, _feedback, _users
    ratings = (
        select(
            fb.c.message_id,
            func.count(fb.c.id).label("ratings"),
            func.avg(cast(fb.c.score, Float)).label("mean_score"),
        )
        .group_by(fb.c.message_id)
        .subquery("ratings")
    )
    stmt = (
        select(t, u.c.username, ratings.c.ratings, ratings.c.mean_score)
        .select_from(
            t.join(ratings, ratings.c.message_id == t.c.message_id).outerjoin(u, u.c.id == t.c.user_id)
        )
        .order_by(t.c.started_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    with connected(engine) as conn:
        rows = conn.execute(stmt).all()
        messages = {row._mapping[t.c.message_id] for row in rows}
        ids = [row._mapping[t.c.id] for row in rows]
        comments: dict[int, list[str]] = {}
        for message_id, comment in conn.execute(
            select(fb.c.message_id, fb.c.comment)
            .where(fb.c.message_id.in_(messages), fb.c.comment.is_not(None), fb.c.comment != literal(""))
            .order_by(fb.c.created_at.desc(), fb.c.id.desc())
        ):
            comments.setdefault(message_id, []).append(comment)
        added: dict[str, set[str]] = {}
        for trace_id, scenario in conn.execute(
            select(_cases.c.trace_id, _cases.c.scenario).where(_cases.c.trace_id.in_(ids))
        ):
            added.setdefault(trace_id, set()).add(scenario)
    found = []
    for row in rows:
        m = row._mapping
        found.append(
            RatedTrace(
                id=m[t.c.id],
                started_at=m[t.c.started_at],
                user=m[u.c.username],
                source=m[t.c.source],
                pipeline=m[t.c.pipeline],
                input=m[t.c.input],
                output=m[t.c.output],
                ratings=int(m["ratings"]),
                mean_score=float(m["mean_score"]),
                comments=tuple(comments.get(m[t.c.message_id], ())),
                added_to=tuple(sorted(added.get(m[t.c.id], ()))),
            )
        )
    return found


def _day(conn: Connection) -> ColumnElement[Any]:
    """``started_at``'s UTC day, as ``chatdash.tracing.quality`` reads it on each backend."""
    if conn.dialect.name == "sqlite":
        return func.date(_traces.c.started_at)
    return func.date(func.timezone("UTC", _traces.c.started_at))


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
