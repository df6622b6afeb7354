"""Whether a model's sentence may be shown next to a sales answer: every number in it must be a figure.

The model phrases; the database counts. A small model asked to comment on "2,008,648.41" writes
"approximately $3.5 billion", calls a month of 2022 "2021-3", or quotes 3,859.47 for an average of
321.40. The reply itself is rendered from the query result; ``check_figures`` decides whether the
model's words may be shown beside it, by reading every number-like token in them and allowing only:

- a figure of the answer (``figures``), equal in value, in any way a person or the card writes it:
  "2,008,648.41", "2008648.41", "$2,008,648.41", "1,234" or "1234" for the count 1234, "2 million"
  for 2000000. Rounding is a different figure: "2,008,648" or "2 million" for 2,008,648.41 is refused;
  "12.5%" only when ``Decimal("12.5")`` is a figure (percentages match ``Decimal`` figures only);
- a calendar reference of the query (``dates``: its start and end and each row's period start;
  ``periods``: the period labels the card shows, "2019", "2019-03", "Q1 2019", "week of 2019-03-04"):
  a year of one of them, an ISO date equal to one, a month ("2019-03", "2019-3", "March 2019",
  "Mar 2019", "3/2019") or a quarter ("Q1 2019") holding one, or a written date equal to one
  ("March 5, 2019", "5 March 2019"; its day is part of the date, not a number of its own);
- a number the user wrote in ``question`` ("top 5", "last 30 days"), compared by value.

What a caller must know:

- Only "." is a decimal separator; "," and thin or no-break spaces separate thousands, so "3,5" is two
  numbers (3 and 5) and "1,234" is one. Currency signs ($ € £) and codes (USD) are not part of a number.
- Scales after a digit are read ("2k", "2.0M", "3.5 billion", "2 dozen", "$3.5bn"), as are "a dozen",
  "a hundred", "a thousand", "a million", "a billion". Other number words ("three", "five hundred")
  and vague quantities ("dozens", "millions of") are not read: such a reply passes this check.
- Ordinals are numbers ("the 2nd best" is 2). "1." or "2)" opening a line of a numbered list is not.
- Values are compared, not meanings: a count written with a "$" or a figure of one row quoted for
  another passes. The check refuses invented numbers; it does not prove a sentence right.
- Pure and fast (one regular-expression pass; a 500-word text takes a fraction of a millisecond).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_ORD = r"(?:st|nd|rd|th)"
_SEP = "[,\u2009\u202f\u00a0]"  # thousands: comma, thin space, narrow and plain no-break space
_NO_SEPARATORS = str.maketrans("", "", ",\u2009\u202f\u00a0")
_SCALES = {
    "hundred": 100,
    "dozen": 12,
    "thousand": 1000,
    "k": 1000,
    "million": 10**6,
    "mn": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
    "trillion": 10**12,
}

# One alternative per kind of token, each wrapped in an outer named group (``match.lastgroup`` names
# it), sorted by first character (a list marker, a word, a digit or sign); at a given position the
# first alternative that matches wins, so dates come before numbers.
_TOKEN = re.compile(
    rf"""
    (?P<list>^[ \t]*\d{{1,2}}[.)](?=[ \t]))
    | (?=[jfmasondq])\b(?:
        (?P<mdy>(?P<mdy_m>{_MON})\s*(?P<mdy_d>{_DAY}){_ORD}?(?:,\s*|\s+)(?P<mdy_y>\d{{4}})(?!\d))
        | (?P<my>(?P<my_m>{_MON}),?(?:\s+of)?\s*(?P<my_y>\d{{4}})(?!\d))
        | (?P<md>(?P<md_m>{_MON})(?:\s+the)?\s*(?P<md_d>{_DAY}){_ORD}?(?![\w%]|{_SEP}\d|\.\d))
        | (?P<q>Q(?P<q_q>[1-4])\b(?:[\s-]*(?:of\s+)?(?P<q_y>\d{{4}})(?!\d))?)
        | (?P<aword>a\s+(?P<a_w>dozen|hundred|thousand|million|billion|trillion)\b)
    )
    | (?=[\d$€£\-\u2212])(?:
        (?P<dmy>(?<!\d)(?P<dmy_d>{_DAY}){_ORD}?\s+(?:of\s+)?(?P<dmy_m>{_MON}),?\s+(?P<dmy_y>\d{{4}})(?!\d))
        | (?P<yq>(?<!\d)(?P<yq_y>\d{{4}})[\s-]?Q(?P<yq_q>[1-4])\b)
        | (?P<iso>(?<!\d)(?P<iso_y>\d{{4}})(?P<iso_s>[-/])(?P<iso_m>\d{{1,2}})
            (?P=iso_s)(?P<iso_d>\d{{1,2}})(?!\d))
        | (?P<ym>(?<!\d)(?P<ym_y>\d{{4}})[-/](?P<ym_m>0?[1-9]|1[0-2])(?![\d/]))
        | (?P<slash>(?<![\d/])(?P<sl_a>\d{{1,2}})/(?P<sl_b>\d{{1,2}})/(?P<sl_y>\d{{4}})(?!\d))
        | (?P<mys>(?<![\d/])(?P<mys_m>0?[1-9]|1[0-2])/(?P<mys_y>\d{{4}})(?!\d))
        | (?P<num>
            (?:(?<![\w.,\-\u2212])(?P<n_sign>[-\u2212]))?
            (?:[$€£][ \u00a0]?)?
            (?<!\d)(?P<n_int>\d{{1,3}}(?:{_SEP}\d{{3}})+(?!\d)|\d+)(?P<n_frac>\.\d+)?
            (?:
                (?P<n_pct>\s?%|\s+per\s?cent\b)
                | (?P<n_scale>\s*(?:hundred|dozen|thousand|million|billion|trillion|bn|mn)\b|[kmb]\b)
                | {_ORD}\b
            )?
        )
    )
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


class _Token(NamedTuple):
    text: str
    kind: str
    """One of "num", "pct", "day", "month", "quarter", "monthday"."""
    value: Decimal = Decimal(0)
    year: int | None = None
    """For "num": the year a plain four-digit integer may be; else the token's year."""
    part: int = 0
    """The month ("month", "monthday") or the quarter ("quarter")."""
    day: int = 0
    dates: tuple[dt.date, ...] = ()
    """For "day": the dates it may mean (none when it is no valid date; two for an ambiguous 3/5/2019)."""


@dataclass(frozen=True, slots=True)
class FigureCheck:
    """The verdict on one text: ``ok`` when every number in it is allowed."""

    ok: bool
    numbers: tuple[str, ...]
    """Every number-like token found in the text, in order, as written (without currency signs)."""
    rejected: tuple[str, ...]
    """The tokens not allowed, in order (a token repeated in the text is repeated here)."""

    @property
    def reason(self) -> str:
        """Empty when ok, else e.g. "numbers not in the answer: 3.5 billion, 2021-3" (each token once)."""
        if self.ok:
            return ""
        return "numbers not in the answer: " + ", ".join(dict.fromkeys(self.rejected))


def check_figures(
    text: str,
    *,
    figures: Iterable[Decimal | int | None],
    dates: Iterable[dt.date] = (),
    periods: Iterable[str] = (),
    question: str = "",
) -> FigureCheck:
    """Read every number in ``text`` and allow only those of the answer (see the module docstring).

    ``figures``: the answer's exact values (the total, every row's value, any other figure it shows);
    ``None`` (no orders to average) is skipped. ``dates``: the query's start and end and each row's
    period start. ``periods``: the period labels the card shows. ``question``: the user's words.
    """
    allowed = _Allowed()
    for figure in figures:
        allowed.add_figure(figure)
    for day in dates:
        allowed.add_date(day)
    for label in periods:
        for token in _tokens(label):
            allowed.add_calendar(token)
    for token in _tokens(question):
        allowed.add_asked(token)
    numbers: list[str] = []
    rejected: list[str] = []
    for token in _tokens(text):
        numbers.append(token.text)
        if not allowed.allows(token):
            rejected.append(token.text)
    return FigureCheck(ok=not rejected, numbers=tuple(numbers), rejected=tuple(rejected))


@dataclass(slots=True)
class _Allowed:
    values: set[Decimal] = field(default_factory=set)
    percents: set[Decimal] = field(default_factory=set)
    asked: set[Decimal] = field(default_factory=set)
    asked_percents: set[Decimal] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    months: set[tuple[int, int]] = field(default_factory=set)
    quarters: set[tuple[int, int]] = field(default_factory=set)
    days: set[dt.date] = field(default_factory=set)
    monthdays: set[tuple[int, int]] = field(default_factory=set)

    def add_figure(self, figure: Decimal | int | None) -> None:
        if figure is None or isinstance(figure, bool):
            return
        value = Decimal(figure)
        if value.is_finite():
            self.values.add(value)  # Decimal("1.10") == Decimal("1.1") == ... and hashes alike
            if isinstance(figure, Decimal):
                self.percents.add(value)

    def add_date(self, day: dt.date) -> None:
        day = dt.date(day.year, day.month, day.day)  # a datetime compares unequal to its date
        self.days.add(day)
        self.monthdays.add((day.month, day.day))
        self.add_month(day.year, day.month)

    def add_month(self, year: int, month: int) -> None:
        self.months.add((year, month))
        self.quarters.add((year, (month - 1) // 3 + 1))
        self.years.add(year)

    def add_calendar(self, token: _Token) -> None:
        """A period label's (or the question's) calendar references; other numbers in it are ignored."""
        if token.kind == "num" and token.year is not None:
            self.years.add(token.year)
        elif token.kind == "day":
            for day in token.dates:
                self.add_date(day)
        elif token.kind == "month" and token.year is not None:
            self.add_month(token.year, token.part)
        elif token.kind == "quarter" and token.year is not None:
            self.quarters.add((token.year, token.part))
            self.years.add(token.year)
        elif token.kind == "monthday":
            self.monthdays.add((token.part, token.day))

    def add_asked(self, token: _Token) -> None:
        if token.kind == "num":
            self.asked.add(token.value)
        elif token.kind == "pct":
            self.asked_percents.add(token.value)
        else:
            self.add_calendar(token)

    def allows(self, token: _Token) -> bool:
        kind = token.kind
        if kind == "num":
            return token.value in self.values or token.value in self.asked or token.year in self.years
        if kind == "pct":
            return token.value in self.percents or token.value in self.asked_percents
        if kind == "day":
            return any(day in self.days for day in token.dates)
        if kind == "month":
            return (token.year, token.part) in self.months
        if kind == "quarter":
            if token.year is None:
                return any(quarter == token.part for _, quarter in self.quarters)
            return (token.year, token.part) in self.quarters
        # "monthday": "March 5" without a year; "In March 5 laptops sold" reads as the number 5 too.
        day = Decimal(token.day)
        return (token.part, token.day) in self.monthdays or day in self.values or day in self.asked


def _tokens(text: str) -> Iterator[_Token]:
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "list":
            continue
        written = match.group()
        g = match.group
        if kind == "num":
            yield _number(match)
        elif kind == "mdy":
            yield _date(written, int(g("mdy_y")), _month(g("mdy_m")), int(g("mdy_d")))
        elif kind == "dmy":
            yield _date(written, int(g("dmy_y")), _month(g("dmy_m")), int(g("dmy_d")))
        elif kind == "iso":
            yield _date(written, int(g("iso_y")), int(g("iso_m")), int(g("iso_d")))
        elif kind == "slash":  # 3/5/2019: March 5 or 3 May; allowed if either is a date of the query
            a, b, year = int(g("sl_a")), int(g("sl_b")), int(g("sl_y"))
            both = _valid(year, a, b) + _valid(year, b, a)
            yield _Token(written, "day", dates=tuple(dict.fromkeys(both)))
        elif kind == "my":
            yield _Token(written, "month", year=int(g("my_y")), part=_month(g("my_m")))
        elif kind == "ym":
            yield _Token(written, "month", year=int(g("ym_y")), part=int(g("ym_m")))
        elif kind == "mys":
            yield _Token(written, "month", year=int(g("mys_y")), part=int(g("mys_m")))
        elif kind == "md":
            yield _Token(written, "monthday", part=_month(g("md_m")), day=int(g("md_d")))
        elif kind == "q":
            quarter_year = g("q_y")
            yield _Token(
                written, "quarter", year=int(quarter_year) if quarter_year else None, part=int(g("q_q"))
            )
        elif kind == "yq":
            yield _Token(written, "quarter", year=int(g("yq_y")), part=int(g("yq_q")))
        else:  # "aword": "a dozen", "a million"
            yield _Token(written, "num", value=Decimal(_SCALES[g("a_w").lower()]))


def _number(match: re.Match[str]) -> _Token:
    sign, digits, fraction, scale, percent = match.group("n_sign", "n_int", "n_frac", "n_scale", "n_pct")
    written = (sign or "") + match.string[match.start("n_int") : match.end()]
    value = Decimal(digits.translate(_NO_SEPARATORS) + (fraction or ""))
    if scale:
        value *= _SCALES[scale.strip().lower()]
    if sign:
        value = -value
    if percent:
        return _Token(written, "pct", value)
    plain = len(digits) == 4 and not (sign or fraction or scale)  # "2019" may be a year; "2,019" not
    return _Token(written, "num", value, int(digits) if plain else None)


def _month(name: str) -> int:
    return _MONTHS[name[:3].lower()]


def _valid(year: int, month: int, day: int) -> tuple[dt.date, ...]:
    try:
        return (dt.date(year, month, day),)
    except ValueError:
        return ()


def _date(written: str, year: int, month: int, day: int) -> _Token:
    """A written date; an impossible one ("2019-02-30") is a token no date of the query allows."""
    return _Token(written, "day", dates=_valid(year, month, day))


__all__ = ["FigureCheck", "check_figures"]
