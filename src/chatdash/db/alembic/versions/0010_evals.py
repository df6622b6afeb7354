"""the test bed: scenario runs and their executions (unique by run, case and repeat: runs resume)

Revision ID: 0010_evals
Revises: 0009_traces
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_evals"
down_revision = "0009_traces"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("scenario", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("variant", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("status IN ('running', 'complete', 'interrupted')", name="ck_eval_runs_status"),
    )
    op.create_index("ix_eval_runs_scenario", "eval_runs", ["scenario", "started_at"])
    op.create_table(
        "eval_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["run_id"], ["eval_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "case_id", "repeat", name="uq_eval_executions_case_repeat"),
        sa.CheckConstraint(
            "status IN ('scored', 'unscorable', 'pending', 'error')", name="ck_eval_executions_status"
        ),
    )


def downgrade() -> None:
    op.drop_table("eval_executions")
    op.drop_index("ix_eval_runs_scenario", "eval_runs")
    op.drop_table("eval_runs")
