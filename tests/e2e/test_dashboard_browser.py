"""The dashboard as a user gets it: a real `chatdash dashboard` server under a base path, a real
headless Chromium (Debian's `chromium`; nothing is downloaded), a database `chatdash init` made.

Screenshots are saved under ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from chatdash.dashboard.formatting import count, money
from chatdash.db.engine import make_engine
from chatdash.sales import SalesFilter
from chatdash.sales.generator import generate_frame
from tests.e2e.processes import running, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHATDASH = Path(sys.executable).with_name("chatdash")
BASE_PATH = "/dashboard"
ROWS = 5_000
expect.set_options(timeout=30_000)  # the first run of a new server imports Plotly and pandas

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install chromium "
    "(package `chromium`; `make test` installs it when run as root)",
)


@dataclass
class Server:
    url: str
    """The page's URL, base path included, ending in /."""
    engine: Engine
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chatdash init --rows 5000`, then `chatdash dashboard` until the health check answers."""
    home = tmp_path_factory.mktemp("dashboard")
    database = f"sqlite:///{home / 'var' / 'chatdash.db'}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {"CHATDASH_VAR_DIR": str(home / "var"), "CHATDASH_DATABASE_URL": database}
    subprocess.run(
        [CHATDASH, "init", "--rows", str(ROWS)],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = home / "dashboard.log"
    args = [CHATDASH, "dashboard", "--port", str(port), "--base-path", BASE_PATH]
    url = f"http://127.0.0.1:{port}{BASE_PATH}/"
    engine = make_engine(database)
    try:
        with running(args, env, home, log) as process:
            wait_healthy(url + "_stcore/health", process, log, body=b"ok")
            yield Server(url, engine, log)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # Tall enough for the whole page: Streamlit scrolls inside its own container, so a
    # full-page screenshot would stop at the window's height.
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def loaded_rows(flt: SalesFilter = SalesFilter()) -> pl.DataFrame:
    """The rows `chatdash init --rows ROWS` loaded (seed 42) that ``flt`` keeps, with their revenue in
    cents: the independent side of the page's figures (never the query layer)."""
    rows = generate_frame(ROWS).with_columns(revenue=pl.col("price_cents") * pl.col("quantity"))
    if flt.start:
        rows = rows.filter(pl.col("order_date") >= flt.start)
    if flt.end:
        rows = rows.filter(pl.col("order_date") <= flt.end)
    if flt.categories:
        rows = rows.filter(pl.col("categories").is_in(list(flt.categories)))
    if flt.products:
        rows = rows.filter(pl.col("product_names").is_in(list(flt.products)))
    return rows


def expected_metrics(flt: SalesFilter = SalesFilter()) -> list[str]:
    rows = loaded_rows(flt)
    revenue = int(rows["revenue"].sum())
    by_category = rows.group_by("categories").agg(pl.col("revenue").sum()).rows()
    top = min(by_category, key=lambda pair: (-pair[1], pair[0]))[0] if by_category else "—"
    average = (
        (Decimal(revenue) / rows.height).quantize(Decimal(1), ROUND_HALF_UP) / 100 if rows.height else None
    )
    return [money(Decimal(revenue) / 100), count(rows.height), money(average), top]


def metric_values(page: Page) -> list[str]:
    values = page.get_by_test_id("stMetricValue")
    expect(values).to_have_count(4)
    return [text.strip() for text in values.all_inner_texts()]


def screenshot(page: Page, name: str) -> None:
    page.locator(".js-plotly-plot").first.wait_for()
    page.get_by_test_id("stDataFrame").wait_for()
    page.wait_for_timeout(500)  # let Plotly finish its first draw
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name)


def test_the_page_shows_the_data_sets_metrics(server: Server, page: Page) -> None:
    assert f"dashboard: {server.url} " in server.log.read_text()  # what the command printed
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Sales")).to_be_visible()
    assert metric_values(page) == expected_metrics()
    expect(page.get_by_text(f"Rows 1 to 50 of {ROWS:,}")).to_be_visible()
    screenshot(page, "dashboard.png")


def test_a_shared_link_reproduces_the_view(server: Server, page: Page) -> None:
    page.goto(server.url + "?start=2019-01-01&end=2019-12-31&category=Office&category=Sundry&chart=products")
    flt = SalesFilter(dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Office", "Sundry"))
    assert metric_values(page) == expected_metrics(flt)
    expect(page.get_by_role("tab", name="Top 10 products")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Top 4 products by revenue")).to_be_visible()  # Office + Sundry have 4
    screenshot(page, "dashboard-shared-link.png")


def test_choosing_a_category_puts_it_in_the_link(server: Server, page: Page) -> None:
    page.goto(server.url)
    metric_values(page)
    page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Categories", exact=True)).click()
    page.get_by_role("option", name="Stationery").click()
    page.wait_for_url("**category=Stationery**")
    flt = SalesFilter(categories=("Stationery",))
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(expected_metrics(flt)[0])
    assert metric_values(page) == expected_metrics(flt)


def test_a_product_link_shows_and_downloads_those_products(server: Server, page: Page) -> None:
    """The chat's link format for an answer about products; figures from the rows `init` loaded."""
    page.goto(server.url + "?product=Laptop&product=Desk&start=2016-01-01&end=2019-12-31")
    rows = (
        generate_frame(ROWS)  # what `chatdash init --rows ROWS` loaded (seed 42)
        .filter(
            pl.col("order_date").is_between(dt.date(2016, 1, 1), dt.date(2019, 12, 31)),
            pl.col("product_names").is_in(["Laptop", "Desk"]),
        )
        .with_columns(revenue=pl.col("price_cents") * pl.col("quantity"))
    )
    revenue = int(rows["revenue"].sum())
    assert metric_values(page)[:3] == [
        money(Decimal(revenue) / 100),
        count(rows.height),
        money((Decimal(revenue) / rows.height).quantize(Decimal(1), ROUND_HALF_UP) / 100),
    ]
    chosen = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Products", exact=True))
    expect(chosen.get_by_text("Desk", exact=True)).to_be_visible()
    expect(chosen.get_by_text("Laptop", exact=True)).to_be_visible()
    href = page.get_by_role("link", name="Download all").get_attribute("href")
    assert href is not None and "product=Desk&product=Laptop" in href
    with urllib.request.urlopen(server.url.removesuffix(BASE_PATH + "/") + href, timeout=30) as response:
        lines = response.read().decode().splitlines()[1:]
    assert sorted(int(line.split(",", 1)[0]) for line in lines) == sorted(rows["order_id"].to_list())
    screenshot(page, "dashboard-products.png")


def test_the_csv_link_downloads_the_filtered_rows(server: Server, page: Page) -> None:
    page.goto(server.url + "?start=2020-01-01&end=2020-06-30&category=Electronics")
    link = page.get_by_role("link", name="Download all")
    href = link.get_attribute("href")
    assert href is not None and href.startswith(f"{BASE_PATH}/export/sales.csv?")
    with urllib.request.urlopen(server.url.removesuffix(BASE_PATH + "/") + href, timeout=30) as response:
        lines = response.read().decode().splitlines()
    rows = loaded_rows(SalesFilter(dt.date(2020, 1, 1), dt.date(2020, 6, 30), ("Electronics",)))
    assert len(lines) - 1 == rows.height
    assert sum(int(line.rsplit(",", 1)[1].replace(".", "")) for line in lines[1:]) == rows["revenue"].sum()
