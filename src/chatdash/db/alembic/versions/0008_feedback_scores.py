"""feedback as scores: each rating has a kind (thumbs, stars, scale) and a score in [0, 1]

Revision ID: 0008_feedback_scores
Revises: 0007_prompts

``rating`` keeps what was given for thumbs (-1, 1) and stars (1 to 5), and is empty for a scale; ``score``
is what every kind maps to (thumbs down 0, up 1; one star 0, five stars 1; a scale as given), so the
AI-quality figures average one number whatever the page offered. Earlier thumbs are backfilled.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_feedback_scores"
down_revision = "0007_prompts"
branch_labels = None
depends_on = None

KINDS = (
    "(kind = 'thumbs' AND rating IN (-1, 1)) OR (kind = 'stars' AND rating BETWEEN 1 AND 5) "
    "OR (kind = 'scale' AND rating IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="thumbs"))
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
    op.execute("UPDATE feedback SET score = (rating + 1) / 2.0")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint("ck_feedback_rating", type_="check")
        batch.alter_column("score", existing_type=sa.Float(), nullable=False)
        batch.alter_column("rating", existing_type=sa.SmallInteger(), nullable=True)
        batch.create_check_constraint("ck_feedback_kind", KINDS)
        batch.create_check_constraint("ck_feedback_score", "score >= 0 AND score <= 1")


def downgrade() -> None:
    op.execute("DELETE FROM feedback WHERE kind <> 'thumbs'")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint("ck_feedback_score", type_="check")
        batch.drop_constraint("ck_feedback_kind", type_="check")
        batch.alter_column("rating", existing_type=sa.SmallInteger(), nullable=False)
        batch.drop_column("score")
        batch.drop_column("kind")
        batch.create_check_constraint("ck_feedback_rating", "rating IN (-1, 1)")
