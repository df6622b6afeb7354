"""The dashboard's link format: what a URL means, what is wrong with it, and back again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from chatdash.dashboard import formatting, state
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
        "product": ["Toaster", "Desk", "laptop"],
        "granularity": ["year"],
        "chart": ["pie"],
        "sort": ["random"],
        "rows": ["7"],
    }
    view, notices = state.from_params(params, SPAN, KNOWN)
    assert view == state.View(SPAN.start, SPAN.end, ("Office",), ("Desk",))
    assert len(notices) == 9
    assert "'2019-02-30'" in notices[0] and "not a date" in notices[0]
    assert "2031-01-01" in notices[1] and "using 2023-12-30" in notices[1]
    assert "Unknown category 'Toys'" in notices[2]
    assert "Unknown product 'Toaster'" in notices[3]
    assert "Unknown product 'laptop'" in notices[4]  # names are matched exactly, as the data spells them
    assert "'year'" in notices[5]


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


def test_end_before_start_is_kept_for_the_page_to_refuse() -> None:
    view, notices = state.from_params({"start": ["2020-01-01"], "end": ["2019-01-01"]}, SPAN, KNOWN)
    assert notices == []
    with pytest.raises(QueryError, match="before start date"):
        view.sales_filter()


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
