"""The chat as a person uses it: a real `chatdash serve` with the real bundled model, a real headless
Chromium (Debian's `chromium`; nothing is downloaded). Sign up, send, watch the reply arrive, reload,
open a second chat, then another person sees none of it. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.test_dashboard_browser import ARTIFACTS, CHATDASH, CHROMIUM, CHROMIUM_ARGS, free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install chromium",
)
expect.set_options(timeout=60_000)
DONE = 'li.assistant:not([data-status="streaming"])'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("chat")
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_CHAT_MAX_TOKENS": "24",
        "CHATDASH_SESSION_SECRET": "e2e-" + "x" * 40,
    }
    subprocess.run([CHATDASH, "init", "--rows", "0"], env=env, cwd=home, check=True, capture_output=True)
    port = free_port()
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(
        [CHATDASH, "serve", "--port", str(port)], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), full_page=True)


def sign_up(page: Page, url: str, name: str) -> None:
    page.goto(url + "/")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', "long enough password")
    page.click('button[value="signup"]')
    expect(page).to_have_url(url + "/c")


def test_sign_up_chat_reload_second_chat_and_privacy(server: str, browser: Browser) -> None:
    alice = browser.new_context().new_page()
    sign_up(alice, server, "alice")
    alice.fill('textarea[name="content"]', "Name three colors.")
    alice.click("text=Send")
    expect(alice.locator(DONE)).to_have_count(1)
    reply = alice.locator("li.assistant .body").inner_text()
    assert reply.strip()
    assert alice.locator('li.assistant[data-status="complete"]').count() == 1
    shot(alice, "1-first-reply")
    first_chat = alice.url.split("#")[0]

    alice.reload()
    expect(alice.locator("li.message")).to_have_count(2)
    assert alice.locator("li.user .body").inner_text().strip() == "Name three colors."

    alice.click("text=New chat")
    expect(alice.locator("li.message")).to_have_count(0)
    alice.fill("#ask textarea", "Say hello.")
    alice.click("#ask button")
    expect(alice.locator(DONE)).to_have_count(1)
    expect(alice.locator("nav.chats li")).to_have_count(2)
    shot(alice, "2-second-chat")

    bob = browser.new_context().new_page()
    sign_up(bob, server, "bob")
    expect(bob.locator("nav.chats")).to_contain_text("No chats yet.")
    answer = bob.goto(first_chat)
    assert answer is not None and answer.status == 404
    assert "Name three colors" not in bob.content()
    shot(bob, "3-other-user")


def test_sign_in_page_needs_no_javascript(server: str, browser: Browser) -> None:
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_up(page, server, "carol")
    page.fill('textarea[name="content"]', "Hi")
    page.click("text=Send")
    expect(page.locator(DONE)).to_have_count(1)  # the page refreshes itself while the reply is written
    shot(page, "4-no-javascript")
