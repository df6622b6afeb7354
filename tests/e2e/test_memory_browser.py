"""The memory page as a person uses it: a real ``chatdash serve`` with the real bundled model and the
local vector store, a real headless Chromium. Upload a PDF of one's own from the page, ask about it and
see it under the reply's Sources, find the message one sent among what is kept, forget it, remove the
document, and find "Forget everything" refusing an unticked box. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_chat_browser import DONE, browser, serve, shot, sign_up
from tests.e2e.test_dashboard_browser import CHROMIUM
from tests.pdf import pdf_with_text

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install chromium",
)
expect.set_options(timeout=60_000)
__all__ = ["browser"]  # the chat test's Chromium fixture, used here by name
FACT = "Brass desk lamps may be returned within 45 days of delivery with the receipt."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("memory"), max_tokens=24) as url:
        yield url


def test_upload_a_document_see_it_quoted_then_forget_and_remove(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_context().new_page()
    sign_up(page, server, "maria")
    page.click("text=What the chat remembers")
    expect(page).to_have_url(server + "/remembered")
    expect(page.locator("text=No documents of yours yet.")).to_be_visible()

    policy = tmp_path / "returns policy.pdf"
    policy.write_bytes(pdf_with_text(FACT, "Floor lamps are not returnable once assembled."))
    page.set_input_files('input[type="file"]', str(policy))
    page.click("button:text-is('Add document')")
    expect(page.locator(".done")).to_have_text("returns policy.pdf: added, 1 passage.")
    expect(page.locator("table.documents td.name")).to_have_text(["returns policy.pdf"])

    not_a_document = tmp_path / "photo.png"
    not_a_document.write_bytes(b"\x89PNG\r\n\x1a\n")
    page.set_input_files('input[type="file"]', str(not_a_document))
    page.click("button:text-is('Add document')")
    expect(page.locator("#upload-note")).to_contain_text("photo.png: only Markdown (.md, .markdown), text")
    expect(page.locator("table.documents td.name")).to_have_text(["returns policy.pdf"])  # nothing lost
    shot(page, "memory-1-document-added")

    page.click("text=New chat")
    page.fill("#ask textarea", "Within how many days can I return a brass desk lamp?")
    page.click("#ask button")
    reply = page.locator(DONE).last
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator("details.sources")).to_contain_text("returns policy.pdf")
    shot(page, "memory-2-quoted-as-source")

    page.click("text=What the chat remembers")
    kept = page.locator("ol.memories li")
    expect(kept).to_have_count(1)
    expect(kept.locator(".text")).to_have_text("Within how many days can I return a brass desk lamp?")
    # The box is not ticked: the browser asks for it, and nothing goes.
    page.click("button:text-is('Forget everything')")
    expect(kept).to_have_count(1)
    shot(page, "memory-3-listed")
    kept.locator("button:text-is('Forget')").click()
    expect(page.locator(".done")).to_contain_text("Forgotten")
    expect(page.locator("ol.memories li")).to_have_count(0)
    page.click("button[aria-label='Remove returns policy.pdf']")
    expect(page.locator(".done")).to_have_text("returns policy.pdf removed: replies no longer quote it.")
    expect(page.locator("text=No documents of yours yet.")).to_be_visible()
    shot(page, "memory-4-forgotten")

    page.click("text=New chat")
    page.fill("#ask textarea", "Within how many days can I return a brass desk lamp?")
    page.click("#ask button")
    again = page.locator(DONE).last
    expect(again).to_have_attribute("data-status", "complete")
    expect(again).not_to_contain_text("returns policy.pdf")  # no source of it left
