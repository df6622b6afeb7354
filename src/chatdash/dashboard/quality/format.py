"""The AI-quality figures as the page shows them (the tests format their own computation with these).

Rounding happens here and only here: latencies to whole milliseconds, rates to a tenth of a percent,
scores to two decimals, each half up, so a value reads the same in a metric, a chart and a table.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from chatdash.dashboard.formatting import DASH, count

__all__ = ["DASH", "count", "ms", "rate", "score", "utc"]


def _rounded(value: float, places: str) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(places), ROUND_HALF_UP)


def ms(value: float | None) -> str:
    """``1234.5 -> '1,235 ms'``; None (no values) -> an em dash."""
    return DASH if value is None else f"{_rounded(value, '1'):,} ms"


def rate(part: int, whole: int) -> str:
    """``(3, 24) -> '12.5%'``, from the counts (exact, unlike a float share); no whole -> an em dash."""
    if not whole:
        return DASH
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def score(value: float | None) -> str:
    """A mean score in [0, 1] to two decimals: ``0.875 -> '0.88'``; None (no feedback) -> an em dash."""
    return DASH if value is None else str(_rounded(value, "0.01"))


def utc(moment: dt.datetime) -> str:
    """``2025-03-01 14:02:07`` (UTC, to the second), as the table and the drill-down show a time."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
