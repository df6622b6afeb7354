"""sales_data (published schema) and its daily rollup

Revision ID: 0001_sales
Revises:
"""

import sqlalchemy as sa
from alembic import op

from chatdash.db.models import Money

revision = "0001_sales"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_data",
        sa.Column("order_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(255), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_names", sa.String(255), nullable=False),
        sa.Column("categories", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", Money(), nullable=False),
        sa.Column("total", Money(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_sales_data_date_order", "sales_data", ["order_date", "order_id"])
    op.create_index(
        "ix_sales_data_category_date_order", "sales_data", ["categories", "order_date", "order_id"]
    )
    for table, period in (("sales_daily", "day"), ("sales_monthly", "month")):
        op.create_table(
            table,
            sa.Column(period, sa.Date(), nullable=False),
            sa.Column("product_id", sa.Integer(), nullable=False),
            sa.Column("product_name", sa.String(255), nullable=False),
            sa.Column("category", sa.String(100), nullable=False),
            sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
            sa.Column("quantity", sa.BigInteger(), nullable=False),
            sa.Column("order_count", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(period, "product_id", "product_name", "category"),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "sales_daily_category",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sales_daily_category")
    op.drop_table("sales_monthly")
    op.drop_table("sales_daily")
    op.drop_table("sales_data")
