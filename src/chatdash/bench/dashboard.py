"""`chatdash bench dashboard`: one full dashboard refresh through the query layer against the
published way (aggregates over the raw table, every raw row fetched), on the same database."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url

from chatdash.bench import naive
from chatdash.bench.timing import machine, median, peak_rss_mib, time_runs
from chatdash.db.engine import ensure_schema, make_engine
from chatdash.db.migrate import upgrade
from chatdash.sales import (
    Granularity,
    PeriodRevenue,
    SalesFilter,
    auto_granularity,
    bucket,
    cents_to_decimal,
    count_orders,
    date_range,
    generate,
    key_metrics,
    load_frames,
    overview,
    raw_rows,
    revenue_over_time,
)

SEED = 42
VIEWS = (
    SalesFilter(),  # the dashboard's opening view: the data's whole date range
    SalesFilter(dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Electronics",)),
)
PAGE = 50
APP_RENDER_MAX_ROWS = 1_000_000
"""The Streamlit page is timed up to this size (the rollups make its cost flat beyond it)."""
APP_RENDER_REPEAT = 5


def bench_engine(rows: int, database_url: str | None, var_dir: Path) -> Engine:
    """A database of its own for the benchmark: a SQLite file, or a schema in PostgreSQL."""
    if database_url is None:
        return make_engine(f"sqlite:///{var_dir / 'bench' / f'dashboard-{rows}.db'}")
    if make_url(database_url).get_backend_name() == "postgresql":
        schema = _schema(rows)
        ensure_schema(database_url, schema)
        return make_engine(database_url, schema=schema)
    return make_engine(database_url)


def _schema(rows: int) -> str:
    return f"bench_dashboard_{rows}"


def prepare(engine: Engine, rows: int) -> float | None:
    """Migrate and (re)build the data unless it already holds ``rows`` orders; seconds spent."""
    upgrade(engine)
    if count_orders(engine) == rows:
        return None
    started = time.perf_counter()
    load_frames(engine, generate(rows, SEED), replace=True)
    return time.perf_counter() - started


def ours(engine: Engine, granularity: Granularity | None = None) -> list[dict[str, Any]]:
    """One refresh as the dashboard does it: the data's range, then every figure of each view.

    ``granularity`` None picks the dashboard's default for the range (days up to a quarter,
    weeks up to two years, months beyond).
    """
    span = date_range(engine)
    assert span is not None
    results = []
    for view in VIEWS:
        view = SalesFilter(view.start or span.start, view.end or span.end, view.categories)
        assert view.start and view.end
        summary = overview(engine, view)
        grain = granularity or auto_granularity(view.start, view.end)
        results.append(
            {
                "metrics": summary.metrics,
                "by_category": summary.by_category,
                "series": revenue_over_time(engine, view, grain),
                "top_products": summary.top_products(10),
                "first_page": raw_rows(engine, view, limit=PAGE).rows,
            }
        )
    return results


def baseline(engine: Engine) -> list[dict[str, Any]]:
    return [naive.refresh(engine, view, PAGE) for view in VIEWS]


def fold(series: list[PeriodRevenue], granularity: Granularity) -> list[PeriodRevenue]:
    """The naive daily series summed into the dashboard's buckets, for the comparison."""
    sums: dict[dt.date, list[int]] = {}
    for point in series:
        totals = sums.setdefault(bucket(point.period, granularity), [0, 0])
        totals[0] += int(point.revenue * 100)
        totals[1] += point.orders
    return [PeriodRevenue(p, cents_to_decimal(r), n) for p, (r, n) in sorted(sums.items())]


def same_figures(
    a: list[dict[str, Any]], b: list[dict[str, Any]], granularity: Granularity | None = None
) -> list[str]:
    """Names of the figures where our refresh ``a`` and the naive ``b`` disagree (empty: none)."""
    keys = ("metrics", "by_category", "series", "top_products", "first_page")
    wrong = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        grain = granularity or _grain_of(x["series"])
        folded = {**y, "series": fold(y["series"], grain)}
        wrong += [f"view {i}: {key}" for key in keys if x[key] != folded[key]]
    return wrong


def _grain_of(series: list[PeriodRevenue]) -> Granularity:
    periods = [p.period for p in series]
    if all(p.day == 1 for p in periods) and len({(p.year, p.month) for p in periods}) == len(periods):
        return "month"
    if all(p.weekday() == 0 for p in periods[1:]):
        return "week"
    return "day"


def run(
    rows: int, database_url: str | None, var_dir: Path, repeat: int, baseline_repeat: int
) -> dict[str, Any]:
    engine = bench_engine(rows, database_url, var_dir)
    try:
        built = prepare(engine, rows)
        naive_figures = baseline(engine)
        mismatches = same_figures(ours(engine), naive_figures) + same_figures(
            ours(engine, "day"), naive_figures, "day"
        )
        if mismatches:
            raise AssertionError("query layer and naive SQL disagree on " + ", ".join(mismatches))
        our_runs = time_runs(lambda: ours(engine), repeat)
        day_runs = time_runs(lambda: ours(engine, "day"), repeat)
        base_runs = time_runs(lambda: baseline(engine), baseline_repeat, warmup=0)
        app_runs = (
            app_render_runs(engine, rows, min(repeat, APP_RENDER_REPEAT))
            if rows <= APP_RENDER_MAX_ROWS
            else []
        )
        return {
            "name": "dashboard",
            "rows": rows,
            "backend": engine.dialect.name,
            "server_version": ".".join(map(str, engine.dialect.server_version_info or ())),
            "views": ["whole range, all categories (monthly series)", "2019, Electronics (weekly)"],
            "median_ms": median(our_runs),
            "baseline_median_ms": median(base_runs),
            "speedup": round(median(base_runs) / median(our_runs), 1),
            "runs_ms": [round(r, 2) for r in our_runs],
            "daily_series_median_ms": median(day_runs),
            "baseline_runs_ms": [round(r, 1) for r in base_runs],
            "same_figures": True,
            **(
                {
                    "app_render_median_ms": median(app_runs),
                    "app_render_runs_ms": [round(r, 1) for r in app_runs],
                }
                if app_runs
                else {}
            ),
            "build_seconds": round(built, 1) if built is not None else None,
            "peak_rss_mib": peak_rss_mib(),
            "machine": machine(),
        }
    finally:
        engine.dispose()


def app_render_runs(engine: Engine, rows: int, repeat: int = APP_RENDER_REPEAT) -> list[float]:
    """Milliseconds for the Streamlit page itself (via AppTest) to render the opening view.

    Each run starts with empty data caches, as a first visitor or one after the cache TTL does;
    the engine stays pooled, as in a running server. The rendered metrics are checked against
    the query layer, so a page that shows an error cannot pass for a fast one.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from chatdash.dashboard import APP_PATH
    from chatdash.dashboard.formatting import money

    url = engine.url
    if url.get_backend_name() == "postgresql":
        url = url.update_query_dict({"options": f"-csearch_path={_schema(rows)}"})
    expected = money(key_metrics(engine).total_revenue)

    def render() -> None:
        st.cache_data.clear()
        page = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
        shown = [m.value for m in page.metric]
        if page.exception or page.error or not shown or shown[0] != expected:
            problems = [e.value for e in (*page.exception, *page.error)]
            raise AssertionError(f"the dashboard did not render the opening view: {problems or shown}")

    with _page_database(url.render_as_string(hide_password=False)):
        return time_runs(render, repeat)


@contextlib.contextmanager
def _page_database(url: str) -> Iterator[None]:
    """Point the page (which reads CHATDASH_DATABASE_URL) at ``url`` meanwhile, and keep it quiet.

    Without a server Streamlit warns "no runtime" on every run; that must not end up beside
    ``--json``'s output. Its configuration is parsed first, or parsing it would reset the level.
    """
    from streamlit import config, logger

    from chatdash.config import get_settings

    saved = os.environ.get("CHATDASH_DATABASE_URL")
    saved_auth = os.environ.get("CHATDASH_AUTH")
    os.environ["CHATDASH_DATABASE_URL"] = url
    os.environ["CHATDASH_AUTH"] = "open"  # the page's render is measured, not its sign-in
    get_settings.cache_clear()
    config.get_config_options()
    log_level = logger.get_logger("root").level
    logger.set_log_level("error")
    try:
        yield
    finally:
        logger.set_log_level(log_level)
        if saved is None:
            os.environ.pop("CHATDASH_DATABASE_URL", None)
        else:
            os.environ["CHATDASH_DATABASE_URL"] = saved
        if saved_auth is None:
            os.environ.pop("CHATDASH_AUTH", None)
        else:
            os.environ["CHATDASH_AUTH"] = saved_auth
        get_settings.cache_clear()
