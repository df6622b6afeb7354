"""Loads on real databases: all or nothing, append keeps the rollups exact, ids stay unique (and a
clash is named by its id and its line or row)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from chatdash import sales
from chatdash.db.models import SalesDaily, SalesDailyCategory, SalesMonthly, SalesMonthlyCustomer, SalesRow
from chatdash.errors import BadRowError, DataError
from chatdash.sales.files import read_file, write_file
from chatdash.sales.generator import generate, generate_frame
from chatdash.sales.loader import load_frames, next_order_id
from chatdash.sales.queries import order_stats
from tests.conftest import Database


def table_counts(db: Database) -> tuple[int, int, int, int]:
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (SalesRow, SalesDaily, SalesMonthly, SalesDailyCategory)
        )


def test_replace_then_append_keeps_every_figure_exact(database: Database) -> None:
    first = generate_frame(4_000, 1)
    load_frames(database.engine, [first], replace=True)
    start = next_order_id(database.engine)
    assert start == 4_001
    second = pl.concat(list(generate(3_000, 2, first_order_id=start)))
    summary = load_frames(database.engine, [second], replace=False)
    assert (summary.rows, summary.mode) == (3_000, "append")
    both = pl.concat([first, second])
    metrics = sales.key_metrics(database.engine)
    assert metrics.orders == 7_000
    assert metrics.total_revenue * 100 == (both["price_cents"] * both["quantity"]).sum()
    # Rollups: every grain accounts for every row and every cent.
    with database.engine.connect() as conn:
        for table in (SalesDaily, SalesMonthly, SalesDailyCategory, SalesMonthlyCustomer):
            assert conn.execute(select(func.sum(table.order_count))).scalar_one() == 7_000
            assert (
                conn.execute(select(func.sum(table.revenue_cents))).scalar_one()
                == metrics.total_revenue * 100
            )
    # What the customer rollup answers (whole months and edge days alike) matches the rows.
    stats = order_stats(database.engine, sales.SalesFilter(dt.date(2015, 3, 10), dt.date(2019, 8, 20)))[0]
    rows = both.filter(pl.col("order_date").is_between(dt.date(2015, 3, 10), dt.date(2019, 8, 20)))
    assert (stats.orders, stats.customers) == (rows.height, rows["customer_id"].n_unique())
    assert (
        stats.largest * 100 == rows["total_cents"].max() and stats.smallest * 100 == rows["total_cents"].min()
    )
    # Replacing starts over.
    load_frames(database.engine, [first], replace=True)
    assert sales.key_metrics(database.engine).orders == 4_000
    assert table_counts(database)[0] == 4_000


def test_a_bad_row_late_in_a_file_loads_nothing(database: Database, tmp_path: Path) -> None:
    load_frames(database.engine, [generate_frame(1_000, 3)], replace=True)
    before = (table_counts(database), sales.key_metrics(database.engine))
    path = tmp_path / "late-error.csv"
    write_file(generate(5_000, 4, first_order_id=10_001), path)
    lines = path.read_text().splitlines()
    lines[4_500] = lines[4_500].replace(",2", ",2x", 1)  # a date like 2x015-01-01
    path.write_text("\n".join(lines) + "\n")
    for replace in (False, True):
        with pytest.raises(BadRowError) as caught:
            load_frames(database.engine, read_file(path, chunk_rows=1_000), replace=replace)
        assert caught.value.line == 4_501
        assert (table_counts(database), sales.key_metrics(database.engine)) == before


def test_an_order_id_already_in_the_table_is_refused(database: Database) -> None:
    load_frames(database.engine, [generate_frame(500, 5)], replace=True)
    before = table_counts(database)
    new = pl.concat(list(generate(100, 6, first_order_id=1_000)))
    overlap = pl.concat(list(generate(100, 6, first_order_id=450)))
    with pytest.raises(DataError) as caught:
        load_frames(database.engine, [new, overlap], replace=False)
    assert str(caught.value) == (
        "order_id 450 (row 101 of the data) is already in sales_data: each row must have its own "
        "order_id (one order per row); use --replace to replace the table's rows instead of appending. "
        "Nothing was loaded."
    )
    assert table_counts(database) == before


def test_a_repeated_order_id_across_chunks_is_refused(database: Database) -> None:
    chunk = generate_frame(100, 5)
    for replace in (True, False):
        with pytest.raises(DataError) as caught:
            load_frames(database.engine, [chunk, chunk], replace=replace)
        assert str(caught.value) == (
            "order_id 1 (row 101 of the data) appears twice: each row must have its own order_id. "
            "Nothing was loaded."
        )
        assert table_counts(database)[0] == 0


def test_a_repeated_order_id_within_a_frame_from_memory_is_named(database: Database) -> None:
    """Frames that did not come through ``read_file`` were not checked for repeats: the loader does."""
    frame = generate_frame(10, 5).with_columns(order_id=pl.Series([1, 2, 3, 4, 5, 6, 7, 3, 9, 10]))
    with pytest.raises(DataError, match=r"^order_id 3 \(row 8 of the data\) appears twice"):
        load_frames(database.engine, [frame], replace=True)
    assert table_counts(database)[0] == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_clash_in_a_file_is_named_by_its_line(database: Database, tmp_path: Path, suffix: str) -> None:
    """Read 1,000 rows at a time, the clashes sit in the fifth batch: the loader finds them, not the
    reader, and names the file's line (CSV, after the header) or row (Parquet)."""
    load_frames(database.engine, [generate_frame(500, 5)], replace=True)
    before = (table_counts(database), sales.key_metrics(database.engine))
    rows = pl.concat(list(generate(5_000, 6, first_order_id=10_001)))
    stored = rows.with_columns(order_id=pl.when(pl.int_range(5_000) == 4_321).then(77).otherwise("order_id"))
    twice = rows.with_columns(
        order_id=pl.when(pl.int_range(5_000) == 4_321).then(10_002).otherwise("order_id")
    )
    line = 4_323 if suffix == ".csv" else 4_322
    unit = "line" if suffix == ".csv" else "row"
    path = tmp_path / f"clash{suffix}"
    for frame, replace, reason in [
        (stored, False, "order_id 77 is already in sales_data: each row must have its own order_id"),
        (twice, False, "order_id 10002 appears twice: each row must have its own order_id."),
        (twice, True, "order_id 10002 appears twice: each row must have its own order_id."),
    ]:
        write_file([frame], path)
        with pytest.raises(BadRowError) as caught:
            load_frames(database.engine, read_file(path, chunk_rows=1_000), replace=replace, source=path)
        assert str(caught.value).startswith(f"{path}, {unit} {line}: {reason}")
        assert str(caught.value).endswith("Nothing from this file was loaded.")
        assert (table_counts(database), sales.key_metrics(database.engine)) == before


def test_money_is_stored_exactly(database: Database) -> None:
    frame = generate_frame(2_000, 8)
    load_frames(database.engine, [frame], replace=True)
    page = sales.raw_rows(database.engine, limit=10)
    expected = frame.sort(["order_date", "order_id"]).head(10)
    assert [r.price * 100 for r in page.rows] == expected["price_cents"].to_list()
    assert [r.total * 100 for r in page.rows] == expected["total_cents"].to_list()
    assert all(r.price.as_tuple().exponent == -2 for r in page.rows)


def test_rollup_rebuild_on_append_touches_only_its_days(database: Database) -> None:
    load_frames(database.engine, [generate_frame(3_000, 9)], replace=True)
    one_day = dt.date(2016, 7, 14)
    extra = generate_frame(10, 10).with_columns(
        order_id=pl.int_range(1_000_000, 1_000_010, eager=True), order_date=pl.lit(one_day)
    )
    before = sales.key_metrics(database.engine, sales.SalesFilter(one_day, one_day))
    load_frames(database.engine, [extra], replace=False)
    after = sales.key_metrics(database.engine, sales.SalesFilter(one_day, one_day))
    assert after.orders == before.orders + 10
    added = (extra["price_cents"] * extra["quantity"]).sum()
    assert (after.total_revenue - before.total_revenue) * 100 == added
    assert sales.key_metrics(database.engine).orders == 3_010
