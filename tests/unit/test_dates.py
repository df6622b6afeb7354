"""Reading date expressions: every form read to its inclusive range, what is reported as unread instead
of being widened, and numbers that are no dates at all."""

from __future__ import annotations

import datetime as dt

import pytest

from chatdash.sales.dates import DateReading, Span, parse_dates, read_dates

D = dt.date
LAST = D(2023, 12, 30)  # a Saturday, the data's last order date
EARLY = D(2015, 2, 14)


def days(start: dt.date | None, end: dt.date | None = None) -> Span:
    return Span(start, start if end is None else end)


@pytest.mark.parametrize(
    ("text", "last", "span"),
    [
        # single days, as people write them
        ("June 26, 2011", LAST, days(D(2011, 6, 26))),
        ("june 26 2011", LAST, days(D(2011, 6, 26))),
        ("june 26th, 2011", LAST, days(D(2011, 6, 26))),
        ("26 June 2011", LAST, days(D(2011, 6, 26))),
        ("26th of June 2011", LAST, days(D(2011, 6, 26))),
        ("on the 26th of june, 2011", LAST, days(D(2011, 6, 26))),
        ("26-jun-2011", LAST, days(D(2011, 6, 26))),
        ("sept. 5, 2019", LAST, days(D(2019, 9, 5))),
        ("2011-06-26", LAST, days(D(2011, 6, 26))),
        ("2019/03/15", LAST, days(D(2019, 3, 15))),
        ("6/26/2011", LAST, days(D(2011, 6, 26))),
        ("6/26/11", LAST, days(D(2011, 6, 26))),
        ("26/6/2011", LAST, days(D(2011, 6, 26))),  # 26 cannot be a month: day first
        ("5/6/2011", LAST, days(D(2011, 5, 6))),  # ambiguous: US month/day
        ("06-26-2011", LAST, days(D(2011, 6, 26))),
        ("26.06.2011", LAST, days(D(2011, 6, 26))),
        ("5.6.2011", LAST, days(D(2011, 6, 5))),  # dots: day first
        ("on 2021-05-04", LAST, days(D(2021, 5, 4))),
        ("feb 29, 2016", LAST, days(D(2016, 2, 29))),
        # ranges between any two of those
        ("between June 26, 2011 and July 24, 2011", LAST, days(D(2011, 6, 26), D(2011, 7, 24))),
        ("from 2011-06-26 to 2011-07-24", LAST, days(D(2011, 6, 26), D(2011, 7, 24))),
        ("June 26 - July 24, 2011", LAST, days(D(2011, 6, 26), D(2011, 7, 24))),
        ("from 26 june to 24 july 2011", LAST, days(D(2011, 6, 26), D(2011, 7, 24))),
        ("6/26/2011-7/24/2011", LAST, days(D(2011, 6, 26), D(2011, 7, 24))),
        ("june 26-30, 2011", LAST, days(D(2011, 6, 26), D(2011, 6, 30))),
        ("december 20 - january 5, 2012", LAST, days(D(2011, 12, 20), D(2012, 1, 5))),
        ("from March 2019 to May 2019", LAST, days(D(2019, 3, 1), D(2019, 5, 31))),
        ("March to May 2019", LAST, days(D(2019, 3, 1), D(2019, 5, 31))),
        ("from may to july 2019", LAST, days(D(2019, 5, 1), D(2019, 7, 31))),
        ("March and April 2020", LAST, days(D(2020, 3, 1), D(2020, 4, 30))),
        ("from june 2011 to july", LAST, days(D(2011, 6, 1), D(2011, 7, 31))),
        ("between 2016 and 2018", LAST, days(D(2016, 1, 1), D(2018, 12, 31))),
        ("from 2017 to 2015", LAST, days(D(2015, 1, 1), D(2017, 12, 31))),
        ("2012-2013", LAST, days(D(2012, 1, 1), D(2013, 12, 31))),
        ("between q1 2019 and q3 2019", LAST, days(D(2019, 1, 1), D(2019, 9, 30))),
        ("between 2020-06-30 and 2020-01-01", LAST, days(D(2020, 1, 1), D(2020, 6, 30))),
        # months, quarters, halves
        ("March 2020", LAST, days(D(2020, 3, 1), D(2020, 3, 31))),
        ("feb 2016", LAST, days(D(2016, 2, 1), D(2016, 2, 29))),
        ("jan. 2020", LAST, days(D(2020, 1, 1), D(2020, 1, 31))),
        ("may of 2019", LAST, days(D(2019, 5, 1), D(2019, 5, 31))),
        ("2019-03", LAST, days(D(2019, 3, 1), D(2019, 3, 31))),
        ("03/2019", LAST, days(D(2019, 3, 1), D(2019, 3, 31))),
        ("march last year", LAST, days(D(2022, 3, 1), D(2022, 3, 31))),
        ("Q3 2021", LAST, days(D(2021, 7, 1), D(2021, 9, 30))),
        ("2021 q4", LAST, days(D(2021, 10, 1), D(2021, 12, 31))),
        ("q2 of 2016", LAST, days(D(2016, 4, 1), D(2016, 6, 30))),
        ("the first quarter of 2020", LAST, days(D(2020, 1, 1), D(2020, 3, 31))),
        ("the last quarter of last year", LAST, days(D(2022, 10, 1), D(2022, 12, 31))),
        ("first half of 2016", LAST, days(D(2016, 1, 1), D(2016, 6, 30))),
        ("H1 2016", LAST, days(D(2016, 1, 1), D(2016, 6, 30))),
        ("2016 H2", LAST, days(D(2016, 7, 1), D(2016, 12, 31))),
        ("second half of 2016", LAST, days(D(2016, 7, 1), D(2016, 12, 31))),
        ("the first half of the year 2016", LAST, days(D(2016, 1, 1), D(2016, 6, 30))),
        ("the second half of this year", LAST, days(D(2023, 7, 1), D(2023, 12, 31))),
        # years
        ("revenue 2019", LAST, days(D(2019, 1, 1), D(2019, 12, 31))),
        ("in 2019", LAST, days(D(2019, 1, 1), D(2019, 12, 31))),
        ("compare 2019 vs 2020", LAST, days(D(2019, 1, 1), D(2020, 12, 31))),
        ("during the olympics 2012", LAST, days(D(2012, 1, 1), D(2012, 12, 31))),
        # relative to the data's last day
        ("last year", LAST, days(D(2022, 1, 1), D(2022, 12, 31))),
        ("this year", LAST, days(D(2023, 1, 1), LAST)),
        ("the previous year", LAST, days(D(2022, 1, 1), D(2022, 12, 31))),
        ("last month", LAST, days(D(2023, 11, 1), D(2023, 11, 30))),
        ("this month", LAST, days(D(2023, 12, 1), LAST)),
        ("last quarter", LAST, days(D(2023, 7, 1), D(2023, 9, 30))),
        ("last quarter", EARLY, days(D(2014, 10, 1), D(2014, 12, 31))),
        ("this quarter", LAST, days(D(2023, 10, 1), LAST)),
        ("last week", LAST, days(D(2023, 12, 18), D(2023, 12, 24))),
        ("the last 30 days", LAST, days(D(2023, 12, 1), LAST)),
        ("in the last 7 days", LAST, days(D(2023, 12, 24), LAST)),
        ("past three months", LAST, days(D(2023, 10, 1), LAST)),
        ("last 2 quarters", LAST, days(D(2023, 7, 1), LAST)),
        ("last 2 years", LAST, days(D(2022, 1, 1), LAST)),
        ("year to date", LAST, days(D(2023, 1, 1), LAST)),
        ("ytd", EARLY, days(D(2015, 1, 1), EARLY)),
        ("month to date", LAST, days(D(2023, 12, 1), LAST)),
        ("MTD", EARLY, days(D(2015, 2, 1), EARLY)),
        # open ranges: since/from include the day, after/before exclude it, until/through include it
        ("since 2022", LAST, Span(D(2022, 1, 1), None)),
        ("since March 2019", LAST, Span(D(2019, 3, 1), None)),
        ("since 2019-03-15", LAST, Span(D(2019, 3, 15), None)),
        ("from 2019", LAST, Span(D(2019, 1, 1), None)),
        ("2019 onwards", LAST, Span(D(2019, 1, 1), None)),
        ("since the start of 2019", LAST, Span(D(2019, 1, 1), None)),
        ("since last year", LAST, Span(D(2022, 1, 1), None)),
        ("after 2019-03-15", LAST, Span(D(2019, 3, 16), None)),
        ("after 2019", LAST, Span(D(2020, 1, 1), None)),
        ("before 2012", LAST, Span(None, D(2011, 12, 31))),
        ("before march 2019", LAST, Span(None, D(2019, 2, 28))),
        ("prior to june 26, 2011", LAST, Span(None, D(2011, 6, 25))),
        ("until 2012", LAST, Span(None, D(2012, 12, 31))),
        ("until march 2019", LAST, Span(None, D(2019, 3, 31))),
        ("through may 2019", LAST, Span(None, D(2019, 5, 31))),
        ("up to the end of 2016", LAST, Span(None, D(2016, 12, 31))),
        ("2015 and earlier", LAST, Span(None, D(2015, 12, 31))),
        # nothing, or no anchor for a relative expression
        ("hello there", LAST, None),
        ("last year", None, None),
        ("this quarter", None, None),
    ],
)
def test_date_forms(text: str, last: dt.date | None, span: Span | None) -> None:
    reading = read_dates(text, last)
    assert reading.span == span
    assert reading.unread == ()
    assert parse_dates(text, last) == span


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("revenue between June 26, 2011 and July 24, 2011", ("between June 26, 2011 and July 24, 2011",)),
        ("sales since march 2019 by month", ("since march 2019",)),
        ("orders in q1 2019 vs q1 2020", ("q1 2019", "q1 2020")),
        ("units in the last 30 days", ("last 30 days",)),
        ("revenue 2019 onwards", ("2019 onwards",)),
    ],
)
def test_matched_are_the_exact_substrings_in_order(text: str, matched: tuple[str, ...]) -> None:
    assert read_dates(text, LAST).matched == matched


@pytest.mark.parametrize(
    ("text", "unread"),
    [
        ("sales in the first half of the decade", ("the first half of the decade",)),
        ("revenue in spring 2016", ("spring 2016",)),
        ("orders on 31 feb 2016", ("31 feb 2016",)),
        ("revenue on 13/45/2016", ("13/45/2016",)),
        ("revenue on 02/30/2016", ("02/30/2016",)),
        ("sales the week of christmas 2015", ("the week of christmas 2015",)),
        ("sales in March", ("March",)),
        ("sales on june 26", ("june 26",)),
        ("from march to may", ("from march to may",)),
        ("revenue in q1", ("q1",)),
        ("the first quarter", ("the first quarter",)),
        ("2016 q5", ("2016 q5",)),
        ("h3 2016", ("h3 2016",)),
        ("summer of 2016", ("summer of 2016",)),
        ("in fall 2016", ("in fall 2016",)),
        ("over the holidays", ("over the holidays",)),
        ("the second week of march 2016", ("the second week of march 2016",)),
        ("the last 3 months of 2016", ("the last 3 months of 2016",)),
        ("end of 2016", ("end of 2016",)),
        ("mid-2016", ("mid-2016",)),
        ("fiscal year 2016", ("fiscal year 2016",)),
        ("fy2016", ("fy2016",)),
        ("week 12 of 2016", ("week 12 of 2016",)),
        ("the 2010s", ("the 2010s",)),
        ("feb 30 - march 5, 2016", ("feb 30 - march 5, 2016",)),
        (
            "march and april vs 2019 and 2020",
            ("march", "april"),
        ),  # which year? ("and" joins only after "between")
        ("last 5000 years", ("last 5000 years",)),  # past the calendar
        ("after 9999-12-31", ("after 9999-12-31",)),
    ],
)
def test_what_is_not_understood_is_reported_not_widened(text: str, unread: tuple[str, ...]) -> None:
    reading = read_dates(text, LAST)
    assert reading.unread == unread
    assert not any(part in " ".join(reading.matched) for part in unread)


def test_an_unread_expression_keeps_its_year_from_widening_the_period() -> None:
    reading = read_dates("revenue in spring 2016 vs 2017", LAST)
    assert reading == DateReading(Span(D(2017, 1, 1), D(2017, 12, 31)), ("2017",), ("spring 2016",))


@pytest.mark.parametrize(
    "text",
    [
        "top 5 products",
        "10 products",
        "sales of 12 chairs",
        "revenue of the 2 categories",
        "orders with 100 units",
        "over 2000 units",
        "top 2000 products",
        "price 1999.99",
        "$2019 in revenue",
        "a 50/50 split",
        "1/2 of sales",
        "may i see the top 3 products",
        "the top 5 may surprise",
        "revenue by quarter",
        "half of the products",
        "how many days are in a week",
        "did sales fall?",
        "",
    ],
)
def test_numbers_and_words_that_are_no_dates(text: str) -> None:
    assert read_dates(text, LAST) == DateReading(None)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("top 5 products in march 2020", days(D(2020, 3, 1), D(2020, 3, 31))),
        ("top 3 weeks in q2 2016", days(D(2016, 4, 1), D(2016, 6, 30))),
        ("did sales fall in 2016", days(D(2016, 1, 1), D(2016, 12, 31))),
        ("which week of 2016 was best", days(D(2016, 1, 1), D(2016, 12, 31))),
        ("revenue per week in 2019", days(D(2019, 1, 1), D(2019, 12, 31))),
    ],
)
def test_counts_and_groupings_next_to_dates_are_left_alone(text: str, span: Span) -> None:
    assert read_dates(text, LAST) == DateReading(span, read_dates(text, LAST).matched)


@pytest.mark.parametrize(
    "text",
    [
        "0000-00-00",
        "99/99/99",
        "last 99999999999999999999 days",
        "since 2099-12-31",
        "q0 1900",
        "32 dec 2020",
    ],
)
def test_odd_input_never_raises(text: str) -> None:
    reading = read_dates(text, LAST)
    assert reading.span is None or reading.unread == ()
