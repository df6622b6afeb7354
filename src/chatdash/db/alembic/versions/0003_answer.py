"""a reply's structured sales answer (the card's figures, rows, query and dashboard view)

Revision ID: 0003_answer
Revises: 0002_chat
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_answer"
down_revision = "0002_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("answer")
