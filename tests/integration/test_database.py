"""Migrations match the models; SQLite pragmas; PostgreSQL reconnects after a restart."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from chatdash import sales
from chatdash.db.migrate import alembic_config, current_revision, upgrade
from chatdash.db.models import Base
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames
from tests.conftest import Database


def test_migrations_and_models_do_not_drift(database: Database) -> None:
    with database.engine.connect() as conn:
        # The search index (0006) is none the models describe: an FTS5 table, an expression index
        searched = {
            "include_name": lambda name, *_: not str(name).startswith(("messages_fts", "ix_messages_search"))
        }
        context = MigrationContext.configure(conn, opts={"compare_type": True, **searched})
        assert compare_metadata(context, Base.metadata) == []
    head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
    assert current_revision(database.engine) == head
    upgrade(database.engine)  # running it again is harmless
    assert current_revision(database.engine) == head


def test_sqlite_connections_use_wal_and_foreign_keys(database: Database) -> None:
    if database.backend != "sqlite":
        pytest.skip("WAL and foreign-key pragmas are SQLite's; PostgreSQL has neither setting")
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_a_dropped_connection_is_replaced_without_a_restart(database: Database) -> None:
    load_frames(database.engine, [generate_frame(100, 1)], replace=True)
    assert sales.count_orders(database.engine) == 100
    if database.backend == "postgresql":
        # What a server restart does to pooled connections: kill every backend of this schema's pool.
        with database.engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        from chatdash.db.engine import make_engine

        admin = make_engine(database.url)
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        admin.dispose()
    else:
        database.engine.pool.dispose()
    assert sales.count_orders(database.engine) == 100


def test_an_in_memory_sqlite_engine_works() -> None:
    """``sqlite://`` gets SQLAlchemy's single-connection pool, which takes no pool sizes."""

    from chatdash.db.engine import make_engine

    for url in ("sqlite://", "sqlite:///:memory:"):
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # our pragmas ran
        finally:
            engine.dispose()


def test_migration_0004_fills_the_customer_rollup_from_the_rows(database: Database) -> None:
    """A database loaded before the customer rollup existed gets it filled, equal to the loader's."""

    load_frames(database.engine, [generate_frame(3_000, 3)], replace=True)
    totals = (
        "SELECT SUM(order_count), SUM(revenue_cents), MAX(max_total_cents), MIN(min_total_cents), COUNT(*) "
    )
    totals += "FROM sales_monthly_customer"
    with database.engine.begin() as conn:
        loaded = tuple(int(v) for v in conn.execute(text(totals)).one())
    command.downgrade(alembic_config(database.engine), "0003_answer")  # before the rollup; rows kept
    with database.engine.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sales_data")).scalar_one() == 3_000
    upgrade(database.engine)
    with database.engine.connect() as conn:
        assert tuple(int(v) for v in conn.execute(text(totals)).one()) == loaded
    assert loaded[0] == 3_000
