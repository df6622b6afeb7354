"""CSV/Parquet files: exact round trips, a spreadsheet's byte-order mark, and every kind of bad row
refused with its line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from chatdash.errors import BadRowError, DataError
from chatdash.sales.files import read_file, write_file
from chatdash.sales.frame import FILE_COLUMNS
from chatdash.sales.generator import generate, generate_frame

HEADER = ",".join(FILE_COLUMNS)
GOOD = "1,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97"


def read_all(path: Path, chunk_rows: int = 500_000) -> pl.DataFrame:
    return pl.concat(list(read_file(path, chunk_rows)))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    frame = generate_frame(5_000, 11)
    path = tmp_path / f"sales{suffix}"
    assert write_file(generate(5_000, 11), path) == 5_000
    assert read_all(path, chunk_rows=1_234).equals(frame)


def test_csv_is_readable_by_people(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_file(generate(3, 1), path)
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER
    fields = lines[1].split(",")
    assert len(fields[1]) == 10 and fields[1][4] == "-"  # ISO date
    assert all(len(value.split(".")[1]) == 2 for value in fields[8:])  # money with 2 decimals


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("2,2020-13-01,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97", "order_date is not a date"),
        ("2,02/01/2020,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97", "order_date is not a date"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,abc,59.97", "price is not a number"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.999,59.997", "price is not a number"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,three,19.99,59.97", "quantity is not a whole"),
        ("2,2020-01-02,101,,200,Laptop,Electronics,3,19.99,59.97", "customer_name is missing"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99", "total is missing"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99,59.96", "is not price x quantity"),
        ("1,2020-01-03,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97", "order_id 1 appears twice"),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97,extra", "expected 10 fields"),
        ("3000000000,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97", "order_id is outside"),
        (
            "2,2020-01-02,101,Customer_5,200,Laptop,Electronics,2147483648,0.01,21474836.48",
            "quantity is outside",
        ),
        ("2,2020-01-02,101,Cust\x00omer,200,Laptop,Electronics,3,19.99,59.97", "customer_name holds a NUL"),
        (
            "2,2020-01-02,101,Customer_5,200,Laptop,Electronics,-3,10.00,-30.00",
            "quantity must be at least 1: '-3'",
        ),
        (
            "2,2020-01-02,101,Customer_5,200,Laptop,Electronics,0,19.99,0.00",
            "quantity must be at least 1: '0'",
        ),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,-19.99,-59.97", "price must be at least 0.01"),
        (
            "2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,0.00,0.00",
            "price must be at least 0.01: '0.00'",
        ),
        ("2,2020-01-02,101,Customer_5,200,Laptop,Electronics,3,19.99,-0.00", "total must be at least 0.01"),
    ],
)
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, bad_row: str, reason: str) -> None:
    path = write_csv(tmp_path, GOOD, bad_row, GOOD.replace("1,", "3,", 1))
    with pytest.raises(BadRowError) as caught:
        read_all(path)
    assert caught.value.line == 3
    assert reason in caught.value.reason
    assert "line 3" in str(caught.value) and "Nothing from this file was loaded" in str(caught.value)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_byte_order_mark_before_the_header_is_read_past(tmp_path: Path, newline: str) -> None:
    """What a spreadsheet saves as "CSV UTF-8": EF BB BF first, often with CRLF line ends."""
    path = tmp_path / "excel.csv"
    rows = [GOOD, GOOD.replace("1,", "2,", 1)]
    path.write_bytes(b"\xef\xbb\xbf" + newline.join([HEADER, *rows, ""]).encode())
    frame = read_all(path)
    assert frame["order_id"].to_list() == [1, 2] and frame["total_cents"].to_list() == [5997, 5997]
    rows.append("1,2020-01-03,101,Customer_5,200,Laptop,Electronics,3,19.99,59.97")
    path.write_bytes(b"\xef\xbb\xbf" + newline.join([HEADER, *rows, ""]).encode())
    with pytest.raises(BadRowError, match="line 4: order_id 1 appears twice"):
        read_all(path)
    path.write_bytes(b"\xef\xbb\xbf" + newline.join([HEADER, *rows[:2], GOOD + ",extra", ""]).encode())
    with pytest.raises(BadRowError, match="line 4: expected 10 fields, found 11"):
        read_all(path)


def test_non_positive_quantities_and_prices_in_parquet_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "returns.parquet"
    write_file([generate_frame(5, 1).with_columns(quantity=pl.Series([1, 2, -3, 1, 1]))], path)
    with pytest.raises(BadRowError, match=r"row 3: quantity must be at least 1: '-3'"):
        read_all(path)


def test_line_numbers_count_across_chunks(tmp_path: Path) -> None:
    rows = [GOOD.replace("1,", f"{i},", 1) for i in range(1, 50)]
    rows[40] = rows[40].replace("19.99", "x")
    with pytest.raises(BadRowError) as caught:
        read_all(write_csv(tmp_path, *rows), chunk_rows=16)
    assert caught.value.line == 42


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    header = HEADER.replace(",total", ",totl")
    with pytest.raises(BadRowError, match="missing column\\(s\\) total; unknown column\\(s\\) totl"):
        read_all(write_csv(tmp_path, GOOD, header=header))


def test_not_a_known_file_type(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"use \.csv or \.parquet"):
        read_all(tmp_path / "sales.xlsx")
    with pytest.raises(DataError, match="no such file"):
        read_all(tmp_path / "missing.csv")


def test_parquet_with_float_money_is_accepted_when_cents_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "floats.parquet"
    frame = pl.DataFrame(
        {
            "order_id": [1, 2],
            "order_date": ["2020-01-01", "2020-01-02"],
            "customer_id": [100, 101],
            "customer_name": ["Customer_1", "Customer_2"],
            "product_id": [200, 201],
            "product_names": ["Laptop", "Smartphone"],
            "categories": ["Electronics", "Electronics"],
            "quantity": [3, 1],
            "price": [19.99, 5.1],
            "total": [19.99 * 3, 5.1],  # 59.97000000000001 in binary floating point
        }
    )
    frame.write_parquet(path)
    rows = read_all(path)
    assert rows["price_cents"].to_list() == [1999, 510]
    assert rows["total_cents"].to_list() == [5997, 510]
    frame.with_columns(price=pl.Series([19.991, 5.1])).write_parquet(path)
    with pytest.raises(BadRowError, match="row 1"):
        read_all(path)


def test_files_that_are_not_what_they_say_get_one_line_each(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.replace("customer_name", "customer_n\xe4me").encode("latin-1") + b"\n")
    with pytest.raises(BadRowError, match=r"line 1: not UTF-8 text"):
        read_all(latin)
    noise = tmp_path / "noise.parquet"
    noise.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(DataError, match=r"noise\.parquet: not a readable Parquet file"):
        read_all(noise)
    good = tmp_path / "good.parquet"
    write_file([generate_frame(20_000, 1)], good)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match=r"truncated\.parquet: .*Nothing was loaded"):
        read_all(truncated)
    wide = tmp_path / "wide.csv"
    wide.write_bytes(b"x" * 70_000 + b"\n")
    with pytest.raises(BadRowError, match=r"line 1: the header line is longer than"):
        read_all(wide)
