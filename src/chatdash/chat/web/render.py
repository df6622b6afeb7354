"""Model output as sanitized HTML: Markdown (CommonMark, raw HTML off) and then nh3's allow-list.

Two layers on purpose: markdown-it with ``html=False`` escapes any HTML the model writes, and nh3
removes whatever a Markdown construct could still smuggle (``javascript:`` links, odd attributes).
"""

from __future__ import annotations

from decimal import Decimal

import nh3
from markdown_it import MarkdownIt

from chatdash.sales import format_figure

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


_COPY_CODE = (
    '<div class="code"><button type="button" class="copy" data-copy="code" title="Copy this code">'
    "Copy</button><pre>"
)


def markdown(text: str) -> str:
    """Sanitized HTML; each code block comes with a Copy button (``static/chat.js``), added after
    sanitizing: nh3's output has ``<pre>`` only where Markdown made a code block (text is escaped)."""
    safe = nh3.clean(
        _md.render(text), url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"
    )
    return safe.replace("<pre>", _COPY_CODE).replace("</pre>", "</pre></div>")


def figure(value: object, signed: bool = False) -> str:
    """A stored answer's figure (a JSON string or int) as the reply's sentence writes it."""
    if value is None:
        return "n/a"
    number = value if isinstance(value, int) else Decimal(str(value))
    text = format_figure(number)
    return f"+{text}" if signed and number > 0 else text
