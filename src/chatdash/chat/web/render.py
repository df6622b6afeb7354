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


def markdown(text: str) -> str:
    return nh3.clean(
        _md.render(text), url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"
    )


def figure(value: object, signed: bool = False) -> str:
    """A stored answer's figure (a JSON string or int) as the reply's sentence writes it."""
    if value is None:
        return "n/a"
    number = value if isinstance(value, int) else Decimal(str(value))
    text = format_figure(number)
    return f"+{text}" if signed and number > 0 else text
