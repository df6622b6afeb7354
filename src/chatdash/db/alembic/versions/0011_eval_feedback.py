"""the test bed's people: manual scores of executions, and test cases added from production traces

Revision ID: 0011_eval_feedback
Revises: 0010_evals

A manual score is unique by (execution, evaluator): giving it again replaces it. A case added from
production is unique by (scenario, case id); its trace and reply ids have no foreign key, so the case
outlives the trace's retention. Who gave or added something is kept while their account exists.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_eval_feedback"
down_revision = "0010_evals"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "eval_manual_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("evaluator", sa.String(100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["execution_id"], ["eval_executions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_id", "evaluator", name="uq_eval_manual_scores_evaluator"),
        sa.CheckConstraint("score >= 0 AND score <= 1", name="ck_eval_manual_scores_score"),
    )
    op.create_table(
        "eval_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(100), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scenario", "case_id", name="uq_eval_cases_case"),
    )


def downgrade() -> None:
    op.drop_table("eval_cases")
    op.drop_table("eval_manual_scores")
