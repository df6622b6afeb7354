"""``check_figures``: the model's words are shown only when every number in them is a figure of the
answer, a date of the query or a number of the question (DESIGN.md, "The figures a user reads")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from chatdash.sales.figure_check import FigureCheck, check_figures

D = dt.date
MINUS = "\u2212"  # the unicode minus sign, as typeset text writes it
TOTAL = Decimal("2008648.41")
YEAR_2019 = [D(2019, 1, 1), D(2019, 12, 31)]
MARCH_2019 = [D(2019, 3, 1), D(2019, 3, 31)]
MARCH_2020 = [D(2020, 3, 1), D(2020, 3, 31)]
MONTHS_2022 = [D(2022, 1, 1), D(2022, 12, 31)] + [D(2022, month, 1) for month in range(1, 13)]

# (text, keyword arguments of check_figures, the numbers it must reject)
ALLOWED: list[Any] = [
    pytest.param(
        "In 2019 revenue was 2,008,648.41.", {"figures": [TOTAL], "dates": YEAR_2019}, id="money-year"
    ),
    pytest.param("Revenue was 2008648.41 overall.", {"figures": [TOTAL]}, id="money-no-separators"),
    pytest.param("Revenue was $2,008,648.41.", {"figures": [TOTAL]}, id="money-dollar"),
    pytest.param("Revenue: USD 2,008,648.41", {"figures": [TOTAL]}, id="money-code-before"),
    pytest.param("Revenue: 2,008,648.41 USD", {"figures": [TOTAL]}, id="money-code-after"),
    pytest.param("Revenue: €2,008,648.41 and £2,008,648.41", {"figures": [TOTAL]}, id="money-euro-pound"),
    pytest.param("Revenue: 2\u2009008\u2009648.41", {"figures": [TOTAL]}, id="money-thin-spaces"),
    pytest.param("Revenue: 2\u202f008\u202f648.41", {"figures": [TOTAL]}, id="money-narrow-nbsp"),
    pytest.param(
        "The average was 321.4 per order.", {"figures": [Decimal("321.40")]}, id="money-one-decimal"
    ),
    pytest.param(
        "Exactly $100 in March.", {"figures": [Decimal("100.00")], "dates": MARCH_2019}, id="whole-money"
    ),
    pytest.param("There were 1,234 orders.", {"figures": [1234]}, id="count-separated"),
    pytest.param("There were 1234 orders.", {"figures": [1234]}, id="count-plain"),
    pytest.param("There were 2,008,648 orders.", {"figures": [2008648]}, id="count-large"),
    pytest.param("About 2 million orders.", {"figures": [2_000_000]}, id="scale-million-exact"),
    pytest.param("Roughly 2.0M orders.", {"figures": [2_000_000]}, id="scale-M-exact"),
    pytest.param("Some 2k orders.", {"figures": [2000]}, id="scale-k-exact"),
    pytest.param("A dozen orders.", {"figures": [12]}, id="a-dozen"),
    pytest.param("Office had 12.5% of revenue.", {"figures": [Decimal("12.5"), TOTAL]}, id="percent"),
    pytest.param("Office had 12.50 % of revenue.", {"figures": [Decimal("12.5")]}, id="percent-space"),
    pytest.param("Revenue changed by -1,234.50.", {"figures": [Decimal("-1234.50")]}, id="negative"),
    pytest.param(
        f"Revenue changed by {MINUS}1,234.50.", {"figures": [Decimal("-1234.50")]}, id="negative-unicode"
    ),
    pytest.param("Revenue changed by -$1,234.50.", {"figures": [Decimal("-1234.50")]}, id="negative-dollar"),
    pytest.param("Sales in 2019 were steady.", {"figures": [TOTAL], "dates": YEAR_2019}, id="year"),
    pytest.param("On 2019-03-31 it closed.", {"figures": [], "dates": MARCH_2019}, id="iso-date"),
    pytest.param("2019-03 was good.", {"figures": [], "dates": MARCH_2019}, id="iso-month"),
    pytest.param("2019-3 was good.", {"figures": [], "dates": MARCH_2019}, id="month-unpadded"),
    pytest.param("March 2019 was good.", {"figures": [], "dates": MARCH_2019}, id="month-name"),
    pytest.param("Mar 2019 was good.", {"figures": [], "dates": MARCH_2019}, id="month-abbreviated"),
    pytest.param("3/2019 was good.", {"figures": [], "dates": MARCH_2019}, id="month-slash"),
    pytest.param("On March 31, 2019 it closed.", {"figures": [], "dates": MARCH_2019}, id="written-date"),
    pytest.param("On 31 March 2019 it closed.", {"figures": [], "dates": MARCH_2019}, id="written-date-dmy"),
    pytest.param("On March 1st, 2019 it opened.", {"figures": [], "dates": MARCH_2019}, id="written-ordinal"),
    pytest.param("On 3/31/2019 it closed.", {"figures": [], "dates": MARCH_2019}, id="us-date"),
    pytest.param("Q1 2019 led.", {"figures": [], "periods": ["Q1 2019"]}, id="quarter-label"),
    pytest.param("Q1 led.", {"figures": [], "dates": MARCH_2019}, id="quarter-of-a-date"),
    pytest.param(
        "The week of 2019-03-04 led with 1,234.",
        {"figures": [1234], "periods": ["week of 2019-03-04"]},
        id="week-label",
    ),
    pytest.param("In 2019 and 2020.", {"figures": [], "periods": ["2019", "2020"]}, id="year-labels"),
    pytest.param("March 2019 led.", {"figures": [], "periods": ["2019-03"]}, id="month-label"),
    pytest.param("The top 5 products.", {"figures": [], "question": "top 5 products"}, id="question-top"),
    pytest.param(
        "In the last 30 days.", {"figures": [], "question": "revenue last 30 days"}, id="question-days"
    ),
    pytest.param(
        "In 2018 it was lower.", {"figures": [], "question": "compare with 2018"}, id="question-year"
    ),
    pytest.param(
        "Above 10% growth.", {"figures": [], "question": "which grew over 10%?"}, id="question-percent"
    ),
    pytest.param("The 2nd best was Desk.", {"figures": [], "question": "top 2 products"}, id="ordinal-asked"),
    pytest.param(
        "1. Laptop: 1,234\n2. Desk: 567\n  3) Pen: 89",
        {"figures": [1234, 567, 89]},
        id="list-markers",
    ),
    pytest.param("Laptops sold best; dozens of customers came back.", {"figures": [TOTAL]}, id="no-numbers"),
    pytest.param("Three products and five hundred orders.", {"figures": []}, id="number-words-not-read"),
]

REJECTED: list[Any] = [
    pytest.param(
        "The average order value of laptops in March 2020 was 3,859.47",
        {"figures": [Decimal("321.40")], "dates": MARCH_2020},
        ["3,859.47"],
        id="wrong-average",
    ),
    pytest.param(
        "Revenue was approximately $3.5 billion.", {"figures": [TOTAL]}, ["3.5 billion"], id="billions"
    ),
    pytest.param(
        "2021-3 was the best month", {"figures": [TOTAL], "dates": MONTHS_2022}, ["2021-3"], id="month"
    ),
    pytest.param("Revenue was 2,008,648.", {"figures": [TOTAL]}, ["2,008,648"], id="rounded-money"),
    pytest.param("Revenue was about 2 million.", {"figures": [TOTAL]}, ["2 million"], id="million"),
    pytest.param("Revenue was 2.0M.", {"figures": [TOTAL]}, ["2.0M"], id="M"),
    pytest.param("Revenue was $3.5bn.", {"figures": [TOTAL]}, ["3.5bn"], id="bn"),
    pytest.param("Average was 2k.", {"figures": [Decimal("2008.64")]}, ["2k"], id="k"),
    pytest.param("Over a million in sales.", {"figures": [TOTAL]}, ["a million"], id="a-million"),
    pytest.param("Revenue was 2,008,648.42.", {"figures": [TOTAL]}, ["2,008,648.42"], id="one-cent-over"),
    pytest.param("Revenue was 2,008,648.40.", {"figures": [TOTAL]}, ["2,008,648.40"], id="one-cent-under"),
    pytest.param(
        "Average was about 3,859.", {"figures": [Decimal("3859.47")]}, ["3,859"], id="rounded-average"
    ),
    pytest.param("Orders: 1,235.", {"figures": [1234]}, ["1,235"], id="count-off-by-one"),
    pytest.param(
        "Office had 12% of revenue.", {"figures": [Decimal("12.5")]}, ["12%"], id="percent-invented"
    ),
    pytest.param("Office had 12.5% of revenue.", {"figures": [TOTAL]}, ["12.5%"], id="percent-absent"),
    pytest.param("Office grew 25%.", {"figures": [25]}, ["25%"], id="percent-of-a-count"),
    pytest.param("Growth of 3 per cent.", {"figures": [TOTAL]}, ["3 per cent"], id="per-cent"),
    pytest.param("Revenue was 1,234.50.", {"figures": [Decimal("-1234.50")]}, ["1,234.50"], id="sign-lost"),
    pytest.param("Revenue was -1,234.50.", {"figures": [Decimal("1234.50")]}, ["-1,234.50"], id="sign-added"),
    pytest.param(
        "In 2018 revenue was 2,008,648.41.", {"figures": [TOTAL], "dates": YEAR_2019}, ["2018"], id="year"
    ),
    pytest.param("March 2021 led.", {"figures": [], "dates": MONTHS_2022}, ["March 2021"], id="month-name"),
    pytest.param("2019-04 led.", {"figures": [], "dates": MARCH_2019}, ["2019-04"], id="iso-month-outside"),
    pytest.param(
        "On March 15, 2019 it peaked.", {"figures": [], "dates": MARCH_2019}, ["March 15, 2019"], id="day"
    ),
    pytest.param(
        "On 2019-03-15 it peaked.", {"figures": [], "dates": MARCH_2019}, ["2019-03-15"], id="iso-day"
    ),
    pytest.param(
        "On 2019-02-30 it peaked.", {"figures": [], "dates": MARCH_2019}, ["2019-02-30"], id="no-such-day"
    ),
    pytest.param("Q2 2019 led.", {"figures": [], "dates": MARCH_2019}, ["Q2 2019"], id="quarter"),
    pytest.param(
        "The 2nd best was Desk.", {"figures": [], "question": "top 3 products"}, ["2nd"], id="ordinal"
    ),
    pytest.param("The top 5 products.", {"figures": [], "question": "top 3 products"}, ["5"], id="not-asked"),
    pytest.param("1.5 million orders", {"figures": [1234]}, ["1.5 million"], id="not-a-list-marker"),
    pytest.param("It grew 3,5 times.", {"figures": [Decimal("3.5")]}, ["3", "5"], id="decimal-comma"),
    pytest.param("Revenue grew 2.5x.", {"figures": [TOTAL]}, ["2.5"], id="multiplier"),
    pytest.param(
        "In 2019 Laptop made 2,008,648.41, about 2 million, in 2021-3.",
        {"figures": [TOTAL], "dates": YEAR_2019},
        ["2 million", "2021-3"],
        id="mixed",
    ),
]


@pytest.mark.parametrize(("text", "kwargs"), ALLOWED)
def test_allowed(text: str, kwargs: dict[str, Any]) -> None:
    result = check_figures(text, **kwargs)
    assert result.rejected == ()
    assert result.ok
    assert result.reason == ""


@pytest.mark.parametrize(("text", "kwargs", "rejected"), REJECTED)
def test_rejected(text: str, kwargs: dict[str, Any], rejected: list[str]) -> None:
    result = check_figures(text, **kwargs)
    assert result.rejected == tuple(rejected)
    assert not result.ok
    assert result.reason == "numbers not in the answer: " + ", ".join(rejected)


def test_numbers_are_listed_as_written_without_currency_signs_or_list_markers() -> None:
    text = (
        f"1. In March 2019 Laptop made $2,008,648.41 ({MINUS}1,234.50, 12.5%, 3.5 billion) on 2019-03-05.\n"
        "2) the 2nd"
    )
    result = check_figures(text, figures=[TOTAL])
    assert result.numbers == (
        "March 2019",
        "2,008,648.41",
        f"{MINUS}1,234.50",
        "12.5%",
        "3.5 billion",
        "2019-03-05",
        "2nd",
    )
    assert result.rejected == ("March 2019", f"{MINUS}1,234.50", "12.5%", "3.5 billion", "2019-03-05", "2nd")


def test_reason_names_each_rejected_number_once() -> None:
    result = check_figures("3.5 billion, then 3.5 billion again in 2021-3", figures=[TOTAL])
    assert result.rejected == ("3.5 billion", "3.5 billion", "2021-3")
    assert result.reason == "numbers not in the answer: 3.5 billion, 2021-3"


def test_day_of_month_is_read_as_part_of_an_allowed_date() -> None:
    result = check_figures("On March 5, 2019 the 5 best days began.", figures=[], dates=[D(2019, 3, 5)])
    assert result.numbers == ("March 5, 2019", "5")
    assert result.rejected == ("5",)


def test_none_figures_are_skipped_and_datetimes_are_dates() -> None:
    when = dt.datetime(2019, 3, 5, 12, 30)
    result = check_figures("On 2019-03-05: 1,234 orders.", figures=[None, 1234], dates=[when])
    assert result == FigureCheck(ok=True, numbers=("2019-03-05", "1,234"), rejected=())


def test_a_text_without_numbers_passes() -> None:
    assert check_figures("", figures=[]) == FigureCheck(ok=True, numbers=(), rejected=())
