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
    Date,
    Dialect,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
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


SALES_SECONDARY_INDEXES = ("ix_sales_data_date_order", "ix_sales_data_category_date_order")
