"""traces: one per reply, API call or test-bed execution, a span per pipeline step; replies name theirs

Revision ID: 0009_traces
Revises: 0008_feedback_scores

``messages.trace_id`` has no foreign key: traces are written in batches off the reply's path, so a
reply can name its trace a moment before the trace lands.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_traces"
down_revision = "0008_feedback_scores"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.String(32), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("pipeline", sa.String(100), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("prompt_name", sa.String(100), nullable=True),
        sa.Column("prompt_version", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("figure_check", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("status IN ('complete', 'stopped', 'error')", name="ck_traces_status"),
    )
    op.create_index("ix_traces_started", "traces", ["started_at"])
    op.create_index("ix_traces_user_started", "traces", ["user_id", "started_at"])
    op.create_index("ix_traces_message", "traces", ["message_id"])
    op.create_table(
        "spans",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("started_at"),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("prompt_name", sa.String(100), nullable=True),
        sa.Column("prompt_version", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["trace_id"], ["traces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_spans_trace", "spans", ["trace_id", "position"])
    # Not in batch mode: on SQLite that rebuilds the table, and with it the search triggers of 0006 go.
    op.add_column("messages", sa.Column("trace_id", sa.String(32), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE messages DROP COLUMN trace_id")  # native on SQLite 3.35+ and PostgreSQL
    op.drop_index("ix_spans_trace", "spans")
    op.drop_table("spans")
    op.drop_index("ix_traces_message", "traces")
    op.drop_index("ix_traces_user_started", "traces")
    op.drop_index("ix_traces_started", "traces")
    op.drop_table("traces")
