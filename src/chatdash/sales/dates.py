"""Date expressions in sales questions, turned into inclusive date ranges.

``read_dates`` finds every date expression in a question and says which ones it read (``matched``) and
which ones it could not (``unread``). A question whose period cannot be read whole is to be asked back,
never silently widened: "in spring 2016" must not become all of 2016, nor "on 31 Feb 2016" all time.

Relative expressions ("last year", "this quarter", "last 30 days", "year to date") count from the
data's last order date, not from today: the data is a history (2010-2023 in the sample), and "last
year" about it means its last full year, whatever the clock says. Calendar units are whole: "last
month" is the calendar month before the one holding the last order. Without a last date (no data)
relative expressions are skipped: neither read nor unread.

Choices a caller should know:

- Several expressions give the smallest range covering them all ("2019 vs 2020" is 2019-2020): a
  question has one period (comparisons are split before reading, see ``question._periods``).
- "since X", "from X" and "X onwards" include X; "after X" starts the day after X; "before X" ends the
  day before X; "until", "till", "through", "up to" X include X.
- A range takes its missing year from its other end ("June 26 - July 24, 2011", "March to May 2019");
  "December 20 - January 5, 2012" starts in 2011.
- A month or day without a year is read only when the text writes exactly one year ("March and April
  2020", "March, compared with 2019"); otherwise it is unread (which year?).
- Written days and the ``5/6/2011`` ambiguity: see ``chatdash.sales.days`` (month first with ``/``).
- Unread: an impossible day, a season or holiday, numbered weeks, fiscal years, decades, a quarter or
  half without a year, and a period narrowed in a way not read ("the second week of March 2016", "end
  of 2016", "mid-2016"). A named event ("the olympics 2012") is read as its year.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from chatdash.sales.days import DAY_FORMS, MONTH_NAMES, MONTHS, YEAR, Days
from chatdash.sales.periods import month_end

NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
NUMBERS |= {"nine": 9, "ten": 10, "twelve": 12, "a": 1}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
ORDINALS |= {"last": 4, "final": 4}
HALVES = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "last": 2, "latter": 2}

Closed = tuple[dt.date, dt.date]
"""First and last day of a range with both ends."""


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive date range; a None end is open (up to the data's first or last day)."""

    start: dt.date | None
    end: dt.date | None


@dataclass(frozen=True, slots=True)
class DateReading:
    """What ``read_dates`` made of a text: the range it names (None: none read), the substrings of the
    text read as dates, and the date-like substrings it could not read, each in text order."""

    span: Span | None
    matched: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()


def year(value: int) -> Span:
    return Span(*_year(value))


def quarter(value: int, number: int) -> Span:
    return Span(*_quarter(value, number))


def month(value: int, number: int) -> Span:
    return Span(*_month(value, number))


def _year(value: int) -> Closed:
    return dt.date(value, 1, 1), dt.date(value, 12, 31)


def _half(value: int, number: int) -> Closed:
    return dt.date(value, 6 * number - 5, 1), month_end(dt.date(value, 6 * number, 1))


def _quarter(value: int, number: int) -> Closed:
    return dt.date(value, 3 * number - 2, 1), month_end(dt.date(value, 3 * number, 1))


def _month(value: int, number: int) -> Closed:
    first = dt.date(value, number, 1)
    return first, month_end(first)


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


# -- reading --------------------------------------------------------------------------------------


def read_dates(text: str, last: dt.date | None = None) -> DateReading:
    """Every date expression in ``text``: the range they cover together, and what was (not) read.

    ``last`` is the data's last order date, the anchor of relative expressions. Never raises on odd
    input: an impossible date is reported in ``unread``.
    """
    pieces = _completed(text, _joined(text, _qualified(text, _scan(text, last))))
    spans: list[Span] = []
    matched: list[str] = []
    unread: list[str] = []
    for piece in pieces:
        start, end, span = _opened(text, piece)
        if span is None:
            unread.append(text[start:end])
        else:
            spans.append(span)
            matched.append(text[start:end])
    return DateReading(_hull(spans), tuple(matched), tuple(unread))


def parse_dates(text: str, last: dt.date | None = None) -> Span | None:
    """The date range ``text`` speaks of, or None when it names none (see ``read_dates``)."""
    return read_dates(text, last).span


def says_all_time(text: str) -> bool:
    """True when the question explicitly asks about the whole history."""
    return _ALL_TIME.search(text.lower()) is not None


@dataclass(frozen=True, slots=True)
class _Piece:
    """One expression at ``text[start:end]``: read (``dates``), waiting for a year (``complete``), or
    neither (not understood)."""

    start: int
    end: int
    dates: Closed | None = None
    complete: Callable[[int], Closed | None] | None = None


Reader = Callable[[re.Match[str], dt.date | None], _Piece | None]
"""Turns a rule's match into a piece; None when the match is no date after all (or needs ``last``)."""


def _scan(text: str, last: dt.date | None) -> list[_Piece]:
    """The pieces the rules find, most specific rule first; a found piece hides its text from the
    rules after it (masked with NULs, so positions stay those of ``text``)."""
    masked = text
    found: list[_Piece] = []
    for pattern, reader in _RULES:
        for m in pattern.finditer(masked):
            try:
                piece = reader(m, last)
            except (ValueError, OverflowError):  # beyond the calendar ("last 5000 years")
                piece = _Piece(m.start(), m.end())
            if piece is not None:
                found.append(piece)
                masked = masked[: piece.start] + "\0" * (piece.end - piece.start) + masked[piece.end :]
    return sorted(found, key=lambda piece: piece.start)


def _qualified(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """Pieces narrowed by words not read ("the second week of March 2016") become unread, whole; the
    edge an open range starts or ends at anyway is read ("since the start of 2019")."""
    out: list[_Piece] = []
    for piece in pieces:
        if (edge := _ending(_SAME_EDGE, text, piece.start)) is not None:
            start = edge.start("edge") if edge["edge"] else edge.start("end")
            piece = _Piece(start, piece.end, piece.dates, piece.complete)
        elif (m := _ending(_QUALIFIER, text, piece.start)) is not None:
            start = m.start()
            while out and out[-1].end > start:
                start = min(start, out.pop().start)
            piece = _Piece(start, piece.end)
        out.append(piece)
    return out


def _joined(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """Neighbouring pieces joined by "to", "-" ... become one range; joined by "and" only after
    "between" ("between March and June 2019"): "in March 2019 and June 2020" names two months."""
    out: list[_Piece] = []
    index = 0
    while index < len(pieces):
        first = pieces[index]
        joint = (
            _CONNECTOR.fullmatch(text, first.end, pieces[index + 1].start)
            if index + 1 < len(pieces)
            else None
        )
        if joint is not None and joint.group(0).strip(" ,").lower() == "and":
            joint = joint if _ending(_RANGE_START, text, first.start) else None
        if joint is not None:
            out.append(_range(text, first, pieces[index + 1]))
            index += 2
        else:
            out.append(first)
            index += 1
    return out


def _range(text: str, a: _Piece, b: _Piece) -> _Piece:
    opening = _ending(_RANGE_START, text, a.start)
    start = opening.start() if opening else a.start
    first, second = a.dates, b.dates
    if first is None and a.complete is not None and second is not None:
        first = _borrow(a.complete, second, earlier=True)
    elif second is None and b.complete is not None and first is not None:
        second = _borrow(b.complete, first, earlier=False)
    if first is not None and second is not None:
        return _Piece(start, b.end, (min(first[0], second[0]), max(first[1], second[1])))
    if a.dates is None and b.dates is None and a.complete is not None and b.complete is not None:
        return _Piece(start, b.end, complete=_both(a.complete, b.complete))
    return _Piece(start, b.end)


def _borrow(complete: Callable[[int], Closed | None], anchor: Closed, earlier: bool) -> Closed | None:
    """A yearless end of a range, in the year of its other end; a year earlier or later when it would
    otherwise run backwards."""
    dates = complete(anchor[0].year)
    if dates is not None and earlier and dates[1] > anchor[1]:
        return complete(anchor[0].year - 1)
    if dates is not None and not earlier and dates[0] < anchor[0]:
        return complete(anchor[0].year + 1)
    return dates


def _both(
    first: Callable[[int], Closed | None], second: Callable[[int], Closed | None]
) -> Callable[[int], Closed | None]:
    def complete(value: int) -> Closed | None:
        a, b = first(value), second(value)
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))

    return complete


def _completed(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """Yearless pieces in the one year the text writes; unread when it writes none or several."""
    years = {int(value) for value in _WRITTEN_YEAR.findall(text)}
    only = years.pop() if len(years) == 1 else None
    return [
        _Piece(p.start, p.end, p.complete(only) if only else None) if p.dates is None and p.complete else p
        for p in pieces
    ]


def _opened(text: str, piece: _Piece) -> tuple[int, int, Span | None]:
    """Where the piece stands and the range it means, opened by "since", "before", "onwards" ..."""
    if piece.dates is None:
        return piece.start, piece.end, None
    first, last = piece.dates
    if (before := _ending(_OPEN_BEFORE, text, piece.start)) is not None:
        word = before["word"].split()[0].lower()
        try:
            if word in ("since", "from", "starting"):
                span = Span(first, None)
            elif word == "after":
                span = Span(last + dt.timedelta(days=1), None)
            elif word in ("before", "prior"):
                span = Span(None, first - dt.timedelta(days=1))
            else:
                span = Span(None, last)
        except OverflowError:
            return before.start(), piece.end, None
        return before.start(), piece.end, span
    if (after := _OPEN_AFTER.match(text, piece.end)) is not None:
        return piece.start, after.end(), Span(first, None) if after["later"] else Span(None, last)
    return piece.start, piece.end, Span(first, last)


def _ending(pattern: re.Pattern[str], text: str, at: int) -> re.Match[str] | None:
    """``pattern`` (anchored with ``\\Z``) ending at ``at``, looked for in the few words before it only."""
    return pattern.search(text, max(0, at - 80), at)


def _hull(spans: list[Span]) -> Span | None:
    if not spans:
        return None
    starts = [span.start for span in spans]
    ends = [span.end for span in spans]
    return Span(
        None if None in starts else min(day for day in starts if day is not None),
        None if None in ends else max(day for day in ends if day is not None),
    )


# -- the rules ------------------------------------------------------------------------------------


def _year_of(m: re.Match[str], last: dt.date | None) -> int | None:
    """The year a match writes, or means by "this/last year" (None without ``last``)."""
    if m["year"]:
        return int(m["year"])
    if last is None:
        return None
    return last.year - 1 if m["rel"].lower() in ("last", "previous") else last.year


def _day(read: Callable[[re.Match[str]], Days | None]) -> Reader:
    def reader(m: re.Match[str], last: dt.date | None) -> _Piece | None:
        days = read(m)
        if days is None:
            return None
        if days.year is None:
            return _Piece(m.start(), m.end(), complete=days.dates)
        return _Piece(m.start(), m.end(), days.dates())

    return reader


def _numeric_month(m: re.Match[str], last: dt.date | None) -> _Piece:
    return _Piece(m.start(), m.end(), _month(int(m["year"]), int(m["mm"])))


def _period(make: Callable[[int, int], Closed], names: dict[str, int], key: str) -> Reader:
    """A reader for quarters or halves: number from group ``key`` ("q1", "h2") or from an ordinal word."""

    def reader(m: re.Match[str], last: dt.date | None) -> _Piece | None:
        value = _year_of(m, last)
        if value is None:
            return None
        found = m.groupdict()
        number = int(found[key]) if found.get(key) else names[m["ord"].lower()]
        return _Piece(m.start(), m.end(), make(value, number))

    return reader


def _month_year(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    value = _year_of(m, last)
    return None if value is None else _Piece(m.start(), m.end(), _month(value, MONTHS[m["month"].lower()]))


def _to_date(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    if last is None:
        return None
    unit = (
        m["unit"] or {"y": "year", "q": "quarter", "m": "month", "w": "week"}[m["abbr"][0].lower()]
    ).lower()
    return _Piece(m.start(), m.end(), _relative(last, True, unit))


def _last_n_reader(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    if last is None:
        return None
    word = m["n"].lower()
    count = int(word) if word.isdigit() else NUMBERS[word]
    return _Piece(m.start(), m.end(), _last_n(last, count, m["unit"].lower().rstrip("s")))


def _relative_reader(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    if last is None:
        return None
    current = m["which"].lower() in ("this", "current")
    return _Piece(m.start(), m.end(), _relative(last, current, m["unit"].lower()))


def _unread(m: re.Match[str], last: dt.date | None) -> _Piece:
    return _Piece(m.start(), m.end())


def _year_alone(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    """A year, unless the number is an amount ("$2000", "top 2000", "2000 units", "1999.99")."""
    if _ending(_AMOUNT_BEFORE, m.string, m.start()) or _AMOUNT_AFTER.match(m.string, m.end()):
        return None
    return _Piece(m.start(), m.end(), _year(int(m["year"])))


def _month_alone(m: re.Match[str], last: dt.date | None) -> _Piece | None:
    """A month waiting for its year. "may" and abbreviations only after a preposition or before a range
    ("in may", "may to july 2019"): "may I see ..." is no month."""
    name = m["month"].lower()
    if not (m["prep"] or m["next"] is not None or name in _FULL_MONTHS):
        return None
    number = MONTHS[name]
    return _Piece(m.start("month"), m.end(), complete=lambda value: _month(value, number))


def _relative(last: dt.date, current: bool, unit: str) -> Closed:
    """This/last year, quarter, month or ISO week, relative to the data's last date."""
    if unit == "year":
        return (dt.date(last.year, 1, 1), last) if current else _year(last.year - 1)
    if unit == "quarter":
        number = (last.month - 1) // 3 + 1
        if current:
            return _quarter(last.year, number)[0], last
        return _quarter(last.year, number - 1) if number > 1 else _quarter(last.year - 1, 4)
    if unit == "month":
        if current:
            return last.replace(day=1), last
        previous = _months_back(last, 1)
        return previous, month_end(previous)
    monday = last - dt.timedelta(days=last.weekday())
    if current:
        return monday, last
    return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)


def _last_n(last: dt.date, n: int, unit: str) -> Closed:
    """The last ``n`` days or weeks up to the data's last date; or ``n`` calendar months, quarters or
    years ending with the one holding it."""
    n = max(n, 1)
    if unit == "day":
        return last - dt.timedelta(days=n - 1), last
    if unit == "week":
        return last - dt.timedelta(days=7 * n - 1), last
    if unit == "month":
        return _months_back(last, n - 1), last
    if unit == "quarter":
        return _months_back(last, (last.month - 1) % 3 + 3 * (n - 1)), last
    return dt.date(last.year - n + 1, 1, 1), last


_FLAGS = re.IGNORECASE
_FULL_MONTHS = {name for name in MONTHS if len(name) > 4 or name in ("june", "july")} - {"may"}
_COUNT = r"(?P<n>\d+|" + "|".join(NUMBERS) + r")"
_MONTH = rf"\b(?P<month>{MONTH_NAMES})\b\.?"
_YEAR_REF = rf"(?:(?P<year>{YEAR})\b|(?P<rel>this|last|previous|current)\s+year\b)"
_OF_YEAR = r"[\s-]*(?:of\s+|in\s+)?(?:the\s+year\s+)?"
_SEASON = (
    r"spring|summer|autumn|winter|christmas|x-?mas|easter|thanksgiving|halloween|black\s+friday|"
    r"cyber\s+monday|new\s+year'?s(?:\s+(?:eve|day))?|holiday\s+season|holidays?|back[\s-]to[\s-]school|"
    r"valentine'?s(?:\s+day)?|(?:in|the|during|this|last|since|until|through)\s+fall"
)
_AROUND = (
    r"(?:\bthe\s+)?(?:\b(?:week|weekend|weeks|days?|month|run[\s-]up|period)\s+"
    r"(?:of|before|after|around|to)\s+(?:the\s+)?)?"
)
_WEEKDAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_UNREAD = [
    # a season or holiday with a year: "in spring 2016", "the week of christmas 2015", "2016 summer"
    rf"{_AROUND}\b(?:{_SEASON})\b(?:[\s,]+(?!{YEAR}\b)[a-z']+){{0,2}}?[\s,]+{YEAR}\b",
    rf"\b{YEAR}[\s-]+(?:{_SEASON}|fall|half|season)\b",
    # ... or as a time without one: "in spring", "over the holidays", "this summer"
    r"\b(?:in|during|at|over|around|for|this|last|next|since|until|before|after|through)\s+(?:the\s+)?"
    rf"(?:{_SEASON}|fall)\b",
    # quarters and halves not read above: "q5 2016", "2016 h3", "in q1", "the first half of the year"
    rf"\b{YEAR}[\s-]*(?:q|h)\d\b",
    rf"\b(?:q|h)\d\b(?:[\s-]*(?:of\s+)?{YEAR}\b)?",
    r"(?:\bthe\s+)?\b(?:first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:half|quarter)\b"
    r"(?:\s+of\s+(?:the|this|that)\s+(?:year|month|decade|century))?",
    # decades and centuries: "the first half of the decade", "the 2010s", "last decade"
    r"(?:\bthe\s+)?(?:\b(?:first|second|early|late|mid|last|past|this|previous|whole)[\s-]+"
    r"(?:half\s+of\s+(?:the\s+)?)?)?"
    r"\b(?:decade|century|(?:19|20)\d0'?s|nineties|eighties)\b",
    # fiscal years differ between companies; numbered weeks; days without a month; weekdays
    rf"\bfy\s*'?\d{{2,4}}\b|\bfiscal(?:\s+year)?\s+{YEAR}\b",
    rf"\b(?:calendar\s+)?(?:week|wk|cw|kw)\s*\d{{1,2}}\b(?:\s*(?:of\s+|in\s+)?{YEAR}\b)?",
    r"\bon\s+the\s+[0-3]?\d(?:st|nd|rd|th)\b",
    rf"\b(?:on|last|this|next|every|since)\s+(?:{_WEEKDAY})s?\b",
    # days the data has no anchor for, or cannot hold yet
    r"\b(?:yesterday|today|tomorrow|tonight)\b",
    r"\bnext\s+(?:[a-z0-9]+\s+)?(?:years?|quarters?|months?|weeks?|days?)\b",
]
_MONTH_ALONE = (
    r"\b(?:(?P<prep>in|of|for|during|since|until|till|through|thru|from|to|before|after|between)\s+)?"
    rf"{_MONTH}(?:(?P<next>)(?=\s*(?:to|-|\u2013|and|through|until|till)\s*(?:{MONTH_NAMES})\b))?"
)

_RULES: tuple[tuple[re.Pattern[str], Reader], ...] = (
    *((pattern, _day(read)) for pattern, read in DAY_FORMS),
    (re.compile(rf"\b(?P<year>{YEAR})-(?P<mm>0[1-9]|1[0-2])\b(?![-/.]\d)"), _numeric_month),
    (re.compile(rf"(?<![\d/.,])\b(?P<mm>0?[1-9]|1[0-2])[/.](?P<year>{YEAR})\b(?![/.]\d)"), _numeric_month),
    (re.compile(rf"\bq(?P<q>[1-4]){_OF_YEAR}{_YEAR_REF}", _FLAGS), _period(_quarter, ORDINALS, "q")),
    (re.compile(rf"\b(?P<year>{YEAR})[\s-]*q(?P<q>[1-4])\b", _FLAGS), _period(_quarter, ORDINALS, "q")),
    (
        re.compile(rf"(?:\bthe\s+)?\b(?P<ord>{'|'.join(ORDINALS)})\s+quarter{_OF_YEAR}{_YEAR_REF}", _FLAGS),
        _period(_quarter, ORDINALS, "q"),
    ),
    (re.compile(rf"\bh(?P<h>[12]){_OF_YEAR}{_YEAR_REF}", _FLAGS), _period(_half, HALVES, "h")),
    (re.compile(rf"\b(?P<year>{YEAR})[\s-]*h(?P<h>[12])\b", _FLAGS), _period(_half, HALVES, "h")),
    (
        re.compile(rf"(?:\bthe\s+)?\b(?P<ord>{'|'.join(HALVES)})\s+half{_OF_YEAR}{_YEAR_REF}", _FLAGS),
        _period(_half, HALVES, "h"),
    ),
    (re.compile(rf"{_MONTH}\s*,?\s+(?:of\s+|in\s+)?{_YEAR_REF}", _FLAGS), _month_year),
    (
        re.compile(r"\b(?:(?P<unit>year|quarter|month|week)[\s-]+to[\s-]+date|(?P<abbr>[yqmw]td))\b", _FLAGS),
        _to_date,
    ),
    (
        re.compile(
            rf"\b(?:last|past|previous|trailing)\s+{_COUNT}\s+(?P<unit>(?:day|week|month|quarter|year)s?)\b",
            _FLAGS,
        ),
        _last_n_reader,
    ),
    (
        re.compile(
            r"\b(?P<which>last|this|previous|past|current)\s+(?P<unit>year|quarter|month|week)\b", _FLAGS
        ),
        _relative_reader,
    ),
    *((re.compile(pattern, _FLAGS), _unread) for pattern in _UNREAD),
    (re.compile(rf"\b(?P<year>{YEAR})\b"), _year_alone),
    (re.compile(_MONTH_ALONE, _FLAGS), _month_alone),
)
"""Every form read, most specific first; the unread forms come before a year alone, which would
otherwise read "spring 2016" as 2016."""

_ORDINAL = r"first|second|third|fourth|fifth|last|final|latter|middle|\d{1,2}(?:st|nd|rd|th)"
_QUALIFIER = re.compile(
    rf"(?:\bthe\s+)?\b(?:{_ORDINAL})(?:\s+(?:\d+|{'|'.join(NUMBERS)}))?\s+"
    r"(?:halves|half|quarters?|thirds?|weeks?|weekends?|days?|months?|fortnight)\s+(?:of\s+|in\s+)?"
    r"(?:the\s+)?(?:year\s+)?\Z"
    r"|\bthe\s+(?:weeks?|weekends?|days?|months?|fortnight|holidays?|season)\s+(?:of|before|after|around)\s+"
    r"(?:the\s+)?\Z"
    r"|(?:\bthe\s+)?\b(?:end|beginning|start|middle|rest|turn|close|remainder)\s+of\s+"
    r"(?:the\s+)?(?:year\s+)?\Z"
    r"|\b(?:early|late|mid)[\s-]*\Z",
    _FLAGS,
)
"""Words before a piece that narrow it in a way not read ("the last week of", "end of", "mid-")."""
_SAME_EDGE = re.compile(
    r"\b(?:since|from|starting)\s+(?P<edge>(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+)?)\Z"
    r"|\b(?:until|till|through|thru|up\s+to)\s+(?P<end>(?:the\s+)?end\s+of\s+(?:the\s+)?)\Z",
    _FLAGS,
)
_CONNECTOR = re.compile(r"\s*,?\s*(?:to|until|till|through|thru|and|-|\u2013|\u2014|\.\.)\s*", _FLAGS)
_RANGE_START = re.compile(r"\b(?:from|between)\s+\Z", _FLAGS)
_OPEN_BEFORE = re.compile(
    r"\b(?P<word>since|after|before|until|till|through|thru|up\s+(?:to|until)|prior\s+to|from"
    r"|starting(?:\s+(?:from|in|on|with))?)\s+\Z",
    _FLAGS,
)
_OPEN_AFTER = re.compile(
    r"\s+(?:(?P<later>onwards?|and\s+(?:later|after|beyond|onwards?)|or\s+later)"
    r"|(?:and|or)\s+(?:earlier|before))\b",
    _FLAGS,
)
_WRITTEN_YEAR = re.compile(rf"\b({YEAR})\b")
_AMOUNT_BEFORE = re.compile(r"(?:[$\u20ac\u00a3#]\s*|\b(?:top|than)\s+)\Z", _FLAGS)
_AMOUNT_AFTER = re.compile(
    r"[.,]\d|\s*(?:%|\$|\u20ac|\u00a3|k\b|(?:units?|items?|pieces?|pcs|dollars?|euros?|usd|eur|gbp)\b)",
    _FLAGS,
)
_ALL_TIME = re.compile(r"\b(all[\s-]time|ever|overall|in\s+total|of\s+all\s+time|whole\s+history)\b")
