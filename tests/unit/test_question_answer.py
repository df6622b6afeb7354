"""``answer`` at its edges (no matching orders, periods the rollups cannot give cheaply) and the
public names of the pipeline package, on a small SQLite file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

import chatdash.pipeline
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.sales.answer import answer
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames
from chatdash.sales.question import QuerySpec

D = dt.date


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return generate_frame(2_000, 3)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, frame: pl.DataFrame) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("answer") / "sales.db"
    created = make_engine(f"sqlite:///{path}")
    upgrade(created)
    load_frames(created, [frame], replace=True)
    yield created
    created.dispose()


def test_no_matching_orders(engine: Engine) -> None:
    spec = QuerySpec(metric="average_order_value", start=D(2030, 1, 1), end=D(2030, 12, 31), group_by="month")
    result = answer(engine, spec)
    assert result.value is None and result.orders == 0 and result.rows == []
    assert "no orders in the data for these dates" in result.description
    assert "n/a (no orders)" in result.figures() and "- no orders match" in result.figures()


def test_units_per_week_are_exact_and_bounded(engine: Engine, frame: pl.DataFrame) -> None:
    spec = QuerySpec(metric="quantity", start=D(2019, 3, 1), end=D(2019, 3, 31), group_by="week")
    result = answer(engine, spec)
    rows = frame.filter(pl.col("order_date").is_between(D(2019, 3, 1), D(2019, 3, 31)))
    expected = (
        rows.group_by(pl.col("order_date").dt.truncate("1w").alias("week"))
        .agg(pl.col("quantity").sum())
        .sort("week")
    )
    assert [(r.label, r.value) for r in result.rows] == [
        (f"week of {week.isoformat()}", quantity) for week, quantity in expected.iter_rows()
    ]
    assert result.value == rows["quantity"].sum()
    # every day of the data in one read of the daily rollup (no longer refused as "too many periods")
    daily = answer(engine, QuerySpec(metric="quantity", group_by="day"))
    per_day = frame.group_by("order_date").agg(pl.col("quantity").sum()).sort("order_date")
    assert [(r.period, r.value) for r in daily.rows] == list(per_day.iter_rows())


def test_the_pipeline_package_exports_what_it_documents() -> None:
    for name in chatdash.pipeline.__all__:
        assert hasattr(chatdash.pipeline, name), name
    assert {"Pipeline", "RunContext", "Sources", "Delta", "Done", "load_pipeline", "register_step"} <= set(
        chatdash.pipeline.__all__
    )
