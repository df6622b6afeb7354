"""`chatdash data load` and hostile files, on SQLite and PostgreSQL: every published-schema column
past its bounds, order ids that clash, and files of one enormous line. Each is refused with one line
that names the line and the limit (or the id), nothing is written (the load runs with --replace, so a
half-done load would show; clashes on append too), and a 1 GB file costs the command no more memory
than a small one. A spreadsheet's "CSV UTF-8" (a byte-order mark first) loads like any CSV."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.db.models import SalesDaily, SalesDailyCategory, SalesMonthly, SalesMonthlyCustomer, SalesRow
from chatdash.sales import files
from chatdash.sales.files import MAX_HEADER_BYTES, MAX_LINE_BYTES
from chatdash.sales.frame import FILE_COLUMNS
from tests.conftest import Database, dashboard_url

HEADER = ",".join(FILE_COLUMNS)
GOOD = {
    "order_id": "2",
    "order_date": "2020-01-02",
    "customer_id": "101",
    "customer_name": "Customer_5",
    "product_id": "200",
    "product_names": "Laptop",
    "categories": "Electronics",
    "quantity": "3",
    "price": "19.99",
    "total": "59.97",
}
INT32_BELOW, INT32_ABOVE = str(-(2**31) - 1), str(2**31)
GIB = 1 << 30
MEMORY_BOUND = 400 * 1024 * 1024
"""Peak resident memory allowed to `chatdash data load` on a 1 GB file. The command's imports alone
take about 200 MB; before the rows were bounded, a 1 GB line took 7.9 GB."""


def row(**values: str) -> str:
    return ",".join({**GOOD, **values}[name] for name in FILE_COLUMNS)


def csv_with(tmp_path: Path, bad: str) -> Path:
    """A good row, ``bad`` on line 3, a good row."""
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, row(order_id="1"), bad, row(order_id="3")]) + "\n", encoding="utf-8")
    return path


def snapshot(db: Database) -> tuple[int, ...]:
    """Rows of sales_data and of each rollup, and the revenue: what a load would change."""
    with db.engine.connect() as conn:
        counts = [
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (SalesRow, SalesDaily, SalesMonthly, SalesDailyCategory, SalesMonthlyCustomer)
        ]
        revenue = conn.execute(select(func.sum(SalesDaily.revenue_cents))).scalar_one()
    return (*counts, int(revenue or 0))


@pytest.fixture
def load(cli_env: Path, loaded: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """`chatdash data load` in process against ``loaded`` (30,000 rows), errors on one wide line."""
    from chatdash.cli.common import err_console

    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(loaded))
    monkeypatch.setattr(err_console, "width", 1_000)
    yield loaded


def refused(path: Path, mode: str = "--replace") -> str:
    """Load ``path`` (with --replace unless told); it must fail with one error line, which is returned."""
    result = CliRunner().invoke(app, ["data", "load", str(path), mode])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not a crash
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert lines[0].endswith("Nothing from this file was loaded.")
    return lines[0]


def case(column: str, value: str, reason: str) -> object:
    return pytest.param(column, value, reason, id=f"{column}={value[:12]!r}")


OUT_OF_BOUNDS = [
    case("order_id", "", "order_id is missing"),
    case("order_id", INT32_BELOW, "order_id is outside the column's range"),
    case("order_id", INT32_ABOVE, "order_id is outside the column's range"),
    case("order_id", "9" * 30, "order_id is outside the column's range"),
    case("order_id", "1.5", "order_id is not a whole number"),
    case("order_id", "abc", "order_id is not a whole number"),
    case("order_date", "", "order_date is missing"),
    case("order_date", "0000-12-31", "order_date is outside the dates kept (0001-01-01..9999-12-31)"),
    case("order_date", "10000-01-01", "order_date is not a date"),
    case("order_date", "2021-02-29", "order_date is not a date"),
    case("order_date", "2020-1-2", "order_date is not a date"),
    case("order_date", "yesterday", "order_date is not a date"),
    case("customer_id", "", "customer_id is missing"),
    case("customer_id", INT32_BELOW, "customer_id is outside the column's range"),
    case("customer_id", INT32_ABOVE, "customer_id is outside the column's range"),
    case("customer_id", "1e3", "customer_id is not a whole number"),
    case("customer_name", "", "customer_name is missing"),
    case("customer_name", "   ", "customer_name is missing"),
    case("customer_name", "x" * 256, "customer_name is longer than 255"),
    case("customer_name", "\u00e4" * 256, "customer_name is longer than 255"),
    case("customer_name", "Cust\x00omer", "customer_name holds a NUL character"),
    case("product_id", "", "product_id is missing"),
    case("product_id", INT32_BELOW, "product_id is outside the column's range"),
    case("product_id", INT32_ABOVE, "product_id is outside the column's range"),
    case("product_id", "two hundred", "product_id is not a whole number"),
    case("product_names", "", "product_names is missing"),
    case("product_names", "L" * 256, "product_names is longer than 255"),
    case("product_names", "Lap\x00top", "product_names holds a NUL character"),
    case("categories", "", "categories is missing"),
    case("categories", "C" * 101, "categories is longer than 100"),
    case("categories", "Elec\x00", "categories holds a NUL character"),
    case("quantity", "", "quantity is missing"),
    case("quantity", INT32_BELOW, "quantity is outside the column's range"),
    case("quantity", INT32_ABOVE, "quantity is outside the column's range"),
    case("quantity", "3.0", "quantity is not a whole number"),
    case("quantity", "0", "quantity must be at least 1: '0'"),
    case("quantity", "-3", "quantity must be at least 1: '-3'"),
    case("price", "", "price is missing"),
    case("price", "-100000000.00", "price is outside the column's range (numeric(10,2)"),
    case("price", "100000000", "price is outside the column's range (numeric(10,2)"),
    case("price", "19.999", "price is not a number with at most 2 decimals"),
    case("price", "1e3", "price is not a number with at most 2 decimals"),
    case("price", "$19.99", "price is not a number with at most 2 decimals"),
    case("price", "0.00", "price must be at least 0.01: '0.00'"),
    case("price", "-0", "price must be at least 0.01: '-0'"),
    case("price", "-19.99", "price must be at least 0.01: '-19.99'"),
    case("total", "", "total is missing"),
    case("total", "-100000000.00", "total is outside the column's range (numeric(10,2)"),
    case("total", "123456789.50", "total is outside the column's range (numeric(10,2)"),
    case("total", "59.970001", "total is not a number with at most 2 decimals"),
    case("total", "NaN", "total is not a number with at most 2 decimals"),
    case("total", "59.96", "total 59.96 is not price x quantity"),
    case("total", "0", "total must be at least 0.01: '0'"),
    case("total", "-59.97", "total must be at least 0.01: '-59.97'"),
]


@pytest.mark.parametrize(("column", "value", "reason"), OUT_OF_BOUNDS)
def test_each_column_past_its_bounds_is_one_line_and_nothing_written(
    load: Database, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    before = snapshot(load)
    message = refused(csv_with(tmp_path, row(**{column: value})))
    assert "bad.csv, line 3: " + reason in message
    assert len(message) < 300  # a long value is shortened, not printed whole
    assert snapshot(load) == before


def test_a_negative_order_line_is_refused_by_its_quantity(load: Database, tmp_path: Path) -> None:
    """The issue's row: quantity -3 at 10.00 makes a total of -30.00 that price x quantity agrees with."""
    before = snapshot(load)
    message = refused(csv_with(tmp_path, row(quantity="-3", price="10.00", total="-30.00")))
    assert "bad.csv, line 3: quantity must be at least 1: '-3'. Nothing" in message
    assert snapshot(load) == before


BOM = "\ufeff"
"""What a spreadsheet's "CSV UTF-8" puts first (bytes EF BB BF)."""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_csv_with_a_byte_order_mark_loads(
    cli_env: Path, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, newline: str
) -> None:
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    path = tmp_path / "excel.csv"
    rows = [row(order_id=str(i), customer_name='"Smith, Bob"') for i in range(1, 4)]
    path.write_text(BOM + newline.join([HEADER, *rows]) + newline, encoding="utf-8", newline="")
    assert path.read_bytes().startswith(b"\xef\xbb\xbforder_id,")
    result = CliRunner().invoke(app, ["data", "load", str(path), "--replace"])
    assert result.exit_code == 0, result.output
    with Session(database.engine) as session:
        loaded_rows = session.scalars(select(SalesRow).order_by(SalesRow.order_id)).all()
    assert [r.order_id for r in loaded_rows] == [1, 2, 3]
    assert {r.customer_name for r in loaded_rows} == {"Smith, Bob"}


def test_a_bad_row_after_a_byte_order_mark_keeps_its_line(load: Database, tmp_path: Path) -> None:
    before = snapshot(load)
    path = csv_with(tmp_path, row(order_date="yesterday"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert "bad.csv, line 3: order_date is not a date" in refused(path)
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.replace(",total", ",totl").encode() + b"\n")
    assert "bad.csv, line 1: missing column(s) total; unknown column(s) totl (expected:" in refused(path)
    assert snapshot(load) == before


# -- order ids that clash: named with their line, on append and on replace ----------------------


def lines_of(tmp_path: Path, *order_ids: int) -> Path:
    """A file of good rows with these order ids, from line 2 on."""
    path = tmp_path / "ids.csv"
    path.write_text("\n".join([HEADER, *(row(order_id=str(i)) for i in order_ids)]) + "\n", encoding="utf-8")
    return path


def test_an_order_id_already_in_the_database_is_named_with_its_line(load: Database, tmp_path: Path) -> None:
    """``loaded`` holds order ids 1..30,000: the third new row repeats one of them."""
    before = snapshot(load)
    message = refused(lines_of(tmp_path, 40_001, 40_002, 5, 40_003, 6), "--append")
    assert message == (
        f"error: {tmp_path / 'ids.csv'}, line 4: order_id 5 is already in sales_data: each row must have "
        "its own order_id (one order per row); use --replace to replace the table's rows instead of "
        "appending. Nothing from this file was loaded."
    )
    assert snapshot(load) == before


@pytest.mark.parametrize("mode", ["--append", "--replace"])
@pytest.mark.parametrize("rows_per_batch", [2, 1_000], ids=["across-batches", "in-one-batch"])
def test_an_order_id_twice_in_the_file_is_named_with_its_line(
    load: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, rows_per_batch: int
) -> None:
    """Read two rows at a time, the repeat on line 6 is two batches after the first on line 3."""
    path = lines_of(tmp_path, 40_001, 40_002, 40_003, 40_004, 40_002, 40_005)
    longest = files.longest_row(path, offset=len(HEADER) + 1)
    monkeypatch.setattr(files, "READ_CHUNK_BYTES", rows_per_batch * longest)
    before = snapshot(load)
    message = refused(path, mode)
    assert message == (
        f"error: {path}, line 6: order_id 40002 appears twice: each row must have its own order_id. "
        "Nothing from this file was loaded."
    )
    assert snapshot(load) == before


LONG_ROWS = [
    pytest.param(
        f"{HEADER}\n{row(order_id='1')}\n{row(customer_name='x' * MAX_LINE_BYTES)}\n",
        f"line 3: the row starting on this line is longer than {MAX_LINE_BYTES} bytes",
        id="a-line-past-the-bound",
    ),
    pytest.param(
        f'{HEADER}\n{row(order_id="1")}\n2,2020-01-02,101,"Customer\n' + "x\n" * MAX_LINE_BYTES,
        f"line 3: the row starting on this line is longer than {MAX_LINE_BYTES} bytes "
        "(a quoted field left open)",
        id="a-quote-that-never-closes",
    ),
    pytest.param(
        "\x00" * 1_000,
        "line 1: the header line holds NUL bytes",
        id="only-nul-bytes",
    ),
    pytest.param(
        HEADER + "," * (MAX_HEADER_BYTES + 1),
        f"line 1: the header line is longer than {MAX_HEADER_BYTES} bytes",
        id="one-line-only",
    ),
    pytest.param(
        f"{HEADER}\n{row(order_id='1')}\n\n{row(order_id='3')}\n",
        "line 3: order_id is missing",
        id="an-empty-line",
    ),
]


@pytest.mark.parametrize(("text", "reason"), LONG_ROWS)
def test_overlong_and_malformed_lines_are_one_line_and_nothing_written(
    load: Database, tmp_path: Path, text: str, reason: str
) -> None:
    before = snapshot(load)
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    assert f"bad.csv, {reason}" in refused(path)
    assert snapshot(load) == before


def test_the_widest_values_the_schema_allows_load_exactly(
    cli_env: Path, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The bounds are the columns' own: values at the edges load, and read back unchanged."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    edges = [
        row(
            order_id=str(2**31 - 1),
            order_date="0001-01-01",
            customer_id=str(-(2**31)),
            customer_name="\U0001f600" * 255,
            product_id=str(2**31 - 1),
            product_names="\u00e4" * 255,
            categories="\u03a9" * 100,
            quantity="1",
            price="99999999.99",
            total="99999999.99",
        ),
        row(
            order_id=str(-(2**31)),
            order_date="9999-12-31",
            customer_id=str(2**31 - 1),
            customer_name='"Smith, ""Bob"""',
            product_id=str(-(2**31)),
            quantity=str(2**31 - 1),
            price="0.01",
            total="21474836.47",
        ),
    ]
    path = tmp_path / "edges.csv"
    path.write_text("\n".join([HEADER, *edges]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["data", "load", str(path), "--replace"])
    assert result.exit_code == 0, result.output
    with Session(database.engine) as session:
        low, high = session.scalars(select(SalesRow).order_by(SalesRow.order_id)).all()
    assert (low.order_id, high.order_id) == (-(2**31), 2**31 - 1)
    assert (low.order_date.isoformat(), high.order_date.isoformat()) == ("9999-12-31", "0001-01-01")
    assert high.customer_name == "\U0001f600" * 255 and high.categories == "\u03a9" * 100
    assert low.customer_name == 'Smith, "Bob"' and low.quantity == 2**31 - 1
    assert (str(high.price), str(low.total)) == ("99999999.99", "21474836.47")
    assert snapshot(database)[0] == 2


# -- 1 GB files, through the real command --------------------------------------------------------


def sparse(path: Path, head: bytes) -> Path:
    """``head`` and then NUL bytes up to 1 GiB, without writing them (a sparse file)."""
    path.write_bytes(head)
    os.truncate(path, GIB)
    return path


HUGE = [
    pytest.param(
        (HEADER + "\n").encode(),
        f"line 2: the row starting on this line is longer than {MAX_LINE_BYTES} bytes",
        id="header-then-1GB-line",
    ),
    pytest.param(
        f"{HEADER}\n{row(order_id='1')}\n2,2020-01-02,101,Customer_".encode(),
        f"line 3: the row starting on this line is longer than {MAX_LINE_BYTES} bytes",
        id="1GB-field",
    ),
    pytest.param(
        f'{HEADER}\n{row(order_id="1")}\n2,2020-01-02,101,"'.encode(),
        "line 3: the row starting on this line is longer than "
        f"{MAX_LINE_BYTES} bytes (a quoted field left open)",
        id="1GB-quoted-field",
    ),
    pytest.param(
        b"",
        f"line 1: the header line is longer than {MAX_HEADER_BYTES} bytes",
        id="1GB-of-NUL",
    ),
]


MEASURED = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and writes its peak resident memory (bytes) to a file. Linux starts a child's
peak from its parent's memory at fork, so the command is forked from this small process, not
from pytest (hundreds of MB by then)."""


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, int]:
    """Run a command; its exit code, its stderr and its peak resident memory in bytes."""
    peak = cwd / "peak.txt"
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, str(peak), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    return done.returncode, done.stderr, int(peak.read_text())


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("head", "reason"), HUGE)
def test_a_1gb_line_is_refused_early_in_constant_memory(
    loaded: Database, tmp_path: Path, head: bytes, reason: str
) -> None:
    path = sparse(tmp_path / "huge.csv", head)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_") or k.startswith("CHATDASH_TEST_")
    }
    env |= {"CHATDASH_DATABASE_URL": dashboard_url(loaded), "COLUMNS": "1000"}
    command = str(Path(sys.executable).with_name("chatdash"))
    before = snapshot(loaded)
    code, stderr, peak = run_measured([command, "data", "load", str(path), "--replace"], env, tmp_path)
    assert code == 1, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}, {reason}"), stderr
    assert lines[0].endswith("Nothing from this file was loaded.")
    assert peak < MEMORY_BOUND, f"peak memory {peak / 2**20:.0f} MiB"
    assert snapshot(loaded) == before
