"""The revenue-over-time chart: periods the date range cuts are marked, not drawn as drops."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from chatdash.dashboard import charts
from chatdash.sales import PeriodRevenue


def weeks(*mondays_and_revenue: tuple[str, int]) -> list[PeriodRevenue]:
    return [PeriodRevenue(dt.date.fromisoformat(d), Decimal(r), r // 10) for d, r in mondays_and_revenue]


def trace(figure: Any, index: int) -> dict[str, Any]:
    data: dict[str, Any] = figure.to_dict()["data"][index]
    return data


def test_cut_first_and_last_weeks_are_a_marked_trace_of_their_own() -> None:
    # Wednesday 2020-01-08 to Tuesday 2020-01-28: its first and last weeks hold 5 and 2 of 7 days.
    points = weeks(("2020-01-06", 500), ("2020-01-13", 700), ("2020-01-20", 690), ("2020-01-27", 200))
    figure = charts.revenue_over_time(points, "week", dt.date(2020, 1, 8), dt.date(2020, 1, 28))
    full = trace(figure, 0)
    assert [str(x)[:10] for x in full["x"]] == ["2020-01-13", "2020-01-20"]  # the solid line: whole weeks
    assert [row[0] for row in full["customdata"]] == ["week of 2020-01-13", "week of 2020-01-20"]

    cut = trace(figure, 1)
    assert cut["name"] == "Partial week (the date range cuts it)"
    assert cut["line"]["dash"] == "dot" and cut["marker"]["symbol"] == "circle-open"
    # Each cut week joined by a dotted segment to its whole neighbour; None breaks between the two.
    assert [str(x)[:10] if x else None for x in cut["x"]] == [
        "2020-01-06",
        "2020-01-13",
        None,
        "2020-01-20",
        "2020-01-27",
        None,
    ]
    labels = [row[0] if row else None for row in cut["customdata"]]
    assert labels[0] == "week of 2020-01-06 (partial: 5 of 7 days)"
    assert labels[4] == "week of 2020-01-27 (partial: 2 of 7 days)"
    assert list(cut["marker"]["size"]) == [9, 0, 0, 0, 9, 0]  # hollow circles on the cut weeks only
    assert figure.layout.showlegend is True
    # Nothing is left out: every period's revenue is still on the chart.
    assert sorted(cut["y"][i] for i in (0, 4)) + sorted(full["y"]) == [200.0, 500.0, 690.0, 700.0]


def test_whole_periods_are_one_plain_line() -> None:
    points = weeks(("2020-01-06", 500), ("2020-01-13", 700))
    figure = charts.revenue_over_time(points, "week", dt.date(2020, 1, 6), dt.date(2020, 1, 19))
    assert len(figure.data) == 1 and figure.layout.showlegend is False
    days = [PeriodRevenue(dt.date(2020, 1, 8), Decimal(5), 1)]
    assert len(charts.revenue_over_time(days, "day", dt.date(2020, 1, 8), dt.date(2020, 1, 8)).data) == 1


def test_cut_months() -> None:
    points = [
        PeriodRevenue(dt.date(2019, 1, 1), Decimal(10), 1),
        PeriodRevenue(dt.date(2019, 2, 1), Decimal(20), 2),
        PeriodRevenue(dt.date(2019, 3, 1), Decimal(30), 3),
    ]
    figure = charts.revenue_over_time(points, "month", dt.date(2019, 1, 1), dt.date(2019, 3, 30))
    assert [row[0] for row in trace(figure, 0)["customdata"]] == ["2019-01", "2019-02"]
    assert trace(figure, 1)["customdata"][1][0] == "2019-03 (partial: 30 of 31 days)"
    assert charts.days_in_range(dt.date(2020, 2, 1), "month", dt.date(2020, 2, 10), dt.date(2020, 5, 1)) == (
        20,
        29,
    )
    assert (
        charts.days_in_range(dt.date(2020, 2, 1), "month", dt.date(2020, 1, 1), dt.date(2020, 5, 1)) is None
    )


def test_a_range_inside_one_week_is_one_marked_point() -> None:
    points = weeks(("2020-01-06", 300))
    figure = charts.revenue_over_time(points, "week", dt.date(2020, 1, 7), dt.date(2020, 1, 9))
    assert trace(figure, 0)["x"] == () or list(trace(figure, 0)["x"]) == []
    assert trace(figure, 1)["customdata"][0][0] == "week of 2020-01-06 (partial: 3 of 7 days)"
