"""Calendar days as people write them: "June 26, 2011", "26th of June 2011", "2011-06-26", "6/26/2011",
"26.06.2011", and runs of days inside one month ("June 26-30, 2011").

Kept apart from ``chatdash.sales.dates`` (which turns whole expressions into date ranges) because a day
is its own small grammar with one real ambiguity, the order of the numbers in ``5/6/2011``:

- with ``/`` or ``-`` the month comes first (US: ``5/6/2011`` is May 6), unless the first number cannot
  be a month (``26/6/2011`` is June 26);
- with ``.`` the day comes first (``5.6.2011`` is June 5), unless the second number cannot be a month;
- a two-digit year is 20yy below 70 and 19yy from 70 up (``6/26/11`` is in 2011).

A form that has a day's shape but names no real day ("31 Feb 2016", "13/45/2016") is still found:
``Days.dates`` then returns None, so that the caller reports it instead of reading something else in it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
"""The month names and abbreviations as one regex alternation (longest first)."""
YEAR = r"(?:19|20)\d{2}"
"""A year the sales data can hold, as a regex (no group)."""


@dataclass(frozen=True, slots=True)
class Days:
    """Days as written: ``first`` to ``last`` of ``month`` (one day when equal). ``year`` is None when the
    text leaves it to a neighbour ("June 26 - July 24, 2011")."""

    month: int
    first: int
    last: int
    year: int | None

    def dates(self, year: int | None = None) -> tuple[dt.date, dt.date] | None:
        """The first and last day, in ``year`` when the text gave none; None when no such days exist."""
        value = self.year if self.year is not None else year
        if value is None:
            return None
        try:
            first, last = dt.date(value, self.month, self.first), dt.date(value, self.month, self.last)
        except ValueError:
            return None
        return (first, last) if first <= last else None


_FLAGS = re.IGNORECASE
_DAY = r"\b(?P<day>[0-3]?\d)(?P<suffix>st|nd|rd|th)?"
_TO_DAY = r"\s*(?:-|\u2013|to|through|until|till)\s*(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?"
_MONTH = rf"\b(?P<month>{MONTH_NAMES})\b\.?"
_THEN_YEAR = rf"(?:\s*,\s*|\s+|-)(?:of\s+)?(?P<year>{YEAR})\b"
_DAY_OF = r"(?:\s+of\s+|\s+|-)(?:the\s+)?"
_COUNTING = re.compile(r"\b(?:top|bottom|best|worst|first|last)\s+\Z", _FLAGS)
"""Words before a bare number that make it a count, not a day ("top 5 March 2020")."""


def _named(m: re.Match[str]) -> Days | None:
    if m["suffix"] is None and _COUNTING.search(m.string, max(0, m.start() - 20), m.start()):
        return None
    day = int(m["day"])
    last = int(m.groupdict().get("day2") or day)
    return Days(MONTHS[m["month"].lower().rstrip(".")], day, last, int(m["year"]) if m["year"] else None)


def _iso(m: re.Match[str]) -> Days:
    day = int(m["d"])
    return Days(int(m["m"]), day, day, int(m["y"]))


def _numeric(m: re.Match[str]) -> Days:
    """``a/b/y``, ``a-b-y`` (month first) or ``a.b.y`` (day first); the other order only when the
    preferred one names no month."""
    a, b, written = int(m["a"]), int(m["b"]), m["y"]
    year = int(written) if len(written) == 4 else (2000 if int(written) < 70 else 1900) + int(written)
    month, day = (b, a) if m["sep"] == "." else (a, b)
    if month > 12 and day <= 12:
        month, day = day, month
    return Days(month, day, day, year)


DAY_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Days | None]], ...] = (
    # runs inside a month: "june 26-30, 2011", "26 to 30 june 2011"
    (re.compile(rf"{_MONTH}\s+{_DAY}{_TO_DAY}{_THEN_YEAR}", _FLAGS), _named),
    (re.compile(rf"(?:\bthe\s+)?{_DAY}{_TO_DAY}{_DAY_OF}{_MONTH}{_THEN_YEAR}", _FLAGS), _named),
    # one day with its year: "june 26, 2011", "26th of june 2011", "2011-06-26", "6/26/2011"
    (re.compile(rf"{_MONTH}\s+{_DAY}{_THEN_YEAR}", _FLAGS), _named),
    (re.compile(rf"(?:\bthe\s+)?{_DAY}{_DAY_OF}{_MONTH}{_THEN_YEAR}", _FLAGS), _named),
    (re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b(?![/.]\d)"), _iso),
    (
        re.compile(
            r"(?<![.,/])\b(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})\b(?![/.]\d)"
        ),
        _numeric,
    ),
    # one day whose year the text gives elsewhere: "june 26", "the 26th of june"
    (re.compile(rf"{_MONTH}\s+{_DAY}\b(?P<year>)(?!\s*[,/.:-]?\s*\d)", _FLAGS), _named),
    (re.compile(rf"(?:\bthe\s+)?{_DAY}{_DAY_OF}{_MONTH}(?P<year>)", _FLAGS), _named),
)
"""Regexes for written days, most specific first, each with its reader: None when the match turns out
not to be a day at all (a count); ``Days`` (maybe impossible, see ``Days.dates``) otherwise."""
