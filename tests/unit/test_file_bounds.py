"""The streaming pass that bounds a CSV file's rows before polars reads it: exact at every chunk
boundary, quote-aware as polars is, and what sizes polars' batches."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chatdash.errors import BadRowError
from chatdash.sales import files
from chatdash.sales.files import longest_row, read_file
from chatdash.sales.frame import FILE_COLUMNS


def reference(data: bytes, limit: int) -> tuple[str, int]:
    """Byte by byte: ("ok", longest row) or ("refused", the line the overlong row starts on)."""
    longest = row = 0
    line = physical = 2
    quoted = False
    for byte in data:
        if byte == ord("\n"):
            physical += 1
            if not quoted:
                longest, row, line = max(longest, row), 0, physical
                continue
        row += 1
        quoted ^= byte == ord('"')
        if row > limit:
            return "refused", line
    return "ok", max(longest, row)


def scanned(path: Path, limit: int) -> tuple[str, int]:
    try:
        return "ok", longest_row(path, offset=2, limit=limit)
    except BadRowError as exc:
        return "refused", exc.line


def test_the_scan_agrees_with_a_byte_by_byte_reading_at_every_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chance = random.Random(11)
    path = tmp_path / "in.csv"
    for _ in range(3_000):
        data = bytes(chance.choice(b'ab,"\n\n') for _ in range(chance.randint(0, 60)))
        limit = chance.randint(1, 12)
        monkeypatch.setattr(files, "SCAN_CHUNK_BYTES", chance.randint(1, 9))
        path.write_bytes(b"h\n" + data)
        assert scanned(path, limit) == reference(data, limit), (data, limit, files.SCAN_CHUNK_BYTES)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"ab\ncdef\n", ("ok", 4)),
        (b"ab\r\ncdef\r\n", ("ok", 5)),
        (b'ab\n"c\nd"\n', ("ok", 5)),  # a newline inside quotes belongs to the row
        (b"ab\ncdefghijk\n", ("refused", 3)),
        (b'ab\n"c\nd\ne\nf\n', ("refused", 3)),  # a quote that never closes
        (b"\x00" * 100, ("refused", 2)),
    ],
)
def test_rows_past_the_limit_are_refused_with_the_line_they_start_on(
    tmp_path: Path, data: bytes, expected: tuple[str, int]
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"h\n" + data)
    assert scanned(path, limit=6) == expected


def test_long_rows_are_read_in_fewer_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "long.csv"
    name = "Customer_5" + " " * 2_000  # padding is stripped: a long but valid row
    rows = [f"{i},2020-01-02,101,{name},200,Laptop,Electronics,3,19.99,59.97" for i in range(1, 101)]
    path.write_text("\n".join([",".join(FILE_COLUMNS), *rows]) + "\n")
    monkeypatch.setattr(files, "READ_CHUNK_BYTES", 20_000)
    heights = [frame.height for frame in read_file(path)]
    assert sum(heights) == 100 and max(heights) <= 20_000 // 2_070
