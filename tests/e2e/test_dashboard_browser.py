"""The dashboard as a user gets it: a real `chatdash dashboard` server under a base path beside a real
`chatdash serve` (the chat, whose sign-in the dashboard shares), a real headless Chromium (Debian's
`chromium`; nothing is downloaded), a database `chatdash init` made.

Both servers run as the embedded default does: `password` mode, no ``CHATDASH_SESSION_SECRET`` (the
key is generated under their shared ``VAR_DIR``). The browser signs in once, on the chat's page, and
the dashboard on another port of the same host opens with that session. Every request the pages make
is recorded: nothing may go to another host (the favicon used to come from a font host).
Screenshots are saved under ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, StorageState, expect, sync_playwright
from sqlalchemy import Engine

from chatdash.chat import users
from chatdash.dashboard.formatting import count, money
from chatdash.db.engine import make_engine
from chatdash.sales import SalesFilter
from chatdash.sales.generator import generate_frame
from tests.e2e.processes import running, wait_healthy
from tests.integration import quality_data

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
USER, OTHER, PASSWORD = "dana", "erin", "dashboard password"
"""Two accounts: signing out ends every session of an account, so OTHER's sign-out test keeps USER's."""
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
    chat_url: str
    """The chat's URL (its sign-in page), ending in /."""
    engine: Engine
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chatdash init --rows 5000`, an account, then `chatdash serve` and `chatdash dashboard` until
    their health checks answer."""
    home = tmp_path_factory.mktemp("dashboard")
    database = f"sqlite:///{home / 'var' / 'chatdash.db'}"
    chat_port, port = free_port(), free_port()
    chat_url = f"http://127.0.0.1:{chat_port}/"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_DATABASE_URL": database,
        "CHATDASH_CHAT_URL": chat_url,
        "CHATDASH_LLM_PROVIDER": "scripted",  # the chat is only signed in to here: no model to load
        "CHATDASH_ALLOW_SCRIPTED_MODEL": "true",
    }
    subprocess.run(
        [CHATDASH, "init", "--rows", str(ROWS)],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=120,
    )
    engine = make_engine(database)
    for name in (USER, OTHER):
        users.create_user(engine, name, PASSWORD)
    log = home / "dashboard.log"
    args = [CHATDASH, "dashboard", "--port", str(port), "--base-path", BASE_PATH]
    url = f"http://127.0.0.1:{port}{BASE_PATH}/"
    try:
        with (
            running([CHATDASH, "serve", "--port", str(chat_port)], env, home, home / "serve.log") as chat,
            running(args, env, home, log) as process,
        ):
            wait_healthy(chat_url + "healthz", chat, home / "serve.log")
            wait_healthy(url + "_stcore/health", process, log, body=b"ok")
            yield Server(url, chat_url, engine, log)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: Page, server: Server, name: str = USER) -> None:
    """Sign in on the chat's own page, as a person does."""
    page.goto(server.chat_url)
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[value="signin"]')
    expect(page).to_have_url(server.chat_url + "c")


@pytest.fixture(scope="module")
def session(server: Server, browser: Browser) -> StorageState:
    """The browser's cookies after one sign-in on the chat (each test's fresh context starts with them)."""
    context = browser.new_context()
    sign_in(context.new_page(), server)
    state = context.storage_state()
    context.close()
    return state


def new_tab(browser: Browser, requests: list[str], storage: StorageState | None = None) -> Page:
    """A tab in a context of its own, recording the URL of every request it sends into ``requests``."""
    # Tall enough for the whole page: Streamlit scrolls inside its own container, so a
    # full-page screenshot would stop at the window's height.
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, storage_state=storage)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.on("request", lambda request: requests.append(request.url))
    return tab


def elsewhere(requests: list[str]) -> list[str]:
    """The requests that went to another host than this machine."""
    return [url for url in requests if urlsplit(url).hostname not in ("127.0.0.1", "localhost")]


@pytest.fixture
def requests() -> list[str]:
    """Every URL the test's tab requested."""
    return []


@pytest.fixture
def page(browser: Browser, session: StorageState, requests: list[str]) -> Iterator[Page]:
    """A tab signed in (on the chat); nothing it loads may come from the internet."""
    tab = new_tab(browser, requests, session)
    yield tab
    tab.context.close()
    assert elsewhere(requests) == [], "the page loaded something from the internet"


@pytest.fixture
def guest(browser: Browser, requests: list[str]) -> Iterator[Page]:
    """A tab that never signed in."""
    tab = new_tab(browser, requests)
    yield tab
    tab.context.close()
    assert elsewhere(requests) == [], "the page loaded something from the internet"


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
    download = page.request.get(server.url.removesuffix(BASE_PATH + "/") + href)  # with the tab's cookies
    assert download.ok and "_desk_laptop.csv" in download.headers["content-disposition"]
    lines = download.text().splitlines()[1:]
    assert sorted(int(line.split(",", 1)[0]) for line in lines) == sorted(rows["order_id"].to_list())
    screenshot(page, "dashboard-products.png")


def test_the_csv_link_downloads_the_filtered_rows(server: Server, page: Page) -> None:
    page.goto(server.url + "?start=2020-01-01&end=2020-06-30&category=Electronics")
    link = page.get_by_role("link", name="Download all")
    href = link.get_attribute("href")
    assert href is not None and href.startswith(f"{BASE_PATH}/export/sales.csv?")
    download = page.request.get(server.url.removesuffix(BASE_PATH + "/") + href)  # with the tab's cookies
    assert download.ok
    assert 'filename="sales_2020-01-01_2020-06-30_electronics.csv"' in download.headers["content-disposition"]
    lines = download.text().splitlines()
    rows = loaded_rows(SalesFilter(dt.date(2020, 1, 1), dt.date(2020, 6, 30), ("Electronics",)))
    assert len(lines) - 1 == rows.height
    assert sum(int(line.rsplit(",", 1)[1].replace(".", "")) for line in lines[1:]) == rows["revenue"].sum()


def test_without_a_session_there_is_only_a_sign_in_link(server: Server, guest: Page) -> None:
    guest.goto(server.url + "?category=Office")
    expect(guest.get_by_text("The sales dashboard is for signed-in users of the chat")).to_be_visible()
    link = guest.get_by_role("link", name="Sign in")
    expect(link).to_have_attribute("href", server.chat_url)
    guest.wait_for_timeout(500)
    expect(guest.get_by_test_id("stMetricValue")).to_have_count(0)
    expect(guest.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(guest.get_by_test_id("stDateInput")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    guest.screenshot(path=ARTIFACTS / "dashboard-sign-in.png")
    refused = guest.request.get(server.url + "export/sales.csv")
    assert refused.status == 401 and server.chat_url in refused.text()


def test_one_sign_in_opens_the_chat_and_the_dashboard(server: Server, guest: Page) -> None:
    """Signed in on the chat's page (port A), the dashboard (port B, same host) opens; signed out in
    the chat, it is closed again."""
    guest.goto(server.url)
    expect(guest.get_by_role("link", name="Sign in")).to_be_visible()
    sign_in(guest, server, OTHER)
    guest.goto(server.url)
    assert metric_values(guest) == expected_metrics()
    expect(guest.get_by_text(f"Signed in as {OTHER}.")).to_be_visible()
    screenshot(guest, "dashboard-signed-in.png")

    guest.goto(server.chat_url + "c")
    guest.get_by_role("button", name="Sign out").click()
    expect(guest).to_have_url(server.chat_url)
    guest.goto(server.url)
    expect(guest.get_by_role("link", name="Sign in")).to_be_visible()
    expect(guest.get_by_test_id("stMetricValue")).to_have_count(0)


def test_nothing_is_loaded_from_the_internet(server: Server, page: Page, requests: list[str]) -> None:
    page.goto(server.url + "?chart=category")
    metric_values(page)
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_timeout(1_000)
    icon = page.locator("link[rel='shortcut icon']").get_attribute("href")
    assert icon is not None and icon.startswith("data:image/svg+xml"), icon  # the packaged favicon
    assert any(url.startswith(server.url) for url in requests)
    assert elsewhere(requests) == []


def test_a_typed_date_applies_on_enter(server: Server, page: Page) -> None:
    page.goto(server.url)
    metric_values(page)
    page.get_by_role("spinbutton", name="year, Dates start date").click()
    page.keyboard.type("2020")  # the year; the month and day stay as they were
    assert "start=" not in page.url
    page.keyboard.press("Enter")  # no click elsewhere, no Tab: Enter alone applies it
    page.wait_for_url("**start=2020-01-**")
    start = dt.date.fromisoformat(page.url.split("start=")[1][:10])
    expect(page.get_by_test_id("stMetricValue").nth(1)).to_have_text(
        expected_metrics(SalesFilter(start=start))[1]
    )
    assert metric_values(page) == expected_metrics(SalesFilter(start=start))


def test_a_page_of_rows_by_its_number_and_in_the_link(server: Server, page: Page) -> None:
    page.goto(server.url + "?rows=25&sort=oldest")
    expect(page.get_by_text(f"Rows 1 to 25 of {ROWS:,} · page 1 of 200")).to_be_visible()
    box = page.get_by_label("Page", exact=True)
    box.fill("150")
    box.press("Enter")
    page.wait_for_url("**page=150**")
    expect(page.get_by_text(f"Rows 3,726 to 3,750 of {ROWS:,} · page 150 of 200")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**page=151**")
    expect(page.get_by_text("Rows 3,751 to 3,775")).to_be_visible()
    cells = page.get_by_test_id("stDataFrame")
    expect(cells).to_be_visible()
    screenshot(page, "dashboard-page-151.png")

    page.reload()  # the link holds the page
    expect(page.get_by_text(f"Rows 3,751 to 3,775 of {ROWS:,} · page 151 of 200")).to_be_visible()


def test_cut_weeks_are_marked_not_drawn_as_drops(server: Server, page: Page) -> None:
    page.goto(server.url + "?start=2020-01-08&end=2020-03-24&granularity=week")
    metric_values(page)
    expect(page.get_by_text("Partial week (the date range cuts it)")).to_be_visible()
    screenshot(page, "dashboard-partial-weeks.png")


def test_an_admin_reaches_the_ai_quality_page(server: Server, page: Page, browser: Browser) -> None:
    """USER, the first account, is an admin: the navigation offers AI quality, whose metrics are the
    traces' (computed here from the rows written); OTHER is not: no link, and its URL refuses."""
    seeded = quality_data.seed(server.engine)
    page.goto(server.url)
    page.get_by_role("link", name="AI quality").click()
    page.wait_for_url(server.url + "quality")
    expect(page.get_by_role("heading", name="AI quality")).to_be_visible()
    values = page.get_by_test_id("stMetricValue")
    expect(values).to_have_count(10)
    assert [text.strip() for text in values.all_inner_texts()] == quality_data.shown(
        quality_data.expected(seeded.traces, seeded.feedback)
    )
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard-ai-quality.png", full_page=True)

    other = new_tab(browser, [])
    try:
        sign_in(other, server, OTHER)
        other.goto(server.url)
        metric_values(other)  # the Sales page, as before
        expect(other.get_by_role("link", name="AI quality")).to_have_count(0)
        other.goto(server.url + "quality")
        expect(other.get_by_text("The AI-quality page is for admins only")).to_be_visible()
        expect(other.get_by_test_id("stMetricValue")).to_have_count(0)
    finally:
        other.context.close()
