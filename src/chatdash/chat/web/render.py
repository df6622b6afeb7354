"""Model output as sanitized HTML: Markdown (CommonMark, raw HTML off) and then nh3's allow-list.

Two layers on purpose: markdown-it with ``html=False`` escapes any HTML the model writes, and nh3
removes whatever a Markdown construct could still smuggle (``javascript:`` links, odd attributes).
"""

from __future__ import annotations

from decimal import Decimal

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str) -> str:
    return nh3.clean(
        _md.render(text), url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"
    )


def figure(value: object, signed: bool = False) -> str:
    """A figure as the card shows it: money and ratios with two decimals, counts with separators."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        text = f"{value:,}"
        return f"+{text}" if signed and value > 0 else text
    number = Decimal(str(value))
    text = f"{number:,.2f}" if number.as_tuple().exponent != 0 else f"{number:,}"
    return f"+{text}" if signed and number > 0 else text
