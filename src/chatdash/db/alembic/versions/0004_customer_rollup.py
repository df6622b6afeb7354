"""monthly rollup per customer and product (distinct customers, customers, the largest order)

Revision ID: 0004_customer_rollup
Revises: 0003_answer

The table is filled from ``sales_data`` here, so a database loaded before this revision answers
customer questions at once (the loader keeps it in step from then on).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_customer_rollup"
down_revision = "0003_answer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_monthly_customer",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(255), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("order_count", sa.BigInteger(), nullable=False),
        sa.Column("max_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("min_total_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "customer_id", "product_id", "product_name", "category"),
        sqlite_with_rowid=False,
    )
    # Filled here in plain SQL (a migration must not change with later code): what
    # chatdash.sales.rollup.rebuild_customer_rollup computes, money in integer cents.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # money is stored as integer cents already
        month, cents = "date(order_date, 'start of month')", "{}"
    else:
        month, cents = "CAST(date_trunc('month', order_date) AS DATE)", "CAST({} * 100 AS BIGINT)"
    op.execute(
        sa.text(
            "INSERT INTO sales_monthly_customer (month, customer_id, product_id, product_name, category, "
            "revenue_cents, quantity, order_count, max_total_cents, min_total_cents) "
            f"SELECT {month}, customer_id, product_id, product_names, categories, "
            f"{cents.format('SUM(price * quantity)')}, SUM(quantity), COUNT(*), "
            f"{cents.format('MAX(total)')}, {cents.format('MIN(total)')} "
            f"FROM sales_data GROUP BY {month}, customer_id, product_id, product_names, categories "
            f"ORDER BY {month}, customer_id, product_id, product_names, categories"
        )
    )
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE sales_monthly_customer")


def downgrade() -> None:
    op.drop_table("sales_monthly_customer")
