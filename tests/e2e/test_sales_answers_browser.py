"""Sales answers as a person gets them: a real `chatdash serve` (the real bundled model) and a real
`chatdash dashboard` over the same SQLite file of 20,000 generated orders, the chat's dashboard links
pointing at that dashboard, and Debian's headless Chromium (nothing is downloaded).

Every expected figure is read straight from the SQLite file with ``sqlite3`` (money is integer cents
there), never through ``chatdash.sales``: the API's exact value and the first line of its reply, a
grouped answer's card (rows, figures, bars) and the dashboard view its link opens, a follow-up that
carries the last question over, and a question the data cannot answer. Screenshots go to
``test-artifacts/sales-answer-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.e2e.processes import running, wait_healthy
from tests.e2e.test_dashboard_browser import (
    ARTIFACTS,
    CHATDASH,
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    metric_values,
    screenshot,
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install chromium",
)
expect.set_options(timeout=60_000)  # the dashboard's first page imports Plotly and pandas
ROWS, SEED = 20_000, 5
CATEGORIES = ("Electronics", "Office", "Stationery", "Sundry")
WAIT = 180_000  # ms: the model shares 2 busy cores with the servers and the browser
DONE = 'li.assistant:not([data-status="streaming"])'
GROUPED_QUESTION = "How did each category do in 2019?"  # our words: read as revenue by category


@dataclass(frozen=True)
class Stack:
    chat: str
    """The chat's URL, no trailing slash."""
    dashboard: str
    """The dashboard's URL, ending in /: the chat's CHATDASH_DASHBOARD_URL."""
    database: Path
    env: dict[str, str]
    home: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`chatdash init --rows 20000 --seed 5`, then the dashboard and the chat over the same file."""
    home = tmp_path_factory.mktemp("sales-answers")
    database = home / "var" / "chatdash.db"
    dashboard = f"http://127.0.0.1:{free_port()}/"
    chat = f"http://127.0.0.1:{free_port()}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_DATABASE_URL": f"sqlite:///{database}",
        "CHATDASH_CHAT_MAX_TOKENS": "24",
        "CHATDASH_SESSION_SECRET": "e2e-" + "x" * 40,
        "CHATDASH_DASHBOARD_URL": dashboard,
    }
    subprocess.run(
        [CHATDASH, "init", "--rows", str(ROWS), "--seed", str(SEED)],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with ExitStack() as stack:
        dashboard_log, chat_log = home / "dashboard.log", home / "serve.log"
        port = dashboard.removesuffix("/").rsplit(":", 1)[1]
        board = stack.enter_context(
            running([CHATDASH, "dashboard", "--port", port], env, home, dashboard_log)
        )
        server = stack.enter_context(
            running([CHATDASH, "serve", "--port", chat.rsplit(":", 1)[1]], env, home, chat_log)
        )
        wait_healthy(dashboard + "_stcore/health", board, dashboard_log, body=b"ok")
        wait_healthy(chat + "/healthz", server, chat_log)
        yield Stack(chat, dashboard, database, env, home)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# -- the independent figures: straight from the file ---------------------------------------------


def one(database: Path, sql: str, *params: object) -> int:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        value: int = db.execute(sql, params).fetchone()[0]
        return value


def revenue(database: Path, year: int, category: str | None = None) -> Decimal:
    """Exact revenue of a year (and a category), from the stored integer cents."""
    where = "order_date BETWEEN ? AND ?" + (" AND categories = ?" if category else "")
    params = (f"{year}-01-01", f"{year}-12-31") + ((category,) if category else ())
    cents = one(database, f"SELECT COALESCE(SUM(total), 0) FROM sales_data WHERE {where}", *params)
    return Decimal(cents).scaleb(-2)


def orders(database: Path, year: int, category: str) -> int:
    return one(
        database,
        "SELECT COUNT(*) FROM sales_data WHERE order_date BETWEEN ? AND ? AND categories = ?",
        f"{year}-01-01",
        f"{year}-12-31",
        category,
    )


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


# A number a reader sees: an ISO date, or digits with thousands commas and decimals (not "Q1", "H1").
NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|(?<![A-Za-z\d])\d[\d,]*(?:\.\d+)?")


def unexplained_numbers(text: str, figures: Iterable[Decimal | int], dates: Iterable[str]) -> list[str]:
    """The numbers in ``text`` that are neither a figure of the answer nor one of its dates or years."""
    allowed_dates = set(dates)
    allowed = {Decimal(value) for value in figures} | {Decimal(day[:4]) for day in allowed_dates}
    return [
        token
        for token in NUMBER.findall(text)
        if token not in allowed_dates and Decimal(token.rstrip(",").replace(",", "")) not in allowed
    ]


# -- the API ----------------------------------------------------------------------------------------


def test_the_api_answers_total_revenue_exactly(stack: Stack) -> None:
    subprocess.run(
        [CHATDASH, "users", "create", "analyst", "--password-stdin"],
        input="long enough password\n",
        env=stack.env,
        cwd=stack.home,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    created = subprocess.run(
        [CHATDASH, "keys", "create", "e2e sales answers", "--user", "analyst"],
        env=stack.env,
        cwd=stack.home,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    key = created.stdout.strip().splitlines()[-1]
    request = urllib.request.Request(
        stack.chat + "/api/chat",
        data=json.dumps(
            {"messages": [{"role": "user", "content": "What was the total revenue in 2019?"}]}
        ).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=WAIT / 1000) as response:
        reply = json.load(response)

    total = revenue(stack.database, 2019)
    answer, content = reply["answer"], reply["message"]["content"]
    assert reply["status"] == "complete"
    assert answer["value"] == str(total)
    assert answer["period"] == {"start": "2019-01-01", "end": "2019-12-31"}
    assert answer["dashboard"] == {"start": ["2019-01-01"], "end": ["2019-12-31"]}
    first_line = content.splitlines()[0]
    assert first_line == answer["sentence"]
    assert money(total) in first_line, first_line
    assert not unexplained_numbers(content, [total], ["2019-01-01", "2019-12-31"]), content
    if content.strip() != answer["sentence"]:  # the model's words are shown only after the figure check
        assert answer["commentary"] == "shown", answer["commentary"]


# -- the page ---------------------------------------------------------------------------------------


def sign_up(page: Page, url: str, name: str) -> None:
    page.goto(url + "/")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', "long enough password")
    page.click('button[value="signup"]')
    expect(page).to_have_url(url + "/c")


def ask(page: Page, question: str) -> Locator:
    """Send ``question``, wait until its reply is written, and return the reply's <li>."""
    replies = page.locator("li.assistant")
    before = replies.count()
    page.fill("form.ask textarea", question)  # the chat list's form starts a chat, a chat's form adds to it
    page.click("form.ask button")
    expect(page.locator(DONE)).to_have_count(before + 1, timeout=WAIT)
    reply = replies.nth(before)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(page.locator("#send")).to_be_enabled()
    return reply


def first_line(reply: Locator) -> str:
    return reply.locator(".body").inner_text().strip().splitlines()[0]


@dataclass(frozen=True)
class Grouped:
    page: Page
    reply: Locator
    by_category: dict[str, Decimal]
    total: Decimal


@pytest.fixture(scope="module")
def grouped(stack: Stack, browser: Browser) -> Iterator[Grouped]:
    """A person who asked for 2019's revenue by category, with the reply written."""
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    sign_up(page, stack.chat, "grace")
    reply = ask(page, GROUPED_QUESTION)
    by_category = {name: revenue(stack.database, 2019, name) for name in CATEGORIES}
    yield Grouped(page, reply, by_category, revenue(stack.database, 2019))
    context.close()


def test_a_grouped_answer_shows_a_card_and_opens_the_same_view_in_the_dashboard(
    stack: Stack, grouped: Grouped
) -> None:
    page, reply, by_category = grouped.page, grouped.reply, grouped.by_category
    line = first_line(reply)
    assert line.startswith("Revenue in 2019 by category:"), line  # read as revenue by category
    for name, value in by_category.items():
        assert f"{name}: {money(value)}" in line, line
    body = reply.locator(".body").inner_text()
    figures = [grouped.total, *by_category.values()]
    assert not unexplained_numbers(body, figures, ["2019-01-01", "2019-12-31"]), body

    card = reply.locator("section.card")
    expect(card).to_be_visible()
    rows = card.locator("table tbody tr")
    expect(rows).to_have_count(4)
    shown = {
        row.locator("td").first.inner_text().strip(): row.locator("td.num").inner_text().strip()
        for row in rows.all()
    }
    assert shown == {name: money(value) for name, value in by_category.items()}

    # Each bar's width is its figure over the largest one's, in the markup and on the screen.
    largest = max(by_category.values())
    widths: dict[str, float] = {}
    for row in rows.all():
        name = row.locator("td").first.inner_text().strip()
        bar = row.locator("td.bar span")
        expected = float(by_category[name] / largest * 100)
        style = bar.get_attribute("style") or ""
        found = re.fullmatch(r"width: ([\d.]+)%", style.strip())
        assert found, style
        assert abs(float(found[1]) - expected) <= 0.05, (name, style, expected)
        box = bar.bounding_box()
        assert box is not None and box["height"] > 0, name
        widths[name] = box["width"]
    top = max(by_category, key=lambda name: by_category[name])
    assert widths[top] > 0
    for name, width in widths.items():
        assert abs(width / widths[top] - float(by_category[name] / largest)) < 0.01, (name, widths)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sales-answer-card.png"), full_page=True)

    link = card.get_by_role("link", name="Open this view in the dashboard")
    assert link.get_attribute("href") == stack.dashboard + "?start=2019-01-01&end=2019-12-31&chart=category"
    with page.context.expect_page() as opened:
        link.click()
    dashboard = opened.value
    dashboard.set_default_timeout(60_000)
    expect(dashboard).to_have_url(
        re.compile(re.escape(stack.dashboard) + r"\?start=2019-01-01&end=2019-12-31")
    )
    expect(dashboard.get_by_role("heading", name="Sales")).to_be_visible()
    values = metric_values(dashboard)
    assert values[0] == money(grouped.total), values
    assert values[1] == f"{sum(orders(stack.database, 2019, name) for name in CATEGORIES):,}", values
    screenshot(dashboard, "sales-answer-dashboard.png")
    dashboard.close()


def test_a_grouped_answers_first_line_has_the_total(grouped: Grouped) -> None:
    line = first_line(grouped.reply)
    assert money(grouped.total) in line, f"2019's total revenue {money(grouped.total)} is not in: {line}"


def test_a_follow_up_carries_the_last_question_over(stack: Stack, browser: Browser) -> None:
    context = browser.new_context()
    context.set_default_timeout(60_000)
    page = context.new_page()
    sign_up(page, stack.chat, "frank")
    first = ask(page, "How many orders did Office have in 2019?")
    assert f"{orders(stack.database, 2019, 'Office'):,}" in first_line(first), first_line(first)

    follow_up = ask(page, "and in 2020?")
    line = first_line(follow_up)
    assert re.search(rf"\b2020\b.*\b{orders(stack.database, 2020, 'Office'):,}\b", line), line
    assert "Office" in line and "Orders" in line, line
    carried = follow_up.locator(".body").inner_text()
    assert re.search(r"carried over.*orders.*Office", carried, re.IGNORECASE), carried
    context.close()


def test_a_question_the_data_cannot_answer_is_declined(stack: Stack, browser: Browser) -> None:
    context = browser.new_context()
    context.set_default_timeout(60_000)
    page = context.new_page()
    sign_up(page, stack.chat, "dora")
    reply = ask(page, "How much did we sell of Toys in 2019?")
    text = reply.locator(".body").inner_text()
    assert "nothing" in text and "'toys'" in text, text
    assert all(name in text for name in CATEGORIES), text
    expect(reply.locator("section.card")).to_have_count(0)
    expect(reply.locator(".body p")).to_have_count(1)  # no model text after the reason
    context.close()
