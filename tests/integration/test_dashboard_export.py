"""The dashboard's CSV download over HTTP, against real databases: every row a link selects, in
the page's order, as a file `chatdash data load` accepts back."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from chatdash.config import get_settings
from chatdash.dashboard import export
from chatdash.db.engine import _cached_engine, get_engine
from chatdash.sales.files import read_file
from chatdash.sales.frame import FILE_COLUMNS, FRAME_SCHEMA
from tests.conftest import Database, dashboard_url, pick

URL = "/dashboard/export/sales.csv"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The export route under the base path /dashboard, as `chatdash dashboard --base-path` mounts it."""
    get_settings.cache_clear()
    _cached_engine.cache_clear()
    with TestClient(Starlette(routes=export.routes("/dashboard/"))) as http:
        yield http
    get_engine(get_settings()).dispose()
    get_settings.cache_clear()
    _cached_engine.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """The database, in `open` mode (the sign-in `password` mode asks for: test_dashboard_auth.py)."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", url)
    monkeypatch.setenv("CHATDASH_AUTH", "open")
    get_settings.cache_clear()


def test_download_is_the_filtered_rows_in_page_order(
    loaded: Database,
    sample_frame: pl.DataFrame,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    use(monkeypatch, dashboard_url(loaded))
    monkeypatch.setattr(export, "BATCH_ROWS", 500)  # many batches, so the seams are tested too
    response = client.get(
        URL, params={"start": "2015-03-17", "end": "2018-08-04", "category": ["Office", "Sundry"]}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="sales_2015-03-17_2018-08-04_office_sundry.csv"' in response.headers["content-disposition"]
    )
    assert response.text.splitlines()[0] == ",".join(FILE_COLUMNS)

    saved = tmp_path / "export.csv"
    saved.write_bytes(response.content)
    got = pl.concat(list(read_file(saved)))  # the loader's strict checks pass: it loads back
    expected = (
        pick(sample_frame, dt.date(2015, 3, 17), dt.date(2018, 8, 4), ("Office", "Sundry"))
        .sort(["order_date", "order_id"], descending=True)  # newest first, like the page
        .select(FRAME_SCHEMA.keys())
    )
    assert expected.height > 1_000
    assert got.equals(expected)


def test_whole_data_set_oldest_first(
    loaded: Database, sample_frame: pl.DataFrame, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, dashboard_url(loaded))
    lines = client.get(URL, params={"sort": "oldest"}).text.splitlines()
    assert len(lines) == sample_frame.height + 1
    oldest = sample_frame.sort(["order_date", "order_id"]).row(0, named=True)
    assert lines[1].startswith(f"{oldest['order_id']},{oldest['order_date']},")


def test_nothing_matching_is_a_header_only_file(
    loaded: Database, sample_frame: pl.DataFrame, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, dashboard_url(loaded))
    sundry_days = set(sample_frame.filter(pl.col("categories") == "Sundry")["order_date"].to_list())
    day = next(
        d for d in (dt.date(2015, 1, 1) + dt.timedelta(days=n) for n in range(365)) if d not in sundry_days
    )
    response = client.get(URL, params={"start": str(day), "end": str(day), "category": "Sundry"})
    assert response.status_code == 200
    assert response.text == ",".join(FILE_COLUMNS) + "\n"


@pytest.mark.parametrize(
    ("params", "fix"),
    [
        (
            {"category": "Toys"},
            "Unknown category 'Toys': use one of Electronics, Office, Stationery, Sundry "
            "(or leave category out for all).",
        ),
        ({"start": "2030-01-01"}, "The start date 2030-01-01 is outside the data: choose one from 20"),
        (
            {"end": "31/12/2019"},
            "The end date '31/12/2019' is not a date: write it as YYYY-MM-DD, e.g. end=20",
        ),
        (
            {"start": "2015-01-01", "end": "2014-01-01"},
            "The end date 2014-01-01 is before the start date 2015-01-01: "
            "swap them (start=2014-01-01&end=2015-01-01).",
        ),
    ],
)
def test_a_bad_link_is_refused_with_what_to_fix(
    loaded: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch, params: dict[str, str], fix: str
) -> None:
    use(monkeypatch, dashboard_url(loaded))
    response = client.get(URL, params=params)
    assert response.status_code == 400
    lines = response.text.splitlines()
    assert lines[0] == "This link cannot be exported as it is. Change it and download again:"
    assert len(lines) == 2 and lines[1].startswith(f"- {fix}")
    assert "ignored" not in response.text and "using" not in response.text


def test_names_in_the_link_are_not_case_sensitive(
    loaded: Database, sample_frame: pl.DataFrame, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, dashboard_url(loaded))
    response = client.get(URL, params={"category": ["office", "SUNDRY"], "product": "chair"})
    assert response.status_code == 200, response.text
    assert 'filename="sales_' in response.headers["content-disposition"]
    assert response.headers["content-disposition"].endswith('_office_sundry_chair.csv"')
    ids = [int(line.split(",", 1)[0]) for line in response.text.splitlines()[1:]]
    expected = pick(sample_frame, categories=("Office", "Sundry"), products=("Chair",))
    assert sorted(ids) == sorted(expected["order_id"].to_list()) and ids


def test_database_down_or_empty(
    database: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, dashboard_url(database))
    response = client.get(URL)
    assert response.status_code == 404 and "`chatdash init`" in response.text

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use(monkeypatch, f"postgresql+psycopg://postgres@127.0.0.1:{port}/chatdash")
    response = client.get(URL)
    assert response.status_code == 503 and "CHATDASH_DATABASE_URL" in response.text
