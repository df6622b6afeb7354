"""The in-memory shape of sales rows between files, the generator and the database.

Money travels as integer cents so that nothing is ever rounded on the way; files carry it as
decimal text with two places (``12.34``).
"""

from __future__ import annotations

import polars as pl

FRAME_SCHEMA: dict[str, pl.DataType] = {
    "order_id": pl.Int64(),
    "order_date": pl.Date(),
    "customer_id": pl.Int64(),
    "customer_name": pl.String(),
    "product_id": pl.Int64(),
    "product_names": pl.String(),
    "categories": pl.String(),
    "quantity": pl.Int64(),
    "price_cents": pl.Int64(),
    "total_cents": pl.Int64(),
}

FILE_COLUMNS: tuple[str, ...] = (
    "order_id",
    "order_date",
    "customer_id",
    "customer_name",
    "product_id",
    "product_names",
    "categories",
    "quantity",
    "price",
    "total",
)
"""Column names of CSV/Parquet files: exactly the ``sales_data`` columns."""


def cents_text(column: str) -> pl.Expr:
    """Cents as decimal text with two places: 1234 -> '12.34', -5 -> '-0.05'."""
    cents = pl.col(column)
    magnitude = cents.abs()
    return (
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        + (magnitude // 100).cast(pl.String)
        + "."
        + (magnitude % 100).cast(pl.String).str.zfill(2)
    )


def to_file_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The file form: ``price``/``total`` as 2-decimal text for CSV."""
    return frame.select(
        *FILE_COLUMNS[:8],
        cents_text("price_cents").alias("price"),
        cents_text("total_cents").alias("total"),
    )
