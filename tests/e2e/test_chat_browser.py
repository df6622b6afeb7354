"""The chat as a person uses it: a real `chatdash serve` with the real bundled model, a real headless
Chromium (Debian's `chromium`; nothing is downloaded). Sign up, send, watch the reply stream in (htmx
and its SSE extension, no page reload), rate it, reload, open a second chat, stop a long reply, then
another person sees none of it; and the same basic flow with JavaScript off. On a phone-sized screen
(390 px) with the scripted model echoing (``CHATDASH_LLM_PROVIDER=scripted``): no sideways scrolling, the
chat list as a menu, Enter and Shift+Enter, Copy on replies and code, refusals beside their box, the tab
title after a rename, sign-in back to the opened chat, and dark mode; search, export, regenerate and edit
and resend; Markdown rendered while it streams and code highlighted (light and dark); ``/docs`` and
``/redoc`` with every request to another host blocked. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.processes import running, wait_healthy
from tests.e2e.test_dashboard_browser import ARTIFACTS, CHATDASH, CHROMIUM, CHROMIUM_ARGS, free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install chromium",
)
expect.set_options(timeout=60_000)
DONE = 'li.assistant:not([data-status="streaming"])'


SERVER_LOGS: dict[str, Path] = {}
"""Each server's log (its stderr), by URL."""


@contextmanager
def serve(home: Path, max_tokens: int, **settings: str) -> Iterator[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(home / "var"),
        "CHATDASH_CHAT_MAX_TOKENS": str(max_tokens),
        "CHATDASH_SESSION_SECRET": "e2e-" + "x" * 40,
    }
    env |= {f"CHATDASH_{name.upper()}": value for name, value in settings.items()}
    subprocess.run([CHATDASH, "init", "--rows", "0"], env=env, cwd=home, check=True, capture_output=True)
    port = free_port()
    log = home / "serve.log"
    url = f"http://127.0.0.1:{port}"
    SERVER_LOGS[url] = log
    with running([CHATDASH, "serve", "--port", str(port)], env, home, log) as process:
        wait_healthy(url + "/healthz", process, log)
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("chat"), max_tokens=24) as url:
        yield url


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Replies long enough (up to 400 tokens) to press Stop while one is written."""
    with serve(tmp_path_factory.mktemp("long"), max_tokens=400) as url:
        yield url


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scripted model, which answers "You said: " and the message: replies known in advance."""
    home = tmp_path_factory.mktemp("echo")
    with serve(home, max_tokens=400, llm_provider="scripted", allow_scripted_model="true") as url:
        yield url


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


# Records, while the reply is written, each new text of the streaming <li>'s body and the elements
# it has shown (rendered Markdown: p, li, pre, the code's spans...).
WATCH_STREAM = """() => {
  window.__marker = 1;  // gone if the page reloads
  window.__seen = [];
  window.__tags = [];
  const list = document.getElementById("messages");
  new MutationObserver(() => {
    const body = list.querySelector('li.assistant[data-status="streaming"] .body');
    const text = body ? body.textContent : "";
    if (text && window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
    for (const element of body ? body.querySelectorAll("*") : []) {
      if (!window.__tags.includes(element.localName)) window.__tags.push(element.localName);
    }
  }).observe(list, { childList: true, subtree: true, characterData: true });
}"""


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def grew(seen: list[str]) -> bool:
    """Each text the streaming body showed goes on with the words of the one before, bar its last (half
    a token, or Markdown not yet read as such: ``*bold`` shows its star until ``*bold*`` hides it)."""
    kept = [words(earlier)[:-1] for earlier in seen[:-1]]
    return all(words(later)[: len(k)] == k for k, later in zip(kept, seen[1:], strict=True))


def body_text(reply: Locator) -> str:
    """A reply's text as the streaming watcher reads it (``textContent``), spaces collapsed."""
    return " ".join(reply.locator(".body").evaluate("body => body.textContent").split())


def test_sign_up_chat_reload_second_chat_and_privacy(server: str, browser: Browser) -> None:
    alice = browser.new_context().new_page()
    sign_up(alice, server, "alice")
    alice.fill('textarea[name="content"]', "Name three colors.")
    alice.click("text=Send")
    expect(alice.locator(DONE)).to_have_count(1)
    reply = alice.locator("li.assistant .body").inner_text()
    assert reply.strip()
    assert alice.locator('li.assistant[data-status="complete"]').count() == 1
    expect(alice.locator("#send")).to_be_enabled()
    shot(alice, "1-first-reply")
    first_chat = alice.url.split("#")[0]

    alice.fill("li.assistant input[name=comment]", "Nice colors")
    alice.click("li.assistant button:text-is('Good')")
    expect(alice.locator("li.assistant button[value='1']")).to_have_attribute("aria-pressed", "true")
    expect(alice.locator("li.assistant button[value='-1']")).to_have_attribute("aria-pressed", "false")
    expect(alice.locator("li.assistant .thanks")).to_have_text("Thanks: you rated this reply Good.")
    shot(alice, "2-feedback")

    alice.reload()
    expect(alice.locator("li.message")).to_have_count(2)
    assert alice.locator("li.user .body").inner_text().strip() == "Name three colors."

    alice.click("text=New chat")
    expect(alice.locator("li.message")).to_have_count(0)
    alice.evaluate(WATCH_STREAM)
    alice.fill("#ask textarea", "Say hello.")
    alice.click("#ask button")
    expect(alice.locator('li.assistant[data-status="streaming"]')).to_have_count(1)
    expect(alice.locator("#send")).to_be_disabled()  # out of band, while the reply is written
    expect(alice.locator(DONE)).to_have_count(1)
    assert alice.evaluate("window.__marker") == 1, "the page reloaded"
    seen: list[str] = alice.evaluate("window.__seen")
    assert len(seen) >= 3, seen  # token by token, not all at once
    assert grew(seen), seen  # rendered as Markdown while written: the text grows, never starts over
    assert " ".join(seen[-1].split()) == body_text(alice.locator(DONE)), seen  # nothing jumps at the end
    assert alice.locator("#ask textarea").input_value() == ""  # the form was reset
    expect(alice.locator("#send")).to_be_enabled()
    expect(alice.locator("h1")).to_have_text("Say hello.")  # the first message named the chat
    expect(alice.locator("nav.chats li")).to_have_count(2)
    expect(alice.locator("nav.chats li.current")).to_have_text("Say hello.")
    expect(alice.locator("#title-input")).to_have_value("Say hello.")
    shot(alice, "3-second-chat")
    alice.fill("form.rename input[name=title]", "Greetings")  # renamed in place, out of band
    alice.click("form.rename button")
    expect(alice.locator("h1")).to_have_text("Greetings")
    expect(alice.locator("nav.chats li.current")).to_have_text("Greetings")
    assert alice.evaluate("window.__marker") == 1  # still no page load

    bob = browser.new_context().new_page()
    sign_up(bob, server, "bob")
    expect(bob.locator("nav.chats")).to_contain_text("No chats yet.")
    answer = bob.goto(first_chat)
    assert answer is not None and answer.status == 404
    assert "Name three colors" not in bob.content()
    expect(bob.locator("h1")).to_have_text("Not Found")
    expect(bob.locator("a:text('Back to your chats')")).to_be_visible()
    shot(bob, "4-other-user")


# "streaming" once the newest reply shows three words while written, or how it ended if it ended first.
STARTED_OR_ENDED = """(before) => {
  const replies = document.querySelectorAll("li.assistant");
  if (replies.length <= before) return false;
  const last = replies[replies.length - 1];
  if (last.dataset.status !== "streaming") return last.dataset.status + ": " + last.innerText;
  return /\\w+\\s+\\w+\\s+\\w+/.test(last.querySelector(".body").textContent) ? "streaming" : false;
}"""


def test_stop_stops_a_long_reply(long_server: str, browser: Browser) -> None:
    page = browser.new_context().new_page()
    sign_up(page, long_server, "dave")
    page.click("text=New chat")
    state = None
    for _ in range(3):  # a 135M model may end a "long" story early: that stops nothing, so ask again
        before = page.locator("li.assistant").count()
        page.fill("#ask textarea", "Write a long story about a dragon and a knight, with many chapters.")
        page.click("#ask button")
        state = page.wait_for_function(STARTED_OR_ENDED, arg=before, timeout=60_000).json_value()
        if state == "streaming":
            break
        expect(page.locator("#send")).to_be_enabled()
    assert state == "streaming", f"no reply lasted long enough to be stopped: {state}"
    streaming = page.locator('li.assistant[data-status="streaming"]')
    shot(page, "5-streaming")
    streaming.locator("button:text-is('Stop')").click()
    stopped = page.locator('li.assistant[data-status="stopped"]')
    expect(stopped).to_have_count(1)
    expect(stopped.locator("button:text-is('Retry')")).to_be_visible()
    expect(page.locator("#send")).to_be_enabled()
    text = stopped.locator(".body").inner_text().strip()
    assert text
    time.sleep(1.5)  # a model still running would keep saving text
    page.reload()
    expect(stopped).to_have_count(1)
    assert stopped.locator(".body").inner_text().strip() == text
    shot(page, "6-stopped")


def test_stop_at_random_moments_always_stops(long_server: str, browser: Browser) -> None:
    """Stop clicked at a random moment of a streaming reply ends it ``stopped`` with its text, every time
    (it used to be lost now and then: the reply ran on to ``complete``)."""
    page = browser.new_context().new_page()
    sign_up(page, long_server, "erin")
    page.click("text=New chat")
    pick, stops = random.Random(11), 0
    for _ in range(12):
        before = page.locator("li.assistant").count()
        page.fill("#ask textarea", "Write a very long essay about lamps, at least 1000 words.")
        page.click("#ask button")
        if page.wait_for_function(STARTED_OR_ENDED, arg=before, timeout=60_000).json_value() != "streaming":
            expect(page.locator("#send")).to_be_enabled()
            continue  # ended before it could be stopped
        time.sleep(pick.uniform(0, 1.2))
        reply = page.locator("li.assistant").nth(before)
        try:
            reply.locator("button:text-is('Stop')").click(timeout=500)
        except PlaywrightError:
            continue  # the reply ended first: the button went with it
        expect(reply).not_to_have_attribute("data-status", "streaming", timeout=5_000)
        if reply.get_attribute("data-status") == "complete":  # the model had ended it as Stop was clicked
            lost = f"reply {reply.get_attribute('data-id')}: stopped while the model wrote it"
            assert lost not in SERVER_LOGS[long_server].read_text(), "a stop was lost: the reply ran on"
            continue
        expect(reply).to_have_attribute("data-status", "stopped")
        assert reply.locator(".body").inner_text().strip()
        expect(page.locator("#send")).to_be_enabled()
        stops += 1
    assert stops >= 6, f"only {stops} replies lasted long enough to be stopped"
    shot(page, "6b-stopped-at-random-moments")


def test_sign_in_page_needs_no_javascript(server: str, browser: Browser) -> None:
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_up(page, server, "carol")
    page.fill('textarea[name="content"]', "Hi")
    page.click("text=Send")
    expect(page.locator(DONE)).to_have_count(1)  # the page refreshes itself while the reply is written
    assert page.locator("li.assistant .body").inner_text().strip()
    shot(page, "7-no-javascript")


PHONE = {"width": 390, "height": 844}
CODE_MESSAGE = ["Here is code:", "", "```python", "print('hi')", "```"]


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_phone_layout_keys_copy_and_notes(echo_server: str, browser: Browser) -> None:
    """At 390 px the two columns used to stay side by side (a 758 px page, the conversation off-screen)."""
    context = browser.new_context(viewport=PHONE, color_scheme="light")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=echo_server)
    page = context.new_page()
    sign_up(page, echo_server, "frank")
    no_sideways_scroll(page)
    expect(page.locator("#ask textarea")).to_be_in_viewport()
    expect(page.locator("#send")).to_be_in_viewport()
    expect(page.locator("nav.chats a.new-chat")).to_be_hidden()  # the list is a menu on a phone
    menu = page.locator("nav.chats button.menu")
    expect(menu).to_have_text("Chats (0)")

    # a blank message: refused beside the box, nothing stored
    page.fill("#ask textarea", "   ")
    page.press("#ask textarea", "Enter")
    expect(page.locator("#ask-note")).to_contain_text("a message cannot be empty")
    expect(page.locator("#ask-note")).to_be_in_viewport()
    expect(menu).to_have_text("Chats (0)")

    # Shift+Enter breaks the line, Enter sends
    page.fill("#ask textarea", "")
    page.focus("#ask textarea")
    for number, line in enumerate(CODE_MESSAGE):
        if number:
            page.keyboard.press("Shift+Enter")
        page.keyboard.type(line)
    page.keyboard.press("Enter")
    reply = page.locator('li.assistant[data-status="complete"]')
    expect(reply).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]+$"))  # the new chat's address, without a reload
    assert page.locator("li.user .body").inner_text() == "\n".join(CODE_MESSAGE)
    expect(page.locator("#ask-note")).to_be_empty()
    expect(menu).to_have_text("Chats (1)")
    expect(page.locator("#send")).to_be_enabled()
    expect(reply.locator(".code pre")).to_have_text("print('hi')")
    no_sideways_scroll(page)
    expect(page.locator("#ask textarea")).to_be_visible()
    page.locator("#ask textarea").scroll_into_view_if_needed()
    expect(page.locator("#send")).to_be_in_viewport()

    # Copy: the reply as written (Markdown), a code block's code
    reply.locator("button.copy[data-copy='reply']").click()
    expect(reply.locator("button.copy[data-copy='reply']")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "You said: " + "\n".join(CODE_MESSAGE)
    reply.locator("button.copy[data-copy='code']").click()
    assert page.evaluate("navigator.clipboard.readText()") == "print('hi')\n"
    shot(page, "8-phone")

    # the chat list opens from its button
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator("nav.chats li.current")).to_contain_text("Here is code:")
    expect(page.locator("nav.chats a.new-chat")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "8b-phone-menu")
    menu.click()
    expect(page.locator("nav.chats a.new-chat")).to_be_hidden()

    # a refused title: beside the box, which keeps the text; a rename changes the tab's title
    title = page.locator("#title-input")
    title.fill("   ")
    page.click("form.rename button")
    expect(page.locator("#rename-note")).to_contain_text("a chat title cannot be empty")
    expect(page.locator("#rename-note")).to_be_in_viewport()
    expect(title).to_have_value("   ")
    title.fill("Code talk")
    page.click("form.rename button")
    expect(page).to_have_title("Code talk · chatdash")
    expect(page.locator("h1")).to_have_text("Code talk")
    expect(page.locator("#rename-note")).to_be_empty()

    # a blank message inside the chat: refused beside the box too
    page.fill("#ask textarea", " \n ")
    page.click("#send")
    expect(page.locator("#ask-note")).to_contain_text("a message cannot be empty")
    expect(page.locator("li.message")).to_have_count(2)
    no_sideways_scroll(page)
    chat_url = page.url

    # opened while signed out: sign in (a wrong password keeps the name), back to that chat
    other = browser.new_context(viewport=PHONE).new_page()
    other.goto(chat_url)
    expect(other.locator("h1")).to_have_text("Sign in")
    other.fill('input[name="username"]', "frank")
    other.fill('input[name="password"]', "not the password")
    other.click('button[value="signin"]')
    expect(other.locator('input[name="username"]')).to_have_value("frank")
    other.fill('input[name="password"]', "long enough password")
    other.click('button[value="signin"]')
    expect(other).to_have_url(chat_url)
    expect(other.locator("h1")).to_have_text("Code talk")
    no_sideways_scroll(other)

    # dark mode follows the system setting
    dark = browser.new_context(viewport=PHONE, color_scheme="dark")
    night = dark.new_page()
    sign_up(night, echo_server, "grace")
    background = night.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 28)", background
    night.fill("#ask textarea", "Good evening")
    night.press("#ask textarea", "Enter")
    expect(night.locator('li.assistant[data-status="complete"]')).to_have_count(1)
    shot(night, "9-phone-dark")
    for opened in (context, other.context, dark):
        opened.close()


def test_docs_render_with_the_network_blocked(echo_server: str, browser: Browser) -> None:
    """/docs and /redoc loaded Swagger UI and ReDoc from a CDN: blank offline. Every request that leaves
    127.0.0.1 is refused here, and none may even be tried."""
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(echo_server + "/docs")
    operations = page.locator(".opblock-summary")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 10
    expect(page.locator(".opblock-summary-path", has_text="/api/chat").first).to_be_visible()
    shot(page, "10-docs-offline")
    page.goto(echo_server + "/redoc")
    expect(page.get_by_role("heading", name="chatdash").first).to_be_visible()
    expect(page.locator("[role=menuitem]").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "chat-10b-redoc-offline.png"))  # its first screen: the page is long
    assert elsewhere == []
    context.close()


def send(page: Page, text: str) -> None:
    """Type a message, send it with Enter and wait for its reply to be written."""
    done = page.locator(DONE).count()
    page.fill("#ask textarea", text)
    page.press("#ask textarea", "Enter")
    expect(page.locator(DONE)).to_have_count(done + 1)
    expect(page.locator("#send")).to_be_enabled()


def test_search_export_regenerate_and_edit(echo_server: str, browser: Browser) -> None:
    """What users of ChatGPT and Open WebUI reach for first: search across their chats (the list grouped
    by date), a chat exported as Markdown and JSON, a reply regenerated, a sent message edited and sent
    again (the later turns replaced). The scripted model echoes, so every reply is known."""
    page = browser.new_context(color_scheme="light").new_page()
    sign_up(page, echo_server, "heidi")
    send(page, "Which lamps suit a hallway?")
    lamps = page.url
    send(page, "And the budget?")
    page.click("text=New chat")
    send(page, "Plan the picnic")
    expect(page.locator("nav.chats h3")).to_have_text(["Today"])
    expect(page.locator("nav.chats li")).to_have_count(2)

    # search from the chat list: a plain GET form, the hits with the words marked
    page.fill("nav.chats input[name=q]", "lamp")
    page.press("nav.chats input[name=q]", "Enter")
    expect(page).to_have_url(echo_server + "/find?q=lamp")
    hits = page.locator("li.hit")
    expect(hits).to_have_count(3)  # the title, the question, the echoed reply
    assert sorted(hits.locator(".role").all_inner_texts()) == ["Chat title", "Reply", "You"]
    expect(page.locator("li.hit mark")).to_have_text(["lamps"] * 3)
    expect(page.locator("p.found")).to_have_text("3 matches for “lamp”")
    shot(page, "11-search")
    hits.filter(has_text="You said").locator("a").click()
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]+#m\d+$"))
    target = page.locator("li.message:target")
    expect(target).to_have_text(re.compile("You said: Which lamps suit a hallway"))
    expect(target).to_be_in_viewport()
    page.goto(echo_server + "/find?q=zeppelin")
    expect(page.locator("p.found")).to_contain_text("No chat of yours has every word of “zeppelin”")

    # export: two downloads under the chat's tools
    page.goto(lamps)
    for link, ending in (("Markdown", ".md"), ("JSON", ".json")):
        with page.expect_download() as started:
            page.click(f"p.export a:text-is('{link}')")
        download = started.value
        assert re.fullmatch(
            rf"chat-which-lamps-suit-a-hallway-\d{{4}}-\d\d-\d\d{ending}", download.suggested_filename
        )
        saved = ARTIFACTS / f"chat-export{ending}"
        download.save_as(saved)
        text = saved.read_text()
        if ending == ".md":
            assert text.startswith("# Which lamps suit a hallway?\n")
            assert "## chatdash\n\nYou said: And the budget?\n" in text
        else:
            said = [(m["role"], m["content"]) for m in json.loads(text)["messages"]]
            assert said[:2] == [
                ("user", "Which lamps suit a hallway?"),
                ("assistant", "You said: Which lamps suit a hallway?"),
            ]
            assert len(said) == 4
    expect(page).to_have_url(lamps)  # a download leaves the page where it was

    # regenerate the last reply: the same <li> written again (the echo says the same)
    last = page.locator("li.assistant").last
    last.evaluate("li => li.dataset.before = 'yes'")
    last.locator("button:text-is('Regenerate')").click()
    regenerated = page.locator(f"li#{last.get_attribute('id')}")
    expect(regenerated).to_have_attribute("data-status", "complete")
    expect(regenerated).not_to_have_attribute("data-before", "yes")  # a new element: swapped in
    expect(regenerated.locator(".body")).to_have_text("You said: And the budget?")
    expect(page.locator("li.message")).to_have_count(4)
    expect(page.locator("#send")).to_be_enabled()

    # edit the first message: Cancel puts it back; Save & send (Enter) replaces the later turns
    first = page.locator("li.user").first
    first.locator("summary:text-is('Edit')").click()
    box = first.locator("form.edit textarea")
    expect(box).to_be_focused()
    expect(box).to_have_value("Which lamps suit a hallway?")
    expect(first.locator(".body")).to_be_hidden()  # the message became its edit box
    expect(first.locator(".hint")).to_have_text(
        "Save & send replaces everything after this message with a new reply."
    )
    box.fill("Something else")
    first.locator("button:text-is('Cancel')").click()
    expect(box).to_be_hidden()
    expect(first.locator(".body")).to_have_text("Which lamps suit a hallway?")
    first.locator("summary:text-is('Edit')").click()
    expect(box).to_have_value("Which lamps suit a hallway?")
    box.fill("Which lamps suit a kitchen?")
    shot(page, "12-edit")
    box.press("Enter")
    expect(page.locator("li.message")).to_have_count(2)
    expect(page.locator("li.user .body")).to_have_text("Which lamps suit a kitchen?")
    expect(page.locator(DONE)).to_have_count(1)
    expect(page.locator("li.assistant .body")).to_have_text("You said: Which lamps suit a kitchen?")
    expect(page.locator("#send")).to_be_enabled()
    shot(page, "13-edited")
    page.reload()
    expect(page.locator("li.message .body")).to_have_text(
        ["Which lamps suit a kitchen?", "You said: Which lamps suit a kitchen?"]
    )

    # on a phone: the search page fits, its own box in view
    page.set_viewport_size(PHONE)
    page.goto(echo_server + "/find?q=kitchen")
    expect(page.locator("li.hit")).to_have_count(2)
    expect(page.locator("section.find input[name=q]")).to_be_in_viewport()
    no_sideways_scroll(page)
    shot(page, "14-search-phone")
    page.context.close()


MARKDOWN_MESSAGE = "Steps:\n\n- first\n- second\n\n```python\ndef greet(name):\n    return 'hi ' + name\n```"
CODE = "def greet(name):\n    return 'hi ' + name\n"
KEYWORD_COLOURS = {"light": "rgb(0, 128, 0)", "dark": "rgb(255, 123, 114)"}  # Pygments' default, github-dark


def test_markdown_streams_rendered_and_code_is_highlighted_with_a_copy_button(
    echo_server: str, browser: Browser
) -> None:
    """A reply used to stream as plain text and turn into Markdown only once written, so it jumped at
    the end: now it shows rendered as it grows (the page's SSE events carry the sanitized HTML of the
    text so far), and fenced code is highlighted (Pygments' classes, coloured for light and dark)."""
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=echo_server)
        page = context.new_page()
        sign_up(page, echo_server, f"ivan-{scheme}")
        page.evaluate(WATCH_STREAM)
        send(page, MARKDOWN_MESSAGE)
        assert page.evaluate("window.__marker") == 1, "the page reloaded"
        tags: list[str] = page.evaluate("window.__tags")
        assert {"ul", "li", "pre", "code", "span"} <= set(tags), tags  # rendered while streaming
        seen: list[str] = page.evaluate("window.__seen")
        reply = page.locator(DONE)
        assert seen and grew(seen) and " ".join(seen[-1].split()) == body_text(reply), seen
        expect(reply.locator(".body > ul > li")).to_have_text(["first", "second"])
        code = reply.locator(".code pre code.highlight")
        expect(code).to_have_text(CODE)
        expect(code.locator("span.k").first).to_have_text("def")
        expect(code.locator("span.nf")).to_have_text("greet")
        expect(code.locator("span.k").first).to_have_css("color", KEYWORD_COLOURS[scheme])

        copy = reply.locator("button.copy[data-copy='code']")
        copy.click()
        expect(copy).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == CODE
        reply.locator("button.copy[data-copy='reply']").click()
        assert page.evaluate("navigator.clipboard.readText()") == "You said: " + MARKDOWN_MESSAGE
        shot(page, f"15-markdown-code-{scheme}")

        # what the page's events route sends for it: the rendered text, then the final <li>
        chat_id, reply_id = page.url.rsplit("/", 1)[1], reply.get_attribute("data-id")
        text = page.request.get(f"{echo_server}/c/{chat_id}/m/{reply_id}/events").text()
        assert "event: text" in text and '<code class="highlight"><span class="k">def</span>' in text
        assert "event: delta" not in text
        context.close()

    # without JavaScript: the same rendered reply, by a plain form post (copying needs the script)
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_up(page, echo_server, "judy")
    page.fill('textarea[name="content"]', MARKDOWN_MESSAGE)
    page.click("text=Send")
    reply = page.locator(DONE)
    expect(reply.locator(".code pre code.highlight span.nf")).to_have_text("greet")
    expect(reply.locator(".body > ul > li")).to_have_count(2)
    expect(reply.locator("button.copy")).to_have_count(2)
    expect(reply.locator("button.copy").first).to_be_hidden()
    shot(page, "15b-markdown-code-no-javascript")
    page.context.close()
