"""Synthetic sales orders with the published distributions, vectorised with NumPy and Polars.

Rows come in fixed-size chunks, each drawn from its own generator seeded by ``(seed, chunk)``,
so the data depends only on ``seed`` and ``rows`` (not on memory or the consumer), and 10 million
rows never sit in memory at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from chatdash.sales.frame import FRAME_SCHEMA

PRODUCTS: tuple[str, ...] = (
    "Laptop",
    "Smartphone",
    "Desk",
    "Chair",
    "Monitor",
    "Printer",
    "Paper",
    "Pen",
    "Notebook",
    "Coffee Maker",
    "Cabinet",
    "Plastic Cups",
)
CATEGORY_OF: dict[str, str] = {
    "Laptop": "Electronics",
    "Smartphone": "Electronics",
    "Monitor": "Electronics",
    "Printer": "Electronics",
    "Coffee Maker": "Electronics",
    "Desk": "Office",
    "Chair": "Office",
    "Cabinet": "Office",
    "Paper": "Stationery",
    "Pen": "Stationery",
    "Notebook": "Stationery",
    "Plastic Cups": "Sundry",
}
CATEGORIES: tuple[str, ...] = ("Electronics", "Office", "Stationery", "Sundry")
FIRST_PRODUCT_ID = 200
FIRST_DAY = dt.date(2010, 1, 1)
LAST_DAY = dt.date(2023, 12, 30)
PRICE_CENTS = (199, 9999)
QUANTITY = (1, 10)
CUSTOMER_IDS = (100, 999)
CUSTOMER_NAME_NUMBERS = (0, 32767)
CHUNK_ROWS = 1_000_000

_PRODUCT_NAMES = pl.Series("product_names", PRODUCTS, dtype=pl.String)
_PRODUCT_CATEGORIES = pl.Series("categories", [CATEGORY_OF[p] for p in PRODUCTS], dtype=pl.String)


def generate(rows: int, seed: int = 42, *, first_order_id: int = 1) -> Iterator[pl.DataFrame]:
    """Yield frames (``FRAME_SCHEMA``) holding ``rows`` orders in total, ids from ``first_order_id``."""
    if rows < 0:
        raise ValueError("rows must be 0 or more")
    span = (LAST_DAY - FIRST_DAY).days
    for chunk, offset in enumerate(range(0, rows, CHUNK_ROWS)):
        n = min(CHUNK_ROWS, rows - offset)
        rng = np.random.default_rng([seed, chunk])
        product = rng.integers(0, len(PRODUCTS), n)
        quantity = rng.integers(QUANTITY[0], QUANTITY[1] + 1, n, dtype=np.int64)
        price = rng.integers(PRICE_CENTS[0], PRICE_CENTS[1] + 1, n, dtype=np.int64)
        days = np.datetime64(FIRST_DAY, "D") + rng.integers(0, span + 1, n)
        frame = pl.DataFrame(
            {
                "order_id": np.arange(first_order_id + offset, first_order_id + offset + n),
                "order_date": days,
                "customer_id": rng.integers(CUSTOMER_IDS[0], CUSTOMER_IDS[1] + 1, n),
                "customer_number": rng.integers(CUSTOMER_NAME_NUMBERS[0], CUSTOMER_NAME_NUMBERS[1] + 1, n),
                "product": product,
                "quantity": quantity,
                "price_cents": price,
                "total_cents": price * quantity,
            }
        )
        yield frame.select(
            pl.col("order_id"),
            pl.col("order_date").cast(pl.Date),
            pl.col("customer_id"),
            pl.format("Customer_{}", pl.col("customer_number")).alias("customer_name"),
            (pl.col("product") + FIRST_PRODUCT_ID).alias("product_id"),
            _PRODUCT_NAMES.gather(product).alias("product_names"),
            _PRODUCT_CATEGORIES.gather(product).alias("categories"),
            pl.col("quantity"),
            pl.col("price_cents"),
            pl.col("total_cents"),
        ).cast(FRAME_SCHEMA)  # type: ignore[arg-type]


def generate_frame(rows: int, seed: int = 42) -> pl.DataFrame:
    """All rows in one frame: for tests and small sets."""
    frames = list(generate(rows, seed))
    return pl.concat(frames) if frames else pl.DataFrame(schema=FRAME_SCHEMA)
