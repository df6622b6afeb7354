"""Bulk loading of sales rows: one transaction per load, rollup rebuilt inside it.

PostgreSQL receives the rows through ``COPY``; SQLite through ``executemany`` in the same large
transaction. A failure anywhere (a bad row found late in a file, a repeated order id) rolls
everything back: a file loads completely or not at all.

Before a frame is written, its order ids are looked up among the rows already there (the table's, on
append, and the earlier frames'), so that a clash is refused naming the id and its line, which the
database's own unique violation does not say (SQLite names neither). One index probe of the frame's
id range clears a frame of new ids; only a frame whose range meets stored ids is looked up in full.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import psycopg
from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError

from chatdash.db.engine import translate_errors
from chatdash.db.models import SALES_SECONDARY_INDEXES, SalesDaily, SalesRow
from chatdash.errors import DataError
from chatdash.sales.files import file_origin
from chatdash.sales.frame import FILE_COLUMNS, to_file_frame
from chatdash.sales.rollup import rebuild_rollup
from chatdash.sales.types import DateRange, LoadSummary

_INSERT_BATCH = 100_000
_LOOKUP_BATCH = 20_000
"""Order ids looked up per query when a frame's id range meets stored ids (SQLite allows 32,766
parameters; PostgreSQL gets them as one array: 20,000 parameters of an ``IN`` list took ten times as long)."""
_PG_STORED_IDS = text("SELECT order_id FROM sales_data WHERE order_id = ANY(CAST(:ids AS bigint[]))")
_COLUMN_LIST = ", ".join(FILE_COLUMNS)


class _Clash(Exception):
    """An order id already stored, or repeated in its frame: raised inside the load to roll it back."""

    def __init__(self, index: int, order_id: int) -> None:
        self.index, self.order_id = index, order_id


def load_frames(
    engine: Engine,
    frames: Iterable[pl.DataFrame],
    *,
    replace: bool,
    source: Path | None = None,
) -> LoadSummary:
    """Insert every frame (``FRAME_SCHEMA``) into ``sales_data`` and bring the rollup in step.

    ``source`` is the file the frames were read from (``read_file``): an order id that clashes is
    then named with its line; without it, with its row among the frames.
    """
    started = time.perf_counter()
    try:
        with translate_errors(engine), engine.begin() as conn:
            if replace:
                conn.execute(delete(SalesDaily))
                conn.execute(text("TRUNCATE sales_data") if _is_pg(conn) else delete(SalesRow))
                _drop_secondary_indexes(conn)
            rows, span = _insert_all(conn, frames)
            if replace:
                _create_secondary_indexes(conn)
            if replace:
                rebuild_rollup(conn)
            elif span is not None:
                rebuild_rollup(conn, span)
            if _is_pg(conn):
                rollups = ("sales_daily", "sales_monthly", "sales_daily_category", "sales_monthly_customer")
                for table in ("sales_data", *rollups):
                    conn.execute(text(f"ANALYZE {table}"))
            rollup_rows = conn.execute(select(func.count()).select_from(SalesDaily)).scalar_one()
    except _Clash as clash:  # the load is rolled back: what is stored now is what was there before it
        raise _clash_error(engine, clash, replace, source) from None
    return LoadSummary(
        rows=rows,
        mode="replace" if replace else "append",
        seconds=time.perf_counter() - started,
        date_range=span,
        rollup_rows=int(rollup_rows),
    )


def _insert_all(conn: Connection, frames: Iterable[pl.DataFrame]) -> tuple[int, DateRange | None]:
    """Write the frames; the rows written and the span of their order dates."""
    rows, first, last = 0, None, None
    try:
        for frame in frames:
            if frame.height == 0:
                continue
            clash = _first_clash(conn, frame["order_id"])
            if clash is not None:
                raise _Clash(rows + clash, int(frame["order_id"][clash]))
            _insert(conn, frame)
            rows += frame.height
            low: dt.date = frame["order_date"].min()  # type: ignore[assignment]
            high: dt.date = frame["order_date"].max()  # type: ignore[assignment]
            first = low if first is None or low < first else first
            last = high if last is None or high > last else last
    except (IntegrityError, psycopg.errors.UniqueViolation) as exc:  # a concurrent load got there first
        raise DataError(_duplicate_message(exc)) from None
    return rows, DateRange(first, last) if first is not None and last is not None else None


def _first_clash(conn: Connection, ids: pl.Series) -> int | None:
    """The index of the first of ``ids`` that is already stored or repeats an earlier one, if any."""
    repeated = ids.is_first_distinct().not_().arg_true()
    limit = int(repeated[0]) if repeated.len() else ids.len()
    probe = select(SalesRow.order_id).where(SalesRow.order_id.between(ids.min(), ids.max())).limit(1)
    if conn.execute(probe).first() is not None:
        for offset in range(0, limit, _LOOKUP_BATCH):
            batch = ids.slice(offset, min(_LOOKUP_BATCH, limit - offset)).to_list()
            if _is_pg(conn):
                stored = set(conn.scalars(_PG_STORED_IDS, {"ids": batch}))
            else:
                stored = set(conn.scalars(select(SalesRow.order_id).where(SalesRow.order_id.in_(batch))))
            if stored:
                return offset + next(i for i, order_id in enumerate(batch) if order_id in stored)
    return limit if limit < ids.len() else None


def _clash_error(engine: Engine, clash: _Clash, replace: bool, source: Path | None) -> DataError:
    """The error for an order id the load met twice, told apart once the load is rolled back: on
    append, an id still stored was there before the load; any other came earlier in the same data."""
    stored = False
    if not replace:
        with translate_errors(engine), engine.connect() as conn:
            found = select(SalesRow.order_id).where(SalesRow.order_id == clash.order_id)
            stored = conn.execute(found).first() is not None
    which = f"order_id {clash.order_id}"
    if source is None:  # frames from memory: no file to name
        which += f" (row {clash.index + 1} of the data)"
    if stored:
        reason = (
            f"{which} is already in sales_data: each row must have its own order_id (one order per row); "
            "use --replace to replace the table's rows instead of appending"
        )
    else:
        reason = f"{which} appears twice: each row must have its own order_id"
    if source is None:
        return DataError(f"{reason}. Nothing was loaded.")
    return file_origin(source).bad_row(clash.index, reason)


def next_order_id(engine: Engine) -> int:
    with translate_errors(engine), engine.connect() as conn:
        highest = conn.execute(select(func.max(SalesRow.order_id))).scalar_one()
    return int(highest or 0) + 1


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert(conn: Connection, frame: pl.DataFrame) -> None:
    if _is_pg(conn):
        payload = to_file_frame(frame).write_csv(include_header=False)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY sales_data ({_COLUMN_LIST}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(payload)
        return
    # SQLite keeps money as integer cents (see chatdash.db.models.Money).
    values = frame.with_columns(pl.col("order_date").cast(pl.String))
    sql = f"INSERT INTO sales_data ({_COLUMN_LIST}) VALUES ({', '.join('?' * len(FILE_COLUMNS))})"
    for offset in range(0, values.height, _INSERT_BATCH):
        conn.exec_driver_sql(sql, values.slice(offset, _INSERT_BATCH).rows())


def _drop_secondary_indexes(conn: Connection) -> None:
    # Building indexes once after a bulk load is several times faster than maintaining them.
    for name in SALES_SECONDARY_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def _create_secondary_indexes(conn: Connection) -> None:
    for index in SalesRow.__table__.indexes:  # type: ignore[attr-defined]
        index.create(conn, checkfirst=True)


def _duplicate_message(exc: Exception) -> str:
    found = re.search(r"\(order_id\)=\((\d+)\)", str(getattr(exc, "orig", exc)))
    which = f"order_id {found.group(1)}" if found else "an order_id"
    return (
        f"{which} was stored by another load at the same time: each row must have its own order_id "
        "(one order per row). Nothing was loaded."
    )
