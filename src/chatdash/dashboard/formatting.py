"""Figures as the page shows them.

Money stays a ``Decimal`` until it becomes text, so what the page prints is the query layer's
value to the cent (floats only ever feed chart geometry, never a printed number).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from chatdash.sales import Granularity

DASH = "—"


def money(value: Decimal | None) -> str:
    """``Decimal('28078697.04') -> '28,078,697.04'``; None (no orders) -> an em dash."""
    return DASH if value is None else f"{value:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def change(current: Decimal | int, previous: Decimal | int, *, as_money: bool) -> str:
    """The change against the previous period with its percentage: ``'+1,204.50 (+3.1%)'``.

    The sign leads, so ``st.metric`` points its arrow the right way.
    """
    difference = Decimal(current) - Decimal(previous)
    text = f"{difference:+,.2f}" if as_money else f"{int(difference):+,}"
    if previous:
        percent = (difference * 100 / Decimal(previous)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        text += f" ({percent:+}%)"
    return text


def period(day: dt.date, granularity: Granularity) -> str:
    """How a time-series bucket is named on hover: a day, an ISO week's Monday, or a month."""
    if granularity == "month":
        return day.strftime("%Y-%m")
    if granularity == "week":
        return f"week of {day.isoformat()}"
    return day.isoformat()


def date_range(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()} to {end.isoformat()}"
