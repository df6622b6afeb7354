"""The dashboard's link format: what a URL means, what is wrong with it, and back again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from chatdash.dashboard import export, formatting, state
from chatdash.errors import QueryError
from chatdash.sales import DateRange, QuerySpec, SalesAnswer, SalesFilter
from chatdash.sales.answer import dashboard_params

SPAN = DateRange(dt.date(2010, 1, 1), dt.date(2023, 12, 30))
KNOWN = state.Known(
    categories=("Electronics", "Office", "Stationery", "Sundry"),
    products=("Chair", "Desk", "Laptop", "Monitor", "Paper"),
)


def test_no_parameters_is_the_opening_view() -> None:
    view, notices = state.from_params({}, SPAN, KNOWN)
    assert view == state.default_view(SPAN)
    assert notices == []
    assert state.to_params(view, SPAN) == {}
    assert view.effective_granularity == "month"  # 14 years: automatic picks months


def test_every_parameter_round_trips() -> None:
    params = {
        "start": ["2019-01-01"],
        "end": ["2019-12-31"],
        "category": ["Sundry", "Office"],
        "product": ["Laptop", "Desk"],
        "granularity": ["day"],
        "chart": ["products"],
        "sort": ["oldest"],
        "rows": ["500"],
        "page": ["2000"],
    }
    view, notices = state.from_params(params, SPAN, KNOWN)
    assert notices == []
    assert view == state.View(
        dt.date(2019, 1, 1),
        dt.date(2019, 12, 31),
        categories=("Office", "Sundry"),  # in the data's order, whatever the link's
        products=("Desk", "Laptop"),
        granularity="day",
        chart="products",
        newest_first=False,
        page_size=500,
        page=2000,
    )
    in_order = {"category": ["Office", "Sundry"], "product": ["Desk", "Laptop"]}
    assert state.to_params(view, SPAN) == {**params, **in_order}
    assert state.filter_params(view, SPAN) == {
        "start": ["2019-01-01"],
        "end": ["2019-12-31"],
        **in_order,
        "sort": ["oldest"],
    }
    expected = SalesFilter(
        dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Office", "Sundry"), ("Desk", "Laptop")
    )
    assert view.sales_filter() == expected


def test_unusable_values_fall_back_and_say_so() -> None:
    params = {
        "start": ["2019-02-30"],
        "end": ["2031-01-01"],
        "category": ["Office", "Toys", "Office"],
        "product": ["Toaster", "Desk", "Lamp"],
        "granularity": ["year"],
        "chart": ["pie"],
        "sort": ["random"],
        "rows": ["7"],
        "page": ["0"],
    }
    view, notices = state.from_params(params, SPAN, KNOWN)
    assert view == state.View(SPAN.start, SPAN.end, ("Office",), ("Desk",))
    shown = [notice.shown for notice in notices]
    assert len(shown) == 10
    assert "'2019-02-30'" in shown[0] and "not a date" in shown[0]
    assert "2031-01-01" in shown[1] and "using 2023-12-30" in shown[1]
    assert "Unknown category 'Toys'" in shown[2]
    assert "Unknown product 'Toaster'" in shown[3]
    assert "Unknown product 'Lamp'" in shown[4]
    assert "'year'" in shown[5]
    assert "'0'" in shown[9] and "page 1" in shown[9]


def test_each_notice_says_what_to_fix_in_the_link() -> None:
    """The CSV export refuses a link the page repairs, with what to change (never "was ignored")."""
    params = {
        "start": ["2019-02-30"],
        "end": ["2031-01-01"],
        "category": ["Toys"],
        "granularity": ["year"],
        "rows": ["7"],
        "page": ["x"],
    }
    _, notices = state.from_params(params, SPAN, KNOWN)
    fixes = [notice.fix for notice in notices]
    assert fixes == [
        "The start date '2019-02-30' is not a date: write it as YYYY-MM-DD, e.g. start=2010-01-01.",
        "The end date 2031-01-01 is outside the data: choose one from 2010-01-01 to 2023-12-30.",
        "Unknown category 'Toys': use one of Electronics, Office, Stationery, Sundry "
        "(or leave category out for all).",
        "Granularity 'year' is not day, week or month: use one of those, or leave granularity out "
        "for the automatic one.",
        "Rows '7' is not one of 25, 50, 100, 500, 1000: use one of those.",
        "Page 'x' is not a page number: use a whole number from 1.",
    ]
    assert not any("ignored" in fix or "using" in fix for fix in fixes)


def test_names_in_a_link_are_matched_whatever_their_case() -> None:
    params = {"category": ["office", "SUNDRY", " Stationery "], "product": ["laptop", "dEsK"]}
    view, notices = state.from_params(params, SPAN, KNOWN)
    assert notices == []
    assert view.categories == ("Office", "Stationery", "Sundry")  # as the data spells them
    assert view.products == ("Desk", "Laptop")
    assert state.to_params(view, SPAN) == {
        "category": ["Office", "Stationery", "Sundry"],
        "product": ["Desk", "Laptop"],
    }


def test_the_page_of_rows_is_in_the_link_but_not_in_the_csv_link() -> None:
    view, notices = state.from_params({"page": ["1234"], "rows": ["25"]}, SPAN, KNOWN)
    assert (view.page, notices) == (1234, [])
    assert state.to_params(view, SPAN) == {"rows": ["25"], "page": ["1234"]}
    assert "page" not in state.filter_params(view, SPAN)  # the export sends every page
    first, _ = state.from_params({"page": ["1"]}, SPAN, KNOWN)
    assert first.page == 1 and "page" not in state.to_params(first, SPAN)  # the default is left out
    for bad in ("-3", "2.5", "²", "9" * 40):
        view, notices = state.from_params({"page": [bad]}, SPAN, KNOWN)
        assert view.page == 1 and len(notices) == 1, bad


@pytest.mark.parametrize(
    ("categories", "products"),
    [((), ("Laptop", "Desk")), (("Electronics",), ("Laptop",)), (("Office", "Sundry"), ())],
)
def test_a_chat_answers_link_opens_the_same_orders(
    categories: tuple[str, ...], products: tuple[str, ...]
) -> None:
    """What the chat links as "the same view in the dashboard" reads back as the answer's filter."""
    spec = QuerySpec(categories=categories, products=products, start=dt.date(2019, 1, 1), group_by="month")
    answer = SalesAnswer(spec, None, 0, "", span=DateRange(dt.date(2019, 1, 1), SPAN.end))
    params = dashboard_params(answer)
    assert params is not None
    assert params.get("product", []) == list(products)
    view, notices = state.from_params(params, SPAN, KNOWN)
    assert notices == []
    assert view.sales_filter() == SalesFilter(dt.date(2019, 1, 1), SPAN.end, categories, products)
    assert view.granularity == "month"
    assert dashboard_params(SalesAnswer(spec, None, 0, "")) is None  # no period of orders: no link


def test_auto_granularity_is_left_out_of_the_link() -> None:
    view, notices = state.from_params({"granularity": ["auto"]}, SPAN, KNOWN)
    assert (view.granularity, notices) == (None, [])
    short = state.View(dt.date(2020, 2, 10), dt.date(2020, 2, 20))
    assert short.effective_granularity == "day"
    assert "granularity" not in state.to_params(short, SPAN)


def test_end_before_start_is_swapped_and_said() -> None:
    view, notices = state.from_params({"start": ["2020-01-01"], "end": ["2019-01-01"]}, SPAN, KNOWN)
    assert (view.start, view.end) == (dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert view.sales_filter() == SalesFilter(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert [notice.shown for notice in notices] == [
        "The end date 2019-01-01 in the link is before the start date 2020-01-01: "
        "showing 2019-01-01 to 2020-01-01 (the two dates swapped)."
    ]
    assert notices[0].fix == (
        "The end date 2019-01-01 is before the start date 2020-01-01: "
        "swap them (start=2019-01-01&end=2020-01-01)."
    )
    assert state.to_params(view, SPAN) == {"start": ["2019-01-01"], "end": ["2020-01-01"]}


def test_a_view_still_refuses_an_end_before_its_start() -> None:
    with pytest.raises(QueryError, match="before start date"):
        state.View(dt.date(2020, 1, 1), dt.date(2019, 1, 1)).sales_filter()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # 365 days of 2019 -> the 365 days before: all of 2018.
        (dt.date(2019, 1, 1), dt.date(2019, 12, 31), (dt.date(2018, 1, 1), dt.date(2018, 12, 31))),
        (dt.date(2020, 3, 1), dt.date(2020, 3, 1), (dt.date(2020, 2, 29), dt.date(2020, 2, 29))),
        # Starts before the data but ends in it: still compared.
        (dt.date(2010, 3, 1), dt.date(2010, 12, 31), (dt.date(2009, 4, 29), dt.date(2010, 2, 28))),
        (SPAN.start, SPAN.end, None),  # the whole data set has nothing before it
        (dt.date(2010, 1, 1), dt.date(2010, 1, 31), None),
    ],
)
def test_previous_period(start: dt.date, end: dt.date, expected: tuple[dt.date, dt.date] | None) -> None:
    earlier = state.previous_period(SalesFilter(start, end, ("Office",), ("Desk",)), SPAN)
    if expected is None:
        assert earlier is None
    else:
        assert earlier == SalesFilter(*expected, ("Office",), ("Desk",))


def test_money_and_changes_are_exact() -> None:
    assert formatting.money(Decimal("28078697.04")) == "28,078,697.04"
    assert formatting.money(Decimal("0.5")) == "0.50"
    assert formatting.money(None) == "—"
    assert formatting.change(Decimal("110.10"), Decimal("100.00"), as_money=True) == "+10.10 (+10.1%)"
    assert formatting.change(Decimal("90"), Decimal("100.00"), as_money=True) == "-10.00 (-10.0%)"
    assert formatting.change(5, 0, as_money=False) == "+5"
    assert formatting.change(1_200, 1_250, as_money=False) == "-50 (-4.0%)"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (state.View(dt.date(2024, 1, 1), dt.date(2024, 3, 31)), "sales_2024-01-01_2024-03-31.csv"),
        (
            state.View(dt.date(2024, 1, 1), dt.date(2024, 3, 31), ("Office", "Sundry")),
            "sales_2024-01-01_2024-03-31_office_sundry.csv",
        ),
        (
            state.View(
                dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Electronics",), ("Coffee Maker", "Laptop")
            ),
            "sales_2019-01-01_2019-12-31_electronics_coffee-maker_laptop.csv",
        ),
        (
            state.View(SPAN.start, SPAN.end, products=("Chair", "Desk", "Laptop", "Monitor")),
            "sales_2010-01-01_2023-12-30_4-products.csv",
        ),
        (
            state.View(SPAN.start, SPAN.end, categories=("Café/Bar", "***")),
            "sales_2010-01-01_2023-12-30_caf-bar_x.csv",  # plain ASCII whatever the data's names
        ),
    ],
)
def test_the_csv_file_is_named_for_its_filters(view: state.View, expected: str) -> None:
    assert export.filename(view) == expected
