"""How the pages list chats and search hits: the chat list in date groups, a hit's snippet as HTML.

Both are template filters (``by_date``, ``highlight``), so every place that renders the chat list (the
chat page, the search page, the list htmx swaps in after a new chat's first message) groups it alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from chatdash.chat.repository import END_MARK, MARK
from chatdash.db.models import Chat

_MARKS = re.compile(f"([{MARK}{END_MARK}])")


def date_group(moment: dt.datetime, today: dt.date) -> str:
    """The heading a chat last changed at ``moment`` goes under, as ChatGPT and Open WebUI name them:
    Today, Yesterday, Previous 7 days, Previous 30 days, then the month ("March 2024"). Days are UTC
    days (``updated_at`` is stored in UTC); a moment after ``today`` (a clock ahead) counts as today."""
    day = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()
    age = (today - day).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age <= 7:
        return "Previous 7 days"
    if age <= 30:
        return "Previous 30 days"
    return f"{day:%B %Y}"


def by_date(chats: Iterable[Chat], today: dt.date | None = None) -> list[tuple[str, list[Chat]]]:
    """``chats`` (newest first, as ``ChatService.chats`` lists them) under their date headings, in
    order. A heading is started again if the order ever goes back to it, so no chat moves."""
    today = today or dt.datetime.now(dt.UTC).date()
    groups: list[tuple[str, list[Chat]]] = []
    for chat in chats:
        label = date_group(chat.updated_at, today)
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append(chat)
    return groups


def highlight(snippet: str) -> Markup:
    """A ``SearchHit.snippet`` as safe HTML: its text escaped, each matched term in ``<mark>``. The
    marks are characters no stored text holds (``MARK`` opens, ``END_MARK`` closes); one out of place
    opens or closes nothing twice, and one left open is closed at the end."""
    html, inside = [], False
    for piece in _MARKS.split(snippet):
        if piece in (MARK, END_MARK):
            inside = piece == MARK
        elif piece:
            html.append(f"<mark>{escape(piece)}</mark>" if inside else str(escape(piece)))
    return Markup("".join(html))


def utc_time(moment: float) -> str:
    """A stored Unix time as the pages show times: minutes, in UTC, said so."""
    return f"{dt.datetime.fromtimestamp(moment, dt.UTC):%Y-%m-%d %H:%M} UTC"
