"""Model output as sanitized HTML: Markdown (CommonMark, raw HTML off) and then nh3's allow-list.

Two layers on purpose: markdown-it with ``html=False`` escapes any HTML the model writes, and nh3
removes whatever a Markdown construct could still smuggle (``javascript:`` links, odd attributes).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str) -> str:
    return nh3.clean(
        _md.render(text), url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"
    )
