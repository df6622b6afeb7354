"""Shared fixtures: real databases (a temporary SQLite file; a fresh schema in the PostgreSQL that
CHATDASH_TEST_DATABASE_URL names), migrated exactly as `chatdash init` does."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from chatdash.config import load_settings
from chatdash.db.engine import drop_schema, ensure_schema, make_engine
from chatdash.db.migrate import upgrade
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames

BACKENDS = ("sqlite", "postgresql")
PG_SKIP = (
    "CHATDASH_TEST_DATABASE_URL is not set: the PostgreSQL half of this test needs a real server "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; CI sets it)"
)


def pg_url() -> str | None:
    url = os.environ.get("CHATDASH_TEST_DATABASE_URL")
    return load_settings(database_url=url).database_url if url else None


class Database:
    """A migrated, empty database of one backend; ``url``/``schema`` rebuild its engine."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.schema: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'test.db'}"
        else:
            url = pg_url()
            if url is None:
                pytest.skip(PG_SKIP)
            self.url = url
            self.schema = f"t_{uuid.uuid4().hex[:12]}"
            ensure_schema(url, self.schema)
        self.engine: Engine = make_engine(self.url, schema=self.schema)
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.schema:
            drop_schema(self.url, self.schema)

    def env(self) -> dict[str, str]:
        """Environment for a `chatdash` subprocess / CLI run against this database."""
        if self.schema:
            raise RuntimeError("CLI runs use a database of their own, not a test schema")
        return {"CHATDASH_DATABASE_URL": self.url}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty migrated database, once per backend."""
    db = Database(request.param, tmp_path)
    yield db
    db.close()


SAMPLE_ROWS = 30_000
SAMPLE_SEED = 7


@pytest.fixture(scope="session")
def sample_frame() -> pl.DataFrame:
    """The rows loaded into ``loaded``: the independent side of every query check."""
    return generate_frame(SAMPLE_ROWS, SAMPLE_SEED)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sample_frame: pl.DataFrame,
) -> Iterator[Database]:
    """A database holding ``sample_frame``, shared by a module's read-only tests."""
    db = Database(request.param, tmp_path_factory.mktemp(request.param))
    load_frames(db.engine, [sample_frame], replace=True)
    yield db
    db.close()


# -- the dashboard's tests ---------------------------------------------------------------------
# The page and its CSV export open the database from CHATDASH_DATABASE_URL alone, so a PostgreSQL
# test schema travels in the URL; ``pick`` is the independent side of their figures.


def dashboard_url(db: Database) -> str:
    """The test database as the page's CHATDASH_DATABASE_URL (a PostgreSQL test schema included)."""
    return f"{db.url}?options=-csearch_path%3D{db.schema}" if db.schema else db.url


def pick(
    frame: pl.DataFrame,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: tuple[str, ...] = (),
    products: tuple[str, ...] = (),
) -> pl.DataFrame:
    """The rows of ``frame`` a filter selects (dates inclusive, no categories/products: all), with
    revenue in cents."""
    if start:
        frame = frame.filter(pl.col("order_date") >= start)
    if end:
        frame = frame.filter(pl.col("order_date") <= end)
    if categories:
        frame = frame.filter(pl.col("categories").is_in(list(categories)))
    if products:
        frame = frame.filter(pl.col("product_names").is_in(list(products)))
    return frame.with_columns(revenue=pl.col("price_cents") * pl.col("quantity"))


# -- the CLI's tests ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A clean working directory (the default SQLite database lands in its var/), no CHATDASH_*
    settings from the caller's shell, fresh settings and engine caches, and wide console lines."""
    from chatdash.cli.common import console
    from chatdash.config import get_settings
    from chatdash.db.engine import _cached_engine

    for name in list(os.environ):
        if name.startswith("CHATDASH_") and not name.startswith("CHATDASH_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 200)
    get_settings.cache_clear()
    _cached_engine.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    _cached_engine.cache_clear()


def cli(*args: str) -> str:
    """Run `chatdash ARGS...` in process; it must succeed. Returns what it printed."""
    from typer.testing import CliRunner

    from chatdash.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output
