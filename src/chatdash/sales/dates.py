"""Date expressions in sales questions, turned into inclusive date ranges.

Relative expressions ("last year", "this quarter", "last 30 days") count from the data's last order
date, not from today: the data is a history (2010-2023 in the sample), and "last year" about it means
its last full year, whatever the clock says. Calendar units are whole: "last month" is the calendar
month before the one holding the last order.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from chatdash.sales.periods import month_end

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
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
NUMBERS |= {"nine": 9, "ten": 10, "twelve": 12, "a": 1}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}

_YEAR = r"((?:19|20)\d{2})"
_ISO = r"(\d{4}-\d{2}-\d{2})"
_MONTH = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_COUNT = r"(\d+|" + "|".join(NUMBERS) + r")"

_TO = r"\s*(?:to|and|until|through|-|\u2013|\.\.)\s*"
_ISO_RANGE = re.compile(rf"\b(?:from|between)?\s*{_ISO}{_TO}{_ISO}\b")
_ISO_DAY = re.compile(rf"\b{_ISO}\b")
_YEAR_RANGE = re.compile(rf"\b(?:from|between)?\s*{_YEAR}{_TO}{_YEAR}\b")
_QUARTER = re.compile(rf"\bq([1-4])\s*(?:of\s+)?{_YEAR}\b|\b{_YEAR}\s*q([1-4])\b")
_QUARTER_WORDS = re.compile(
    rf"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(?:of\s+|in\s+)?{_YEAR}\b"
)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(?:of\s+)?{_YEAR}\b")
_SINCE = re.compile(rf"\b(?:since|after|from)\s+{_YEAR}\b(?!\s*-\s*\d)")
_UNTIL = re.compile(rf"\b(before|until|till|through|up\s+to)\s+{_YEAR}\b")
_RELATIVE = re.compile(r"\b(last|this|previous|past|current)\s+(year|quarter|month|week)\b")
_LAST_N = re.compile(rf"\b(?:last|past|previous)\s+{_COUNT}\s+(days?|weeks?|months?|years?)\b")
_YEAR_ALONE = re.compile(rf"\b{_YEAR}\b")
_ALL_TIME = re.compile(r"\b(all[\s-]time|ever|overall|in\s+total|of\s+all\s+time|whole\s+history)\b")


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive date range; a None end is open (up to the data's first or last day)."""

    start: dt.date | None
    end: dt.date | None


def year(value: int) -> Span:
    return Span(dt.date(value, 1, 1), dt.date(value, 12, 31))


def quarter(value: int, number: int) -> Span:
    first = dt.date(value, 3 * number - 2, 1)
    return Span(first, month_end(dt.date(value, 3 * number, 1)))


def month(value: int, number: int) -> Span:
    first = dt.date(value, number, 1)
    return Span(first, month_end(first))


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_dates(text: str, last: dt.date | None = None) -> Span | None:
    """The date range ``text`` speaks of, or None when it names none (or says "all time").

    ``last`` is the data's last order date, the anchor of relative expressions; without it they are
    not recognised. The first matching form wins, most specific first.
    """
    lower = text.lower()
    if m := _ISO_RANGE.search(lower):
        start, end = sorted((dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))))
        return Span(start, end)
    if m := _ISO_DAY.search(lower):
        day = dt.date.fromisoformat(m.group(1))
        return Span(day, day)
    if m := _YEAR_RANGE.search(lower):
        first, second = sorted((int(m.group(1)), int(m.group(2))))
        return Span(dt.date(first, 1, 1), dt.date(second, 12, 31))
    if m := _QUARTER.search(lower):
        number, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return quarter(int(value), int(number))
    if m := _QUARTER_WORDS.search(lower):
        return quarter(int(m.group(2)), ORDINALS[m.group(1)])
    if m := _MONTH_YEAR.search(lower):
        return month(int(m.group(2)), MONTHS[m.group(1)])
    if m := _SINCE.search(lower):
        return Span(dt.date(int(m.group(1)), 1, 1), None)
    if m := _UNTIL.search(lower):
        value = int(m.group(2))
        return Span(None, dt.date(value - 1, 12, 31) if m.group(1) == "before" else dt.date(value, 12, 31))
    if last is not None:
        if m := _LAST_N.search(lower):
            return _last_n(last, _count(m.group(1)), m.group(2).rstrip("s"))
        if m := _RELATIVE.search(lower):
            return _relative(last, m.group(1) in ("this", "current"), m.group(2))
    years = sorted({int(value) for value in _YEAR_ALONE.findall(lower)})
    if years:
        return Span(dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31))
    return None


def says_all_time(text: str) -> bool:
    """True when the question explicitly asks about the whole history."""
    return _ALL_TIME.search(text.lower()) is not None


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _relative(last: dt.date, current: bool, unit: str) -> Span:
    """This/last year, quarter, month or ISO week, relative to the data's last date."""
    if unit == "year":
        return Span(dt.date(last.year, 1, 1), last) if current else year(last.year - 1)
    if unit == "quarter":
        number = (last.month - 1) // 3 + 1
        if current:
            return Span(quarter(last.year, number).start, last)
        return quarter(last.year, number - 1) if number > 1 else quarter(last.year - 1, 4)
    if unit == "month":
        if current:
            return Span(last.replace(day=1), last)
        previous = _months_back(last, 1)
        return Span(previous, month_end(previous))
    monday = last - dt.timedelta(days=last.weekday())
    if current:
        return Span(monday, last)
    return Span(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))


def _last_n(last: dt.date, n: int, unit: str) -> Span:
    """The last ``n`` days or weeks up to the data's last date; or ``n`` calendar months/years ending
    with the one holding it."""
    n = max(n, 1)
    if unit == "day":
        return Span(last - dt.timedelta(days=n - 1), last)
    if unit == "week":
        return Span(last - dt.timedelta(days=7 * n - 1), last)
    if unit == "month":
        return Span(_months_back(last, n - 1), last)
    return Span(dt.date(last.year - n + 1, 1, 1), last)
