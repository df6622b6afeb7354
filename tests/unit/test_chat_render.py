"""Replies as the chat pages show them: sanitized Markdown, fenced code highlighted by Pygments (classes
only, the stylesheet generated from the same styles), and a streaming reply rendered as it grows, at a
bounded rate and always to its last state."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pygments.token import STANDARD_TYPES

from chatdash.chat.web import render
from chatdash.chat.web.render import code_css, markdown, markdown_so_far

pytestmark = pytest.mark.timeout(30)
STATIC = Path(render.__file__).parent / "static"
EVIL = '<script>alert(1)</script> <img src=x onerror="alert(1)"> [link](javascript:alert(1))'


def fenced(language: str, code: str) -> str:
    return f"Here:\n\n```{language}\n{code}\n```\n"


def test_fenced_code_is_highlighted_with_pygments_classes_and_keeps_its_copy_button() -> None:
    html = markdown(fenced("python", "def greet(name):\n    return 'hi ' + name  # say it"))
    assert '<div class="code"><button type="button" class="copy" data-copy="code"' in html
    assert '<pre><code class="highlight"><span class="k">def</span>' in html
    assert '<span class="nf">greet</span>' in html and '<span class="c1"># say it</span>' in html
    assert "style=" not in html  # classes, coloured by static/code.css
    assert markdown(fenced("py", "pass")) == markdown(fenced("python", "pass"))  # Pygments' aliases


class Parsed(HTMLParser):
    """What a browser would make of an HTML fragment: its elements, their attributes, its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.mark.parametrize("language", ["python", "html", "javascript", ""])
def test_script_in_code_or_markdown_stays_inert_text(language: str) -> None:
    for text in (fenced(language, EVIL), f"*Say* {EVIL}"):
        parsed = Parsed(markdown(text))
        assert {tag for tag, _ in parsed.tags} <= {"p", "em", "div", "button", "pre", "code", "span"}
        assert not [name for _, attrs in parsed.tags for name in attrs if name.startswith("on")]
        assert "<script>alert(1)</script>" in parsed.text  # shown, as text
        assert 'onerror="alert(1)"' in parsed.text
    link = Parsed(markdown("[a link](javascript:alert(1)) [another](JaVaScRiPt:alert(1))")).tags
    assert [tag for tag, _ in link] == ["p"]  # not links


def test_only_pygments_and_our_own_classes_survive() -> None:
    """nh3 keeps a class only where it is allowed: Pygments' token names on spans, ``highlight`` on
    code; the Copy button's markup is added after sanitizing."""
    text = fenced("python", "import os\nprint(os.sep, 1.5, r'\\d', f'{x!r}')") + fenced("json", '{"a": [1]}')
    allowed = {name for name in STANDARD_TYPES.values() if name} | {"highlight", "code", "copy"}
    classes = {name for value in re.findall(r'class="([^"]*)"', markdown(text)) for name in value.split()}
    assert classes <= allowed and {"kn", "nb", "mf", "sa"} <= classes, classes


@pytest.mark.parametrize("language", ["", "nosuchlanguage", 'python" onclick="alert(1)', "<b>"])
def test_missing_or_unknown_language_is_plain_escaped_code(language: str) -> None:
    html = markdown(fenced(language, "a <b> & 'c'"))
    assert "<pre><code>a &lt;b&gt; &amp; 'c'\n</code></pre>" in html, html
    assert "<span" not in html and "onclick" not in html


def test_the_code_stylesheet_is_generated_from_pygments_for_light_and_dark() -> None:
    """``static/code.css`` is ``code_css()`` written out; it changes only with Pygments or its styles."""
    css = (STATIC / "code.css").read_text()
    assert css == code_css(), (
        "static/code.css is out of date: python -c 'from chatdash.chat.web.render import code_css; "
        'open("src/chatdash/chat/web/static/code.css", "w").write(code_css())\''
    )
    light, dark = css.split("@media (prefers-color-scheme: dark)")
    assert "@media not all and (prefers-color-scheme: dark)" in light
    assert ".highlight .k {" in light and ".highlight .k {" in dark
    assert (STATIC / "chat.css").read_text().count('@import url("code.css");') == 1


async def paced(parts: list[tuple[float, str]], log: list[str]) -> AsyncIterator[str]:
    """Deltas, each after its pause, as a model writes them; ``log`` says when each was written."""
    for pause, part in parts:
        await asyncio.sleep(pause)
        log.append(f"wrote {part}")
        yield part


def test_a_streaming_reply_is_rendered_at_most_every_interval_and_always_to_its_end() -> None:
    async def run() -> tuple[list[str], list[float]]:
        started, shown, times = asyncio.get_running_loop().time(), [], []
        async for html in markdown_so_far(paced([(0.005, f"w{n} ") for n in range(100)], []), every=0.1):
            shown.append(html)
            times.append(asyncio.get_running_loop().time() - started)
        return shown, times

    shown, times = asyncio.run(run())
    assert shown[-1] == markdown("".join(f"w{n} " for n in range(100)))  # the whole text, last
    assert 2 <= len(shown) <= 9, times  # 100 deltas over 0.5 s or more: about 6 renderings
    gaps = [later - earlier for earlier, later in itertools.pairwise(times[:-1])]
    assert all(gap >= 0.09 for gap in gaps), times  # the last one goes out as soon as the text ends


def test_text_held_back_goes_out_when_due_not_when_the_model_writes_again() -> None:
    async def run() -> list[str]:
        log: list[str] = []
        parts = [(0, "- one\n"), (0, "- two\n"), (1.0, "- three\n")]
        async for html in markdown_so_far(paced(parts, log), every=0.1):
            log.append(f"shown {html.count('<li>')} items")
        return log

    log = asyncio.run(run())
    assert [line for line in log if line.startswith("shown")] == [
        "shown 1 items",
        "shown 2 items",
        "shown 3 items",
    ]
    assert log.index("shown 2 items") < log.index("wrote - three\n"), log  # not held for the model's pause


def test_leaving_a_streaming_reply_ends_its_deltas() -> None:
    ended: list[str] = []

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "more "
                await asyncio.sleep(10)
        finally:
            ended.append("deltas closed")

    async def run() -> None:
        shown = markdown_so_far(endless(), every=0.05)
        assert await anext(shown) == "<p>more</p>\n"
        await shown.aclose()  # the page went away while the model was writing
        await asyncio.sleep(0.05)
        assert ended == ["deltas closed"]

    asyncio.run(run())
