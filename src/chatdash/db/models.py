"""ORM models: the single declaration of every table; Alembic migrations must match them.

Money is exact on both backends: PostgreSQL stores ``NUMERIC(10,2)``; SQLite, which has no exact
decimal type, stores integer cents. Python code always sees ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """NUMERIC(10,2) on PostgreSQL, integer cents on SQLite; Decimal in Python."""

    impl = Numeric(10, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(10, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return int((Decimal(value) * 100).to_integral_exact())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)
        return Decimal(value).quantize(CENT)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A moment in UTC, read back with its timezone on both databases (SQLite stores none, so a time
    read from it would otherwise differ from the same time just written: naive against ``...Z``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a timezone (UTC)")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class SalesRow(Base):
    """One order line, in the published ``sales_data`` schema.

    ``order_id`` is unique per row in this data (one product per order), so the number of distinct
    orders equals the number of rows; the primary key enforces it on every load.
    """

    __tablename__ = "sales_data"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    order_date: Mapped[dt.date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(Integer)
    customer_name: Mapped[str] = mapped_column(String(255))
    product_id: Mapped[int] = mapped_column(Integer)
    product_names: Mapped[str] = mapped_column(String(255))
    categories: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (
        # Raw-row pages are keyset-paged on (order_date, order_id), with or without a category.
        Index("ix_sales_data_date_order", "order_date", "order_id"),
        Index("ix_sales_data_category_date_order", "categories", "order_date", "order_id"),
    )


class _RollupColumns:
    """Columns shared by the two rollup grains: totals per (period, product)."""

    product_id: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(100))
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    order_count: Mapped[int] = mapped_column(BigInteger)


class SalesDaily(_RollupColumns, Base):
    """Daily rollup (day x product), kept in step with ``sales_data`` by every load.

    Aggregates read the rollups instead of the raw table, so their cost does not grow with the
    number of orders (14 years x 12 products is about 61k daily rows, whatever the order count).
    Stored in primary-key order (``WITHOUT ROWID`` on SQLite) so that per-day sums stream.
    """

    __tablename__ = "sales_daily"
    __table_args__ = (
        PrimaryKeyConstraint("day", "product_id", "product_name", "category"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[dt.date] = mapped_column(Date, sort_order=-1)


class SalesMonthly(_RollupColumns, Base):
    """Monthly rollup (first day of month x product), built from the daily one.

    Whole months of a date range read this grain (about 2k rows for 14 years), only the partial
    months at the edges read the daily one.
    """

    __tablename__ = "sales_monthly"
    __table_args__ = (
        PrimaryKeyConstraint("month", "product_id", "product_name", "category"),
        {"sqlite_with_rowid": False},
    )

    month: Mapped[dt.date] = mapped_column(Date, sort_order=-1)


class SalesDailyCategory(Base):
    """Daily totals per category (about 20k rows for 14 years): the revenue-over-time series
    reads this grain, a third of the daily one, since a series never needs the product."""

    __tablename__ = "sales_daily_category"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    order_count: Mapped[int] = mapped_column(BigInteger)


class SalesMonthlyCustomer(Base):
    """Monthly totals per customer and product, and the largest and smallest order total of each: what
    only order rows knew (distinct customers, customers as a dimension, the largest order) read whole
    months from here instead (at most months x customers x products rows, whatever the order count);
    only the partial months at the edges of a range read ``sales_data``."""

    __tablename__ = "sales_monthly_customer"
    __table_args__ = (
        PrimaryKeyConstraint("month", "customer_id", "product_id", "product_name", "category"),
        {"sqlite_with_rowid": False},
    )

    month: Mapped[dt.date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(100))
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    order_count: Mapped[int] = mapped_column(BigInteger)
    max_total_cents: Mapped[int] = mapped_column(BigInteger)
    min_total_cents: Mapped[int] = mapped_column(BigInteger)


SALES_SECONDARY_INDEXES = ("ix_sales_data_date_order", "ix_sales_data_category_date_order")


# -- the chat app ------------------------------------------------------------------------------
# Every row below belongs to a user (directly or through its chat), so every query can be scoped by
# owner. Messages carry an explicit ``position`` (unique per chat): the order never depends on clock
# resolution or on the database's whim.

MESSAGE_STATUSES = ("streaming", "complete", "stopped", "error")
"""``streaming`` while the server generates it; then ``complete``, ``stopped`` (kept partial) or ``error``."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(Base):
    """A person. ``password_hash`` is argon2, or NULL for accounts made in ``CHATDASH_AUTH=open`` mode."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Written into each session at sign-in; a session carrying another value has ended (sign-out)."""


class Chat(Base):
    """A conversation. The id is random (not a counter) so ids reveal nothing about other users."""

    __tablename__ = "chats"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (Index("ix_chats_user_updated", "user_id", "updated_at"),)


class ChatMessage(Base):
    """One turn of a chat; ``position`` is its place in the chat (0, 1, 2, ...)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    sources: Mapped[str | None] = mapped_column(Text)
    """JSON list of what a reply is grounded in (exact sales figures, documents), shown under it."""
    trace_id: Mapped[str | None] = mapped_column(String(32))
    """A reply's trace (``traces.id``), written in the background: it may land a moment later."""
    answer: Mapped[str | None] = mapped_column(Text)
    """JSON of a reply's sales answer (``SalesAnswer.as_dict``: figures, rows, query, dashboard view),
    or ``{"declined": ...}`` for a sales question the data cannot answer; the page's card reads it."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (
        UniqueConstraint("chat_id", "position", name="uq_messages_chat_position"),
        CheckConstraint("role IN ('user', 'assistant')", name="ck_messages_role"),
        CheckConstraint("status IN ('streaming', 'complete', 'stopped', 'error')", name="ck_messages_status"),
    )


class ApiKey(Base):
    """A Bearer key for ``/api``: only the SHA-256 of the token is stored; ``prefix`` is for display."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Feedback(Base):
    """A user's rating of one reply, with an optional comment; one per user and reply. ``kind`` is what
    the page or client offered: thumbs (``rating`` -1 or 1), stars (``rating`` 1 to 5) or a scale (no
    ``rating``); ``score`` is every kind's value in [0, 1], what the quality figures average."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="thumbs", server_default="thumbs")
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (
        UniqueConstraint("message_id", "user_id", name="uq_feedback_message_user"),
        CheckConstraint(
            "(kind = 'thumbs' AND rating IN (-1, 1)) OR (kind = 'stars' AND rating BETWEEN 1 AND 5) "
            "OR (kind = 'scale' AND rating IS NULL)",
            name="ck_feedback_kind",
        ),
        CheckConstraint("score >= 0 AND score <= 1", name="ck_feedback_score"),
    )


# -- the prompt registry (chatdash.prompts) -------------------------------------------------------
# A prompt is a name; each push of changed content adds a numbered version, never edited afterwards;
# labels (``production``, ``staging``, ``latest`` ...) each point at one version of their prompt.


class Prompt(Base):
    """A named prompt; its content lives in its versions."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class PromptVersion(Base):
    """One immutable version: template ``text`` or ``messages`` (JSON list of role/content templates),
    the ``variables`` it declares (JSON list), model ``params`` (JSON object) and the SHA-256 of all
    four, which makes a push of unchanged content a no-op."""

    __tablename__ = "prompt_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (
        UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_version"),
        UniqueConstraint("prompt_id", "content_hash", name="uq_prompt_versions_hash"),
        CheckConstraint("version >= 1", name="ck_prompt_versions_version"),
        CheckConstraint("(text IS NULL) <> (messages IS NULL)", name="ck_prompt_versions_content"),
    )


class PromptLabel(Base):
    """A label of a prompt pointing at one of its versions; ``latest`` is moved by every new version."""

    __tablename__ = "prompt_labels"

    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (PrimaryKeyConstraint("prompt_id", "label", name="pk_prompt_labels"),)


# -- traces (chatdash.tracing) --------------------------------------------------------------------
# One trace per reply, API call or test-bed execution; one span per pipeline step under a root span
# for the whole run. Written in batches off the reply's path, so ``messages.trace_id`` names a trace
# that may land a moment after the reply (hence no foreign key there).


class Trace(Base):
    """One run: who asked (``user_id``), where (``source``: web, api, v1, eval), what came in and out,
    how it ended, and the figures the AI-quality page aggregates (the reply's model, prompt version,
    tokens, latency, time to first token, and ``figure_check``: ``shown``, ``empty`` or why the
    model's prose was held back)."""

    __tablename__ = "traces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    pipeline: Mapped[str] = mapped_column(String(100))
    input: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_name: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    figure_check: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_traces_started", "started_at"),
        Index("ix_traces_user_started", "user_id", "started_at"),
        Index("ix_traces_message", "message_id"),
        CheckConstraint("status IN ('complete', 'stopped', 'error')", name="ck_traces_status"),
    )


class Span(Base):
    """One step of a trace (``parent_id`` the run's root span; the root has none), in run order
    (``position``). ``input``, ``output`` and ``attributes`` are JSON."""

    __tablename__ = "spans"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    trace_id: Mapped[str] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_name: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_spans_trace", "trace_id", "position"),)


# -- the test bed (chatdash.evals) ----------------------------------------------------------------
# A run executes a scenario's cases, each ``repeat`` times; an execution is unique by (run, case,
# repeat), so an interrupted run resumes where it stopped. Manual scores arrive later, from people.


class EvalRun(Base):
    """One run of a scenario with its variant (execution parameters), and its summary once done."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(Text)
    variant: Mapped[str] = mapped_column(Text, default="{}")
    settings: Mapped[str] = mapped_column(Text, default="{}")
    """JSON: repeat, threshold, evaluators, pipeline, cases: what the run was asked to do."""
    status: Mapped[str] = mapped_column(String(16))
    cases: Mapped[int] = mapped_column(Integer)
    repeat: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_eval_runs_scenario", "scenario", "started_at"),
        CheckConstraint("status IN ('running', 'complete', 'interrupted')", name="ck_eval_runs_status"),
    )


class EvalExecution(Base):
    """One execution of one case: the output, what it cost, each evaluator's score (JSON) and the
    combined ``score`` (None while unscorable or waiting for a person)."""

    __tablename__ = "eval_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    scores: Mapped[str] = mapped_column(Text, default="[]")
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (
        UniqueConstraint("run_id", "case_id", "repeat", name="uq_eval_executions_case_repeat"),
        CheckConstraint(
            "status IN ('scored', 'unscorable', 'pending', 'error')", name="ck_eval_executions_status"
        ),
    )


# -- the test bed's people and production cases (chatdash.evals.manual) --------------------------
# A manual evaluator's score arrives from a person after the run (one per execution and evaluator);
# cases added from production traces join a scenario's own at its next run.


class EvalManualScore(Base):
    """A person's score of one execution for one ``manual`` evaluator (its name), in [0, 1], with an
    optional comment; ``user_id`` is who gave it (NULL once their account is deleted: the score stays)."""

    __tablename__ = "eval_manual_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("eval_executions.id", ondelete="CASCADE"))
    evaluator: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (
        UniqueConstraint("execution_id", "evaluator", name="uq_eval_manual_scores_evaluator"),
        CheckConstraint("score >= 0 AND score <= 1", name="ck_eval_manual_scores_score"),
    )


class EvalCase(Base):
    """A test case added to a scenario (by name) from a production trace: the trace's input, the
    ``expected`` output a person wrote (JSON), and where it came from. ``trace_id`` and
    ``message_id`` have no foreign key: the case outlives the trace's retention and the chat."""

    __tablename__ = "eval_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[str] = mapped_column(String(200))
    input: Mapped[str] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(Integer)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)

    __table_args__ = (UniqueConstraint("scenario", "case_id", name="uq_eval_cases_case"),)
