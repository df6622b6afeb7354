"""Bulk loading of sales rows: one transaction per load, rollup rebuilt inside it.

PostgreSQL receives the rows through ``COPY``; SQLite through ``executemany`` in the same large
transaction. A failure anywhere (a bad row found late in a file, a repeated order id) rolls
everything back: a file loads completely or not at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

import polars as pl
import psycopg
from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError

from chatdash.db.engine import translate_errors
from chatdash.db.models import SALES_SECONDARY_INDEXES, SalesDaily, SalesRow
from chatdash.errors import DataError
from chatdash.sales.frame import FILE_COLUMNS, to_file_frame
from chatdash.sales.rollup import rebuild_rollup
from chatdash.sales.types import DateRange, LoadSummary

_INSERT_BATCH = 100_000
_COLUMN_LIST = ", ".join(FILE_COLUMNS)


def load_frames(
    engine: Engine,
    frames: Iterable[pl.DataFrame],
    *,
    replace: bool,
) -> LoadSummary:
    """Insert every frame (``FRAME_SCHEMA``) into ``sales_data`` and bring the rollup in step."""
    started = time.perf_counter()
    rows, first, last = 0, None, None
    with translate_errors(engine), engine.begin() as conn:
        if replace:
            conn.execute(delete(SalesDaily))
            conn.execute(text("TRUNCATE sales_data") if _is_pg(conn) else delete(SalesRow))
            _drop_secondary_indexes(conn)
        try:
            for frame in frames:
                if frame.height == 0:
                    continue
                _insert(conn, frame)
                rows += frame.height
                low, high = frame["order_date"].min(), frame["order_date"].max()
                first = low if first is None or low < first else first  # type: ignore[operator]
                last = high if last is None or high > last else last  # type: ignore[operator]
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            raise DataError(_duplicate_message(exc, replace)) from None
        if replace:
            _create_secondary_indexes(conn)
        span = DateRange(first, last) if first is not None and last is not None else None  # type: ignore[arg-type]
        if replace:
            rebuild_rollup(conn)
        elif span is not None:
            rebuild_rollup(conn, span)
        if _is_pg(conn):
            rollups = ("sales_daily", "sales_monthly", "sales_daily_category", "sales_monthly_customer")
            for table in ("sales_data", *rollups):
                conn.execute(text(f"ANALYZE {table}"))
        rollup_rows = conn.execute(select(func.count()).select_from(SalesDaily)).scalar_one()
    return LoadSummary(
        rows=rows,
        mode="replace" if replace else "append",
        seconds=time.perf_counter() - started,
        date_range=span,
        rollup_rows=int(rollup_rows),
    )


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


def _duplicate_message(exc: Exception, replace: bool) -> str:
    found = re.search(r"\(order_id\)=\((\d+)\)", str(getattr(exc, "orig", exc)))
    which = f"order_id {found.group(1)}" if found else "an order_id"
    where = "appears twice in the data" if replace else "is already in sales_data or appears twice"
    hint = "" if replace else "; use --replace to replace the table's rows instead of appending"
    return (
        f"{which} {where}: each row must have its own order_id (one order per row){hint}. Nothing was loaded."
    )
