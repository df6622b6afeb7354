"""CSV and Parquet files of sales rows: strict, streaming reads and writes.

Reads go chunk by chunk (10 million rows never sit in memory at once). Every value is checked;
the first bad one raises ``BadRowError`` with the file's line number (CSV: the header is line 1)
or row number (Parquet) and what is wrong, before anything reaches the database.

A CSV file is first streamed once in 1 MiB pieces to bound its rows (``MAX_LINE_BYTES``): polars
holds a whole field or line in memory before it can refuse it, so a 1 GB line (a sparse file, a
quote that never closes) would cost gigabytes. The same pass sizes polars' batches to the longest row.
CSV text is UTF-8, with or without the byte-order mark a spreadsheet's "CSV UTF-8" starts with.

Quantities and prices are positive: a returned item is not an order of -3.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import polars as pl

from chatdash.errors import BadRowError, DataError
from chatdash.sales.frame import FILE_COLUMNS, FRAME_SCHEMA, to_file_frame

READ_CHUNK_ROWS = 500_000
READ_CHUNK_BYTES = 64 * 1024 * 1024
"""At most this much CSV text per batch: files of long rows are read in batches of fewer rows."""
_MONEY = r"^-?\d{1,8}(\.\d{1,2})?$"
_MONEY_TOO_WIDE = r"^-?0*[1-9]\d{8,}(\.\d*)?$"
"""More than 8 digits before the point: past numeric(10,2), whatever the decimals."""
_MONEY_RANGE = "-99999999.99..99999999.99"
_INTEGER = r"^[+-]?\d+$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATE_RANGE = "0001-01-01..9999-12-31"
"""Year 0 parses, but neither PostgreSQL nor Python has it."""
_MAX_TEXT = {"customer_name": 255, "product_names": 255, "categories": 100}
_INT32 = (-(2**31), 2**31 - 1)
"""The published schema's ``integer`` columns are 32-bit in PostgreSQL: larger values are refused here,
on both databases alike, rather than by COPY half-way through a load."""
MAX_HEADER_BYTES = 64 * 1024
MAX_LINE_BYTES = 8 * 1024
"""The longest data row a CSV file may have, in bytes. The widest row the published schema allows
is about 2.5 KB (customer_name, product_names and categories at 255, 255 and 100 characters of up
to 4 UTF-8 bytes each, quoted, plus eight numbers and a date); a longer one is not sales data, and
refusing it early keeps a hostile file from being read whole."""
WIDEST_ROW = "about 2.5 KB"
"""What the widest row of the published schema takes, as said in the message."""
SCAN_CHUNK_BYTES = 1024 * 1024
_SHOWN_VALUE = 40
"""Characters of a refused value quoted in the message: enough to find it, one line still."""


@dataclass(frozen=True, slots=True)
class RowOrigin:
    """Where the rows of a stream of frames come from, to name one in a message: the row at ``index``
    (from 0, counted across every frame) is ``unit`` ``first + index`` of ``source``."""

    source: str
    first: int
    unit: str

    def bad_row(self, index: int, reason: str) -> BadRowError:
        return BadRowError(self.source, self.first + index, reason, self.unit)


def file_origin(path: Path) -> RowOrigin:
    """How ``read_file(path)`` numbers its rows: CSV lines (the header is line 1), Parquet rows from 1."""
    if file_format(path) == "csv":
        return RowOrigin(str(path), 2, "line")
    return RowOrigin(str(path), 1, "row")


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return suffix[1:]
    raise DataError(f"{path}: unknown file type {suffix or '(none)'!r}; use .csv or .parquet")


def write_file(frames: Iterable[pl.DataFrame], path: Path) -> int:
    """Write frames (``FRAME_SCHEMA``) as CSV or Parquet, chosen by extension; returns rows written."""
    kind = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    if kind == "csv":
        with path.open("wb") as out:
            for index, frame in enumerate(frames):
                to_file_frame(frame).write_csv(out, include_header=index == 0)
                rows += frame.height
            if rows == 0:
                out.write((",".join(FILE_COLUMNS) + "\n").encode())
        return rows
    import pyarrow.parquet as pq  # polars' own parquet writer has no append; pyarrow streams

    writer: pq.ParquetWriter | None = None
    try:
        for frame in frames:
            table = to_parquet_frame(frame).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
            rows += frame.height
        if writer is None:
            to_parquet_frame(pl.DataFrame(schema=FRAME_SCHEMA)).write_parquet(path)
    finally:
        if writer is not None:
            writer.close()
    return rows


def to_parquet_frame(frame: pl.DataFrame) -> pl.DataFrame:
    file_frame = to_file_frame(frame)
    return file_frame.with_columns(
        pl.col("price").cast(pl.Decimal(10, 2)), pl.col("total").cast(pl.Decimal(10, 2))
    )


def read_file(path: Path, chunk_rows: int = READ_CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """Validated frames (``FRAME_SCHEMA``) from a CSV or Parquet file, read as they are iterated.

    The file's shape is checked by the call itself, before a database is touched: its header (or
    Parquet schema) and, for CSV, the length of every row, in one streaming pass.
    """
    kind = file_format(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if kind == "csv":
        return _read_csv(path, chunk_rows)
    return _read_parquet(path, chunk_rows)


def _check_columns(path: Path, columns: list[str]) -> None:
    missing = [c for c in FILE_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in FILE_COLUMNS]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            problems.append(f"unknown column(s) {', '.join(extra)}")
        raise BadRowError(str(path), 1, "; ".join(problems) + f" (expected: {', '.join(FILE_COLUMNS)})")


def _read_csv(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    with path.open("rb") as raw:
        first = raw.readline(MAX_HEADER_BYTES + 1)
    if len(first) > MAX_HEADER_BYTES:
        raise BadRowError(str(path), 1, f"the header line is longer than {MAX_HEADER_BYTES} bytes")
    if b"\x00" in first:
        raise BadRowError(str(path), 1, "the header line holds NUL bytes (not a CSV text file)")
    try:  # utf-8-sig: a byte-order mark (EF BB BF) before the header is not part of its first name
        header = next(csv.reader([first.decode("utf-8-sig")]), None)
    except UnicodeDecodeError as exc:
        raise BadRowError(str(path), 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if header is None:
        raise BadRowError(str(path), 1, "the file is empty (expected a header line)")
    _check_columns(path, [h.strip() for h in header])
    longest = longest_row(path, offset=len(first))
    return _csv_batches(path, header, max(1, min(chunk_rows, READ_CHUNK_BYTES // max(longest, 1))))


def _csv_batches(path: Path, header: list[str], chunk_rows: int) -> Iterator[pl.DataFrame]:
    # Polars skips a byte-order mark by itself; the names come from the header read above.
    lazy = pl.scan_csv(path, schema={name.strip(): pl.String for name in header}, has_header=True)
    origin = file_origin(path)
    first_row = 0
    try:
        for chunk in lazy.collect_batches(chunk_size=chunk_rows):
            yield validate(chunk, source=origin.source, first_line=origin.first + first_row)
            first_row += chunk.height
    except pl.exceptions.PolarsError as exc:
        # Polars does not say where a malformed line is: find it with the csv module.
        line, reason = _locate_csv_problem(path, len(header))
        raise BadRowError(str(path), line, reason or str(exc).splitlines()[0]) from None


def longest_row(path: Path, *, offset: int, limit: int = MAX_LINE_BYTES) -> int:
    """The length in bytes of the longest CSV row from ``offset`` (the start of line 2) on.

    Streams ``SCAN_CHUNK_BYTES`` at a time and raises ``BadRowError`` (with the line the row
    starts on) as soon as a row passes ``limit`` bytes, so memory stays at one chunk whatever the
    file holds. A row ends at a newline outside double quotes, as polars splits rows: a quoted field
    that never closes makes one long row and is refused the same way.
    """
    longest = row = 0  # bytes of the current row so far (newlines inside quotes included)
    line = 2  # where the current row starts
    newlines = 1  # before the current chunk: the header's
    quoted = False
    with path.open("rb") as raw:
        raw.seek(offset)
        while chunk := raw.read(SCAN_CHUNK_BYTES):
            pieces = chunk.split(b"\n")
            if not quoted and b'"' not in chunk:
                # Fast path, no quotes: each piece but the last ends a row.
                if len(pieces) > 1:
                    head = row + len(pieces[0])
                    widest = max(head, max(map(len, pieces[1:-1]), default=0))
                    if head > limit:
                        _too_long(path, line, limit, quoted=False)
                    if widest > limit:
                        at = next(i for i in range(1, len(pieces)) if len(pieces[i]) > limit)
                        _too_long(path, newlines + at + 1, limit, quoted=False)
                    longest = max(longest, widest)
                    row, line = 0, newlines + len(pieces)
                row += len(pieces[-1])
                if row > limit:
                    _too_long(path, line, limit, quoted=False)
            else:
                for index, piece in enumerate(pieces):
                    if index and quoted:
                        row += 1  # the newline belongs to a quoted field
                    elif index:
                        longest, row, line = max(longest, row), 0, newlines + index + 1
                    row += len(piece)
                    if piece.count(b'"') % 2:
                        quoted = not quoted
                    if row > limit:
                        _too_long(path, line, limit, quoted=quoted)
            newlines += len(pieces) - 1
    return max(longest, row)


def _too_long(path: Path, line: int, limit: int, *, quoted: bool) -> NoReturn:
    hint = " (a quoted field left open)" if quoted else ""
    raise BadRowError(
        str(path),
        line,
        f"the row starting on this line is longer than {limit} bytes{hint}, the limit for one row of "
        f"sales data (which needs {WIDEST_ROW} at most)",
    )


def _locate_csv_problem(path: Path, width: int) -> tuple[int, str]:
    with path.open(newline="", encoding="utf-8-sig", errors="strict") as handle:
        reader = csv.reader(handle)
        try:
            for record in reader:
                if len(record) != width:
                    return reader.line_num, f"expected {width} fields, found {len(record)}"
        except (csv.Error, UnicodeDecodeError) as exc:
            return reader.line_num, f"unreadable line ({exc})"
    return 0, ""


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    try:
        lazy = pl.scan_parquet(path)
        schema = lazy.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable Parquet file ({reason}). Nothing was loaded.") from None
    _check_columns(path, list(schema.names()))
    casts = [
        _money_text(name, schema[name]) if name in ("price", "total") else pl.col(name).cast(pl.String)
        for name in FILE_COLUMNS
    ]
    return _parquet_batches(path, lazy.select(casts), chunk_rows)


def _parquet_batches(path: Path, lazy: pl.LazyFrame, chunk_rows: int) -> Iterator[pl.DataFrame]:
    origin = file_origin(path)
    first_row = 0
    batches = lazy.collect_batches(chunk_size=chunk_rows)
    while True:
        try:
            chunk = next(batches)
        except StopIteration:
            return
        except (pl.exceptions.PolarsError, OSError) as exc:  # a truncated or damaged file
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"{path}: Parquet data after row {first_row} cannot be read ({reason}). Nothing was loaded."
            ) from None
        yield validate(chunk, source=origin.source, first_line=origin.first + first_row, unit=origin.unit)
        first_row += chunk.height


def _money_text(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_float():
        # Floats carry binary noise (19.990000000000002): round to cents, refuse anything finer.
        cents = (pl.col(name) * 100).round(0)
        exact = ((pl.col(name) * 100) - cents).abs() < 1e-6
        return (
            pl.when(exact)
            .then((cents / 100).cast(pl.Decimal(12, 2)).cast(pl.String))
            .otherwise(pl.col(name).cast(pl.String))
            .alias(name)
        )
    return pl.col(name).cast(pl.String)


def validate(raw: pl.DataFrame, *, source: str, first_line: int, unit: str = "line") -> pl.DataFrame:
    """Check a frame of text columns and convert it to ``FRAME_SCHEMA``, or raise BadRowError.

    ``first_line`` is the number of the frame's first row in the file, counted in ``unit``s
    (CSV lines with the header as line 1; Parquet data rows from 1).
    """
    raw = raw.select([pl.col(c).str.strip_chars() for c in FILE_COLUMNS])
    checks: list[tuple[pl.Expr, str]] = []
    for name in FILE_COLUMNS:
        checks.append((pl.col(name).is_null() | (pl.col(name) == ""), f"{name} is missing"))
    for name in ("order_id", "customer_id", "product_id", "quantity"):
        checks.append((~pl.col(name).str.contains(_INTEGER), f"{name} is not a whole number"))
        digits = pl.col(name).str.replace(r"^[+-]?0*", "").str.len_bytes()
        number = pl.col(name).cast(pl.Int64, strict=False)
        checks.append(
            (
                (digits > 10) | (number < _INT32[0]) | (number > _INT32[1]),
                f"{name} is outside the column's range ({_INT32[0]}..{_INT32[1]})",
            )
        )
    for name in ("customer_name", "product_names", "categories"):
        checks.append((pl.col(name).str.contains("\x00", literal=True), f"{name} holds a NUL character"))
    checks.append(
        (
            ~pl.col("order_date").str.contains(_DATE)
            | pl.col("order_date").str.to_date("%Y-%m-%d", strict=False).is_null(),
            "order_date is not a date (YYYY-MM-DD)",
        )
    )
    checks.append(
        (
            pl.col("order_date").str.starts_with("0000-"),
            f"order_date is outside the dates kept ({_DATE_RANGE})",
        )
    )
    for name in ("price", "total"):
        checks.append(
            (
                pl.col(name).str.contains(_MONEY_TOO_WIDE),
                f"{name} is outside the column's range (numeric(10,2): {_MONEY_RANGE})",
            )
        )
        checks.append(
            (
                ~pl.col(name).str.contains(_MONEY),
                f"{name} is not a number with at most 2 decimals (like 12.34)",
            )
        )
    for name, limit in _MAX_TEXT.items():
        checks.append((pl.col(name).str.len_chars() > limit, f"{name} is longer than {limit}"))
    # After the checks of form: a value that is not a number fails those first, and is named by them.
    checks.append((pl.col("quantity").cast(pl.Int64, strict=False) < 1, "quantity must be at least 1"))
    for name in ("price", "total"):
        checks.append((_cents(name) < 1, f"{name} must be at least 0.01"))
    flags = raw.select([expr.fill_null(True).alias(f"c{i}") for i, (expr, _reason) in enumerate(checks)])
    bad = flags.select(pl.any_horizontal(pl.all()).arg_true()).to_series()
    if bad.len():
        index = int(bad[0])
        reasons = [reason for i, (_e, reason) in enumerate(checks) if flags[index, f"c{i}"]]
        value = _first_bad_value(raw, index, reasons[0])
        raise BadRowError(source, first_line + index, reasons[0] + value, unit)
    typed = raw.select(
        pl.col("order_id").cast(pl.Int64),
        pl.col("order_date").str.to_date("%Y-%m-%d"),
        pl.col("customer_id").cast(pl.Int64),
        pl.col("customer_name"),
        pl.col("product_id").cast(pl.Int64),
        pl.col("product_names"),
        pl.col("categories"),
        pl.col("quantity").cast(pl.Int64),
        _cents("price").alias("price_cents"),
        _cents("total").alias("total_cents"),
    )
    repeated = typed.select((~pl.col("order_id").is_first_distinct()).arg_true()).to_series()
    if repeated.len():
        index = int(repeated[0])
        raise BadRowError(
            source,
            first_line + index,
            f"order_id {raw['order_id'][index]} appears twice: each row must have its own order_id",
            unit,
        )
    wrong_total = typed.select(
        (pl.col("total_cents") != pl.col("price_cents") * pl.col("quantity")).arg_true()
    ).to_series()
    if wrong_total.len():
        index = int(wrong_total[0])
        raise BadRowError(
            source,
            first_line + index,
            f"total {raw['total'][index]} is not price x quantity "
            f"({raw['price'][index]} x {raw['quantity'][index]})",
            unit,
        )
    return typed.cast(FRAME_SCHEMA)  # type: ignore[arg-type]


def _first_bad_value(raw: pl.DataFrame, index: int, reason: str) -> str:
    column = reason.split(" ", 1)[0]
    if column not in raw.columns or raw[column][index] in (None, ""):
        return ""
    value = str(raw[column][index])
    if len(value) <= _SHOWN_VALUE:
        return f": {value!r}"
    return f": {value[:_SHOWN_VALUE]!r}... ({len(value):,} characters)"


def _cents(name: str) -> pl.Expr:
    """'12.3' -> 1230, '-0.05' -> -5: exact integer arithmetic on the text."""
    text = pl.col(name)
    negative = text.str.starts_with("-")
    digits = text.str.strip_prefix("-")
    whole = digits.str.extract(r"^(\d+)", 1).cast(pl.Int64)
    fraction = digits.str.extract(r"\.(\d+)$", 1).fill_null("0").str.pad_end(2, "0").cast(pl.Int64)
    cents = whole * 100 + fraction
    return pl.when(negative).then(-cents).otherwise(cents)
