"""prompt registry: prompts, their immutable numbered versions, and labels pointing at one version

Revision ID: 0007_prompts
Revises: 0006_message_search

A version is never updated: a push of changed content adds one (``uq_prompt_versions_hash`` makes a
push of content already stored a no-op, even under concurrent pushes). ``chatdash init`` pushes the
shipped prompts (``chatdash/prompts/shipped/``) after migrating.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_prompts"
down_revision = "0006_message_search"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("messages", sa.Text(), nullable=True),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["prompt_id"], ["prompts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_version"),
        sa.UniqueConstraint("prompt_id", "content_hash", name="uq_prompt_versions_hash"),
        sa.CheckConstraint("version >= 1", name="ck_prompt_versions_version"),
        sa.CheckConstraint("(text IS NULL) <> (messages IS NULL)", name="ck_prompt_versions_content"),
    )
    op.create_table(
        "prompt_labels",
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["prompt_id"], ["prompts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["prompt_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("prompt_id", "label", name="pk_prompt_labels"),
    )


def downgrade() -> None:
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
    op.drop_table("prompts")
