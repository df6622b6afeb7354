from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from chatdash.sales import generator
from chatdash.sales.frame import FRAME_SCHEMA
from chatdash.sales.generator import CATEGORY_OF, PRODUCTS, generate, generate_frame


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first = generate_frame(20_000, 42)
    assert first.equals(generate_frame(20_000, 42))
    assert not first.equals(generate_frame(20_000, 43))


def test_rows_do_not_depend_on_how_many_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "CHUNK_ROWS", 1_000)
    longer = generate_frame(3_500, 42)
    assert longer.height == 3_500
    assert longer.head(2_000).equals(generate_frame(2_000, 42))
    assert [f.height for f in generate(3_500, 42)] == [1_000, 1_000, 1_000, 500]


def test_published_distributions() -> None:
    frame = generate_frame(50_000, 1)
    assert dict(frame.schema) == FRAME_SCHEMA
    assert frame["order_id"].to_list() == list(range(1, 50_001))
    assert frame["order_date"].min() == dt.date(2010, 1, 1)
    assert frame["order_date"].max() == dt.date(2023, 12, 30)
    assert (frame["customer_id"].min(), frame["customer_id"].max()) == (100, 999)
    numbers = frame["customer_name"].str.strip_prefix("Customer_").cast(pl.Int64)
    assert numbers.min() >= 0 and numbers.max() <= 32767 and numbers.max() > 32000
    assert (frame["quantity"].min(), frame["quantity"].max()) == (1, 10)
    assert (frame["price_cents"].min(), frame["price_cents"].max()) == (199, 9999)
    assert (frame["total_cents"] == frame["price_cents"] * frame["quantity"]).all()
    pairs = frame.select("product_id", "product_names", "categories").unique()
    assert sorted(pairs.rows()) == sorted(
        (200 + i, name, CATEGORY_OF[name]) for i, name in enumerate(PRODUCTS)
    )
    assert set(CATEGORY_OF.values()) == {"Electronics", "Office", "Stationery", "Sundry"}
    # Uniform product choice: every product near 1/12 of the rows.
    shares = frame["product_names"].value_counts()["count"] / frame.height
    assert shares.min() > 0.075 and shares.max() < 0.092


def test_order_ids_can_continue_an_existing_table() -> None:
    frame = next(generate(10, 3, first_order_id=501))
    assert frame["order_id"].to_list() == list(range(501, 511))


def test_zero_rows_is_empty() -> None:
    assert generate_frame(0).height == 0
