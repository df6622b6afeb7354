"""The AI-quality page's questions, as typed functions over ``traces``, ``spans`` and ``feedback``.

Shaped like ``chatdash.sales.queries``: a frozen filter (``QualityFilter``), functions that take an
engine and the filter, SQLAlchemy Core that runs the same on SQLite and PostgreSQL. Every aggregate
is computed in the database (counts, sums and the percentiles, by window functions), so a page costs
the number of groups it shows, not the number of traces.

Definitions (one place; the page's help texts say the same):

- A *request* is a trace (one reply, API call or test-bed execution) whose ``started_at`` falls in
  the filter's days. Days are whole UTC days, both ends inclusive.
- *Error rate*: traces with ``status = 'error'`` / requests (``stopped`` ones count as requests, not
  errors); None without requests.
- *Latency* and *time to first token* percentiles are **nearest-rank**: of the n values in ascending
  order, the p-th percentile is the k-th with k = ceil(p * n / 100) (p50 of 1, 2, 3, 4 is 2; p95 of
  ten values is the tenth). Latency is every selected trace's ``latency_ms`` (errors and stops
  included: users waited for them too); time to first token is over the traces that have one. None
  when there are no values.
- *Tokens*: the sums of ``prompt_tokens`` and ``completion_tokens`` (a trace without a count adds 0).
- *Feedback*: the ``feedback`` rows on the replies of the selected traces (``feedback.message_id`` =
  ``traces.message_id``), each row counted once per group even if two traces name the same reply, and
  whoever gave it. Its *mean score* is the plain mean of their ``score`` (in [0, 1]); None without any.
- *Figure check*: a trace's ``figure_check`` is ``shown`` (the model's prose passed and was shown),
  ``empty`` (the model wrote nothing), NULL (no sales answer, nothing checked) or, any other text,
  why the prose failed. *Checked* = traces whose ``figure_check`` is neither NULL nor ``empty``;
  *failed* = checked ones whose value is not ``shown``; the *failure rate* is failed / checked, None
  when nothing was checked.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    Select,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement

from chatdash.db.engine import connected
from chatdash.db.models import Base, Feedback, Span, Trace, User
from chatdash.errors import QueryError

_traces = Base.metadata.tables[Trace.__tablename__]
_spans = Base.metadata.tables[Span.__tablename__]
_feedback = Base.metadata.tables[Feedback.__tablename__]
_users = Base.metadata.tables[User.__tablename__]

PERCENTILES = (50, 95)
MAX_PAGE_SIZE = 1_000
SHOWN, EMPTY = "shown", "empty"
"""The ``figure_check`` values that are not a failure (see the module's docstring)."""


def prompt_label(name: str | None, version: int | None) -> str | None:
    """``('chat-system', 2) -> 'chat-system@2'``, the way the filter and the page name a prompt version."""
    if name is None:
        return None
    return f"{name}@{version}" if version is not None else name


def parse_prompt(label: str) -> tuple[str, int]:
    """``'chat-system@2' -> ('chat-system', 2)``; ``QueryError`` for anything else."""
    name, at, version = label.rpartition("@")
    if not at or not name or not (version.isascii() and version.isdigit()):
        raise QueryError(f"a prompt version is written name@version, e.g. chat-system@2; got {label!r}")
    return name, int(version)


@dataclass(frozen=True, slots=True)
class QualityFilter:
    """Which traces a figure is about. Dates are inclusive whole UTC days on ``started_at``; an empty
    tuple means all. ``prompts`` are ``name@version``, ``users`` usernames."""

    start: dt.date | None = None
    end: dt.date | None = None
    prompts: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise QueryError(
                f"end date {self.end.isoformat()} is before start date {self.start.isoformat()}: "
                "pick an end on or after the start"
            )
        for label in self.prompts:
            parse_prompt(label)
        # Normalised, so that equal filters are equal (and cache keys match).
        for name in ("prompts", "models", "pipelines", "users"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))


ALL = QualityFilter()


@dataclass(frozen=True, slots=True)
class Days:
    """The first and the last UTC day with a trace."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """What the filters can offer: the values the traces hold, sorted; ``days`` None without traces."""

    days: Days | None
    prompts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    """The figures of a set of traces (all of the filter's, one day's or one prompt version's)."""

    requests: int = 0
    errors: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    scores: int = 0
    """Feedback rows on the traces' replies."""
    score_sum: float = 0.0
    checked: int = 0
    """Traces whose prose went through the figure check (``figure_check`` not NULL, not ``empty``)."""
    failed: int = 0
    """Checked traces whose prose failed it (``figure_check`` not ``shown``)."""

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scores if self.scores else None

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.checked if self.checked else None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class DayQuality:
    day: dt.date
    metrics: QualityMetrics


@dataclass(frozen=True, slots=True)
class PromptQuality:
    prompt: str | None
    """``name@version``; None for the traces that used no prompt (e.g. a sales answer alone)."""
    metrics: QualityMetrics


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One trace as the table and the drill-down show it."""

    id: str
    started_at: dt.datetime
    user: str | None
    source: str
    pipeline: str
    status: str
    error: str | None
    latency_ms: float
    ttft_ms: float | None
    model: str | None
    prompt: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    figure_check: str | None
    message_id: int | None
    input: str
    output: str
    scores: int
    """Feedback rows on the trace's reply."""
    mean_score: float | None


@dataclass(frozen=True, slots=True)
class TracePage:
    rows: list[TraceRow]
    total: int
    """Traces the filter selects (all pages)."""


@dataclass(frozen=True, slots=True)
class SpanRow:
    """One step of a trace; ``input``, ``output`` and ``attributes`` parsed from their JSON (text
    that is not JSON is returned as it is)."""

    id: str
    parent_id: str | None
    position: int
    name: str
    kind: str
    status: str
    error: str | None
    started_at: dt.datetime
    latency_ms: float
    ttft_ms: float | None
    model: str | None
    prompt: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    input: Any
    output: Any
    attributes: Any


# -- what is there ---------------------------------------------------------------------------


def filter_options(engine: Engine) -> FilterOptions:
    """The prompt versions, models, pipelines and users the traces name, and their first/last day."""
    t = _traces
    with connected(engine) as conn:
        first, last = conn.execute(select(func.min(t.c.started_at), func.max(t.c.started_at))).one()
        if first is None:
            return FilterOptions(None)
        prompt_rows = conn.execute(
            select(t.c.prompt_name, t.c.prompt_version)
            .where(t.c.prompt_name.is_not(None))
            .distinct()
            .order_by(t.c.prompt_name, t.c.prompt_version)
        ).all()
        models = _distinct(conn, t.c.model)
        pipelines = _distinct(conn, t.c.pipeline)
        users = list(
            conn.execute(
                select(_users.c.username)
                .where(_users.c.id.in_(select(t.c.user_id).where(t.c.user_id.is_not(None))))
                .order_by(_users.c.username)
            ).scalars()
        )
    prompts = [label for name, version in prompt_rows if (label := prompt_label(name, version))]
    return FilterOptions(Days(_utc_day(first), _utc_day(last)), prompts, models, pipelines, users)


def _distinct(conn: Connection, column: ColumnElement[Any]) -> list[str]:
    stmt = select(column).where(column.is_not(None)).distinct().order_by(column)
    return list(conn.execute(stmt).scalars())


def _utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


# -- the figures -------------------------------------------------------------------------------


def key_metrics(engine: Engine, flt: QualityFilter = ALL) -> QualityMetrics:
    """Every figure of the module's docstring over the traces the filter selects."""
    with connected(engine) as conn:
        return _summaries(conn, flt, []).get((), QualityMetrics())


def daily(engine: Engine, flt: QualityFilter = ALL) -> list[DayQuality]:
    """The figures per UTC day, oldest first; days without traces are absent."""
    with connected(engine) as conn:
        summaries = _summaries(conn, flt, [_day(conn)])
    by_day = {_as_date(key[0]): metrics for key, metrics in summaries.items()}
    return [DayQuality(day, by_day[day]) for day in sorted(by_day)]


def by_prompt_version(engine: Engine, flt: QualityFilter = ALL) -> list[PromptQuality]:
    """The figures per prompt version (name, then version; traces without a prompt last)."""
    t = _traces
    with connected(engine) as conn:
        summaries = _summaries(conn, flt, [t.c.prompt_name, t.c.prompt_version])

    def order(key: tuple[Any, ...]) -> tuple[bool, str, int]:
        name, version = key
        return name is None, name or "", version if version is not None else -1

    return [PromptQuality(prompt_label(*key), summaries[key]) for key in sorted(summaries, key=order)]


def _summaries(
    conn: Connection, flt: QualityFilter, groups: list[ColumnElement[Any]]
) -> dict[tuple[Any, ...], QualityMetrics]:
    """``QualityMetrics`` per value of ``groups`` (one entry keyed ``()`` without groups; none when
    the filter selects no trace): one aggregate query, one per percentile series, one for feedback."""
    t = _traces
    where = _where(flt)
    checked = and_(t.c.figure_check.is_not(None), t.c.figure_check != EMPTY)
    totals = (
        select(
            *groups,
            func.count(),
            _count_if(t.c.status == "error"),
            func.coalesce(func.sum(t.c.prompt_tokens), 0),
            func.coalesce(func.sum(t.c.completion_tokens), 0),
            _count_if(checked),
            _count_if(and_(checked, t.c.figure_check != SHOWN)),
        )
        .where(*where)
        .group_by(*groups)
    )
    width = len(groups)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(totals).all():
        key = tuple(row[:width])
        requests, errors, prompt, completion, n_checked, n_failed = (int(v) for v in row[width:])
        if requests:
            found[key] = {
                "requests": requests,
                "errors": errors,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "checked": n_checked,
                "failed": n_failed,
            }
    if not found:
        return {}
    for column, name in ((t.c.latency_ms, "latency"), (t.c.ttft_ms, "ttft")):
        for key, values in _percentiles(conn, column, groups, where).items():
            for p, value in values.items():
                found[key][f"{name}_p{p}_ms"] = value
    for key, (count, total) in _feedback_by(conn, groups, where).items():
        if key in found:
            found[key] |= {"scores": count, "score_sum": total}
    return {key: QualityMetrics(**figures) for key, figures in found.items()}


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _percentiles(
    conn: Connection,
    value: ColumnElement[Any],
    groups: list[ColumnElement[Any]],
    where: list[ColumnElement[bool]],
) -> dict[tuple[Any, ...], dict[int, float]]:
    """The nearest-rank ``PERCENTILES`` of ``value`` (NULLs left out) per group: each group's values
    are numbered in ascending order (``row_number``) and counted (``count`` over the same partition),
    and only the rows numbered ceil(p * n / 100) come back, written (p * n + 99) // 100 in integers."""
    partition = groups or None
    keys = [group.label(f"g{i}") for i, group in enumerate(groups)]
    ranked = (
        select(
            *keys,
            value.label("v"),
            func.row_number().over(partition_by=partition, order_by=value).label("k"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(value.is_not(None), *where)
        .subquery("ranked")
    )
    wanted = or_(*(ranked.c.k == (p * ranked.c.n + 99) // 100 for p in PERCENTILES))
    stmt = select(*(ranked.c[key.name] for key in keys), ranked.c.k, ranked.c.n, ranked.c.v).where(wanted)
    found: dict[tuple[Any, ...], dict[int, float]] = {}
    for row in conn.execute(stmt).all():
        key, (k, n, v) = tuple(row[: len(keys)]), row[len(keys) :]
        for p in PERCENTILES:
            if (p * n + 99) // 100 == k:
                found.setdefault(key, {})[p] = float(v)
    return found


def _feedback_by(
    conn: Connection, groups: list[ColumnElement[Any]], where: list[ColumnElement[bool]]
) -> dict[tuple[Any, ...], tuple[int, float]]:
    """(feedback rows, sum of their scores) per group: each group's distinct replies, joined to their
    feedback, so a reply that two traces name is counted once."""
    t, fb = _traces, _feedback
    keys = [group.label(f"g{i}") for i, group in enumerate(groups)]
    replies = (
        select(*keys, t.c.message_id.label("message_id"))
        .where(t.c.message_id.is_not(None), *where)
        .distinct()
        .subquery("replies")
    )
    columns = [replies.c[key.name] for key in keys]
    stmt = (
        select(*columns, func.count(fb.c.id), func.sum(cast(fb.c.score, Float)))
        .select_from(replies.join(fb, fb.c.message_id == replies.c.message_id))
        .group_by(*columns)
    )
    return {
        tuple(row[: len(keys)]): (int(row[len(keys)]), float(row[len(keys) + 1] or 0.0))
        for row in conn.execute(stmt).all()
    }


def _day(conn: Connection) -> ColumnElement[Any]:
    """``started_at``'s UTC day: SQLite stores UTC text (``date()`` reads it), PostgreSQL a timestamptz
    (its day depends on the session's time zone unless it is read in UTC)."""
    if conn.dialect.name == "sqlite":
        return func.date(_traces.c.started_at)
    return func.date(func.timezone("UTC", _traces.c.started_at))


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _where(flt: QualityFilter) -> list[ColumnElement[bool]]:
    t = _traces
    clauses: list[ColumnElement[bool]] = []
    if flt.start:
        clauses.append(t.c.started_at >= _midnight(flt.start))
    if flt.end:
        clauses.append(t.c.started_at < _midnight(flt.end + dt.timedelta(days=1)))
    if flt.prompts:
        versions = [parse_prompt(label) for label in flt.prompts]
        clauses.append(or_(*(and_(t.c.prompt_name == name, t.c.prompt_version == v) for name, v in versions)))
    if flt.models:
        clauses.append(t.c.model.in_(flt.models))
    if flt.pipelines:
        clauses.append(t.c.pipeline.in_(flt.pipelines))
    if flt.users:
        clauses.append(t.c.user_id.in_(select(_users.c.id).where(_users.c.username.in_(flt.users))))
    return clauses


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


# -- single traces -----------------------------------------------------------------------------


def trace_page(engine: Engine, flt: QualityFilter = ALL, offset: int = 0, limit: int = 25) -> TracePage:
    """The selected traces, newest first (ties by id), ``limit`` of them from ``offset``, and how many
    the filter selects in all. Offset paging: the page reads and drops the rows before it, which is
    fine for the pages a person turns through."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QueryError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    if offset < 0:
        raise QueryError(f"offset must be 0 or more, got {offset}")
    t = _traces
    where = _where(flt)
    stmt = _trace_select().where(*where).order_by(t.c.started_at.desc(), t.c.id.desc())
    with connected(engine) as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        rows = conn.execute(stmt.offset(offset).limit(limit)).all()
    return TracePage([_trace_row(row) for row in rows], total)


def get_trace(engine: Engine, trace_id: str) -> TraceRow | None:
    """One trace by its id, whatever the filter; None when there is no such trace."""
    with connected(engine) as conn:
        row = conn.execute(_trace_select().where(_traces.c.id == trace_id)).first()
    return _trace_row(row) if row is not None else None


def trace_spans(engine: Engine, trace_id: str) -> list[SpanRow]:
    """A trace's spans in run order (the root span first); empty for an unknown trace."""
    s = _spans
    stmt = select(s).where(s.c.trace_id == trace_id).order_by(s.c.position, s.c.started_at)
    with connected(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        SpanRow(
            id=row["id"],
            parent_id=row["parent_id"],
            position=row["position"],
            name=row["name"],
            kind=row["kind"],
            status=row["status"],
            error=row["error"],
            started_at=row["started_at"],
            latency_ms=row["latency_ms"],
            ttft_ms=row["ttft_ms"],
            model=row["model"],
            prompt=prompt_label(row["prompt_name"], row["prompt_version"]),
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            input=_json(row["input"]),
            output=_json(row["output"]),
            attributes=_json(row["attributes"]),
        )
        for row in rows
    ]


def _trace_select() -> Select[Any]:
    t, fb = _traces, _feedback
    scores = (
        select(
            fb.c.message_id.label("message_id"),
            func.count(fb.c.id).label("scores"),
            func.avg(cast(fb.c.score, Float)).label("mean_score"),
        )
        .group_by(fb.c.message_id)
        .subquery("scores")
    )
    return select(t, _users.c.username, scores.c.scores, scores.c.mean_score).select_from(
        t.outerjoin(_users, _users.c.id == t.c.user_id).outerjoin(
            scores, scores.c.message_id == t.c.message_id
        )
    )


def _trace_row(row: Any) -> TraceRow:
    r = row._mapping
    return TraceRow(
        id=r[_traces.c.id],
        started_at=r[_traces.c.started_at],
        user=r[_users.c.username],
        source=r[_traces.c.source],
        pipeline=r[_traces.c.pipeline],
        status=r[_traces.c.status],
        error=r[_traces.c.error],
        latency_ms=r[_traces.c.latency_ms],
        ttft_ms=r[_traces.c.ttft_ms],
        model=r[_traces.c.model],
        prompt=prompt_label(r[_traces.c.prompt_name], r[_traces.c.prompt_version]),
        prompt_tokens=r[_traces.c.prompt_tokens],
        completion_tokens=r[_traces.c.completion_tokens],
        figure_check=r[_traces.c.figure_check],
        message_id=r[_traces.c.message_id],
        input=r[_traces.c.input],
        output=r[_traces.c.output],
        scores=int(r["scores"] or 0),
        mean_score=float(r["mean_score"]) if r["mean_score"] is not None else None,
    )


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
