"""The Sales page as Streamlit runs it (AppTest), against real databases.

Every figure is checked against an independent Polars computation over the rows that were loaded
(``sample_frame``), on SQLite and on PostgreSQL; the messages for an empty table, a database
that is not initialised and one that does not answer are checked on the page. The page's CSV link
is followed through the export route to check that the file holds the rows the page shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from chatdash.config import get_settings
from chatdash.dashboard import APP_PATH, export, formatting, state
from chatdash.db.engine import _cached_engine, get_engine
from chatdash.sales.generator import generate
from chatdash.sales.loader import load_frames
from tests.conftest import SAMPLE_ROWS, Database, dashboard_url, pick

OpenApp = Callable[..., AppTest]

# -- the independent side --------------------------------------------------------------------


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:,.2f}"


def figures(rows: pl.DataFrame) -> list[str]:
    """The four metric values as the page must show them."""
    revenue, orders = int(rows["revenue"].sum()), rows.height
    if not orders:
        return ["0.00", "0", "—", "—"]
    average = (Decimal(revenue) / orders).quantize(Decimal(1), ROUND_HALF_UP)
    by_category = rows.group_by("categories").agg(pl.col("revenue").sum())
    top = by_category.sort(["revenue", "categories"], descending=[True, False])["categories"][0]
    return [money(revenue), f"{orders:,}", money(int(average)), top]


def shown(page: AppTest) -> list[str]:
    return [metric.value for metric in page.metric]


def chart(page: AppTest) -> dict[str, Any]:
    """The one Plotly figure on the page (only the open tab draws one)."""
    charts = page.get("plotly_chart")
    assert len(charts) == 1
    figure: dict[str, Any] = json.loads(charts[0].proto.spec)
    return figure


def plotted(page: AppTest) -> list[list[str]]:
    """Every period on the revenue chart, oldest first: the whole ones (trace 0, a solid line) and
    those the date range cuts (trace 1, marked: hollow, dotted, "(partial: N of M days)" on hover)."""
    figure = chart(page)
    points = list(zip(figure["data"][0]["x"], figure["data"][0]["customdata"], strict=True))
    if len(figure["data"]) > 1:
        cut = figure["data"][1]
        marked = zip(cut["x"], cut["customdata"], cut["marker"]["size"], strict=True)
        points += [(x, data) for x, data, size in marked if size]
    return [data for _, data in sorted(points)]


def caption_with(page: AppTest, text: str) -> str:
    return next(c.value for c in page.caption if text in c.value)


def problems(page: AppTest) -> list[str]:
    return [e.value for e in page.exception]


def download(page: AppTest) -> list[list[str]]:
    """Follow the page's CSV link (no base path under AppTest) through the export route: the rows."""
    with TestClient(Starlette(routes=export.routes(None))) as http:
        response = http.get(page.link_button[0].proto.url)
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text)))[1:]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenApp]:
    """Open the page on a database, with a link's query parameters; caches start empty.

    AppTest runs the script in this process, so Streamlit's caches and our settings/engine
    caches would otherwise carry one test's database into the next.
    """

    def reset() -> None:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_settings.cache_clear()
        _cached_engine.cache_clear()

    def open_(url: str, **params: str | list[str]) -> AppTest:
        monkeypatch.setenv("CHATDASH_DATABASE_URL", url)
        monkeypatch.setenv("CHATDASH_AUTH", "open")  # AppTest sends no cookies (sign-in: test_dashboard_auth)
        reset()
        page = AppTest.from_file(str(APP_PATH), default_timeout=60)
        for name, value in params.items():
            page.query_params[name] = value
        return page.run()

    reset()
    yield open_
    get_engine(get_settings()).dispose()
    reset()


# -- the opening view and links --------------------------------------------------------------


def test_opening_view_is_the_whole_data_set(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(dashboard_url(loaded))
    assert problems(page) == [] and [e.value for e in page.error] == []
    everything = pick(sample_frame)
    assert shown(page) == figures(everything)
    assert [metric.proto.delta for metric in page.metric] == ["", "", "", ""]  # nothing before the data
    first, last = sample_frame["order_date"].min(), sample_frame["order_date"].max()
    assert page.date_input(key="dates").value == (first, last)
    assert page.multiselect(key="categories").value == []
    assert page.query_params == {}  # the opening view's link is the bare URL

    figure = chart(page)  # the first tab: revenue per month, automatic for 14 years
    monthly = (
        everything.group_by(pl.col("order_date").dt.strftime("%Y-%m").alias("month"))
        .agg(pl.col("revenue").sum(), pl.len().alias("orders"))
        .sort("month")
    )
    assert figure["layout"]["title"]["text"] == "Revenue per month"
    points = plotted(page)
    assert [[label.split(" (partial")[0], *rest] for label, *rest in points] == [
        [m, money(r), f"{n:,}"] for m, r, n in monthly.iter_rows()
    ]
    # The months the data starts or ends inside are marked as cut; every other one is whole.
    ends_inside = (last + dt.timedelta(days=1)).month == last.month
    cut = [f"{first:%Y-%m}"] * (first.day != 1) + [f"{last:%Y-%m}"] * ends_inside
    assert [label.split(" (partial")[0] for label, *_ in points if "(partial" in label] == cut

    assert caption_with(page, "Rows").startswith(f"Rows 1 to 50 of {SAMPLE_ROWS:,} · page 1 of 600")
    newest = everything.sort(["order_date", "order_id"], descending=True).head(50)
    table = page.dataframe[0].value
    assert table["order_id"].tolist() == newest["order_id"].to_list()
    assert table["total"].tolist() == [money(c) for c in newest["total_cents"]]
    assert page.link_button[0].proto.url == "/export/sales.csv"


def test_a_link_reproduces_a_filtered_view(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    link = {
        "start": "2019-01-01",
        "end": "2019-12-31",
        "category": ["Office", "Sundry"],
        "chart": "category",
        "sort": "oldest",
        "rows": "25",
        "utm_source": "mail",  # not ours: left alone
    }
    page = open_app(dashboard_url(loaded), **link)
    assert problems(page) == [] and list(page.warning) == []
    rows = pick(sample_frame, dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Office", "Sundry"))
    assert shown(page) == figures(rows)
    assert page.date_input(key="dates").value == (dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    assert page.multiselect(key="categories").value == ["Office", "Sundry"]
    assert page.query_params == link

    # The change against the 365 days before (all of 2018), from the rows themselves.
    before = pick(sample_frame, dt.date(2018, 1, 1), dt.date(2018, 12, 31), ("Office", "Sundry"))
    revenue_now, revenue_then = (
        Decimal(int(rows["revenue"].sum())) / 100,
        Decimal(int(before["revenue"].sum())) / 100,
    )
    assert page.metric[0].proto.delta == formatting.change(revenue_now, revenue_then, as_money=True)
    assert page.metric[1].proto.delta == formatting.change(rows.height, before.height, as_money=False)
    assert "vs. prior 365 days" in page.metric[0].proto.delta_description

    by_category = (
        rows.group_by("categories")
        .agg(pl.col("revenue").sum())
        .sort(["revenue", "categories"], descending=[True, False])
    )
    bars = chart(page)["data"][0]
    assert bars["x"] == by_category["categories"].to_list()
    assert bars["text"] == [money(c) for c in by_category["revenue"]]

    oldest = rows.sort(["order_date", "order_id"]).head(25)
    assert page.dataframe[0].value["order_id"].tolist() == oldest["order_id"].to_list()
    assert page.link_button[0].proto.url == (
        "/export/sales.csv?start=2019-01-01&end=2019-12-31&category=Office&category=Sundry&sort=oldest"
    )


def test_a_broken_link_falls_back_with_notices(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(
        dashboard_url(loaded),
        start="2019-02-30",
        end="2031-01-01",
        category=["Toys", "Office"],
        granularity="year",
    )
    assert problems(page) == []
    notices = [w.value for w in page.warning]
    assert len(notices) == 4
    assert any("'2019-02-30'" in n for n in notices) and any("'Toys'" in n for n in notices)
    assert shown(page) == figures(pick(sample_frame, categories=("Office",)))
    assert page.query_params == {"category": "Office"}  # the link now says what is shown

    page.run()  # the next rerun reads the repaired link: nothing more to report
    assert list(page.warning) == []


def test_a_product_link_shows_those_products_everywhere(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    start, end = dt.date(2017, 3, 1), dt.date(2019, 6, 30)
    page = open_app(
        dashboard_url(loaded), product=["Laptop", "Desk"], start=start.isoformat(), end=end.isoformat()
    )
    assert problems(page) == [] and list(page.warning) == []
    rows = pick(sample_frame, start, end, products=("Laptop", "Desk"))
    assert shown(page) == figures(rows)
    assert page.multiselect(key="products").value == ["Desk", "Laptop"]
    assert page.multiselect(key="categories").value == []
    # The link is rewritten in the data's order, as categories are.
    assert page.query_params == {"start": "2017-03-01", "end": "2019-06-30", "product": ["Desk", "Laptop"]}

    # The change against the same number of days before, for the same two products.
    before = pick(sample_frame, start - (end - start) - dt.timedelta(days=1), start - dt.timedelta(days=1))
    before = before.filter(pl.col("product_names").is_in(["Laptop", "Desk"]))
    revenue_now = Decimal(int(rows["revenue"].sum())) / 100
    revenue_then = Decimal(int(before["revenue"].sum())) / 100
    assert page.metric[0].proto.delta == formatting.change(revenue_now, revenue_then, as_money=True)
    assert page.metric[1].proto.delta == formatting.change(rows.height, before.height, as_money=False)

    monthly = (
        rows.group_by(pl.col("order_date").dt.strftime("%Y-%m").alias("month"))
        .agg(pl.col("revenue").sum(), pl.len().alias("orders"))
        .sort("month")
    )  # 28 months: automatic granularity is months
    assert chart(page)["data"][0]["customdata"] == [
        [m, money(r), f"{n:,}"] for m, r, n in monthly.iter_rows()
    ]

    by_category = (
        rows.group_by("categories")
        .agg(pl.col("revenue").sum())
        .sort(["revenue", "categories"], descending=[True, False])
    )
    page.session_state["chart"] = state.CHARTS["category"]
    page.run()
    bars = chart(page)["data"][0]
    assert bars["x"] == by_category["categories"].to_list() and len(bars["x"]) == 2  # Electronics, Office
    assert bars["text"] == [money(c) for c in by_category["revenue"]]

    by_product = (
        rows.group_by("product_names")
        .agg(pl.col("revenue").sum())
        .sort(["revenue", "product_names"], descending=[True, False])
    )
    page.session_state["chart"] = state.CHARTS["products"]
    page.run()
    bars = chart(page)["data"][0]
    assert bars["y"] == list(reversed(by_product["product_names"].to_list()))
    assert bars["text"] == [money(c) for c in reversed(by_product["revenue"].to_list())]
    assert chart(page)["layout"]["title"]["text"] == "Top 2 products by revenue"

    newest = rows.sort(["order_date", "order_id"], descending=True)
    assert caption_with(page, "Rows").startswith(f"Rows 1 to 50 of {rows.height:,} ")
    assert page.dataframe[0].value["order_id"].tolist() == newest["order_id"].head(50).to_list()
    assert set(page.dataframe[0].value["product_name"]) == {"Desk", "Laptop"}
    assert page.link_button[0].label == f"Download all {rows.height:,} rows (CSV)"


def test_the_csv_link_honours_the_product_filter(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(
        dashboard_url(loaded),
        start="2016-01-01",
        end="2018-12-31",
        category="Electronics",
        product=["Laptop", "Desk", "Smartphone"],  # Desk is Office: an order must match both
        sort="oldest",
    )
    assert problems(page) == [] and list(page.warning) == []
    assert page.link_button[0].proto.url == (
        "/export/sales.csv?start=2016-01-01&end=2018-12-31&category=Electronics"
        "&product=Desk&product=Laptop&product=Smartphone&sort=oldest"
    )
    rows = pick(
        sample_frame,
        dt.date(2016, 1, 1),
        dt.date(2018, 12, 31),
        ("Electronics",),
        ("Laptop", "Desk", "Smartphone"),
    ).sort(["order_date", "order_id"])
    assert shown(page) == figures(rows)
    lines = download(page)
    assert [int(line[0]) for line in lines] == rows["order_id"].to_list()
    assert {line[5] for line in lines} == {"Laptop", "Smartphone"}
    assert [line[9] for line in lines] == [f"{Decimal(c) / 100:.2f}" for c in rows["total_cents"]]


def test_an_unknown_product_in_a_link_is_dropped_with_a_notice(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(dashboard_url(loaded), product=["Toaster", "Laptop"])
    assert problems(page) == []
    assert [w.value for w in page.warning] == ["Unknown product 'Toaster' in the link was ignored."]
    assert shown(page) == figures(pick(sample_frame, products=("Laptop",)))
    assert page.multiselect(key="products").value == ["Laptop"]
    assert page.query_params == {"product": "Laptop"}
    assert len(download(page)) == pick(sample_frame, products=("Laptop",)).height

    page.run()  # the repaired link has nothing more to report
    assert list(page.warning) == []


def test_end_before_start_is_swapped_and_said(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(dashboard_url(loaded), start="2020-01-01", end="2019-01-01")
    assert problems(page) == []
    assert [w.value for w in page.warning] == [
        "The end date 2019-01-01 in the link is before the start date 2020-01-01: "
        "showing 2019-01-01 to 2020-01-01 (the two dates swapped)."
    ]
    assert page.date_input(key="dates").value == (dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert shown(page) == figures(pick(sample_frame, dt.date(2019, 1, 1), dt.date(2020, 1, 1)))
    assert page.query_params == {"start": "2019-01-01", "end": "2020-01-01"}  # the link says what is shown


def test_names_in_a_link_are_not_case_sensitive(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(dashboard_url(loaded), category=["office", "SUNDRY"], product="laptop")
    assert problems(page) == [] and list(page.warning) == []
    assert page.multiselect(key="categories").value == ["Office", "Sundry"]
    assert page.multiselect(key="products").value == ["Laptop"]
    assert shown(page) == figures(pick(sample_frame, categories=("Office", "Sundry"), products=("Laptop",)))
    assert page.query_params == {"category": ["Office", "Sundry"], "product": "Laptop"}


# -- interacting -------------------------------------------------------------------------------


def test_filters_update_metrics_chart_rows_and_link(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    page = open_app(dashboard_url(loaded))
    page.date_input(key="dates").set_value((dt.date(2020, 2, 10),)).run()  # first click of a range
    assert [i.value for i in page.info] == ["Pick the end date of the range."]
    assert list(page.metric) == [] and page.query_params == {}

    page.date_input(key="dates").set_value((dt.date(2020, 2, 10), dt.date(2020, 2, 20)))
    page.multiselect(key="categories").set_value(["Electronics"]).run()
    rows = pick(sample_frame, dt.date(2020, 2, 10), dt.date(2020, 2, 20), ("Electronics",))
    assert shown(page) == figures(rows)
    assert page.query_params == {"start": "2020-02-10", "end": "2020-02-20", "category": "Electronics"}
    daily = rows.group_by("order_date").agg(pl.col("revenue").sum(), pl.len()).sort("order_date")
    assert chart(page)["data"][0]["customdata"] == [
        [d.isoformat(), money(r), f"{n:,}"] for d, r, n in daily.iter_rows()
    ]  # eleven days: automatic granularity is days
    assert caption_with(page, "Rows").startswith(f"Rows 1 to {rows.height} of {rows.height} ")

    page.selectbox(key="granularity").set_value("week").run()
    assert chart(page)["layout"]["title"]["text"] == "Revenue per week"
    # Monday 10th to Thursday 20th: the second week is cut to 4 days, and marked so, not a plain drop.
    assert [p[0] for p in chart(page)["data"][0]["customdata"]] == ["week of 2020-02-10"]
    assert [p[0] for p in plotted(page)] == [
        "week of 2020-02-10",
        "week of 2020-02-17 (partial: 4 of 7 days)",
    ]
    assert chart(page)["data"][1]["name"] == "Partial week (the date range cuts it)"
    assert page.query_params["granularity"] == "week"

    page.multiselect(key="categories").set_value([])
    page.multiselect(key="products").set_value(["Monitor", "Chair"]).run()
    rows = pick(sample_frame, dt.date(2020, 2, 10), dt.date(2020, 2, 20), products=("Monitor", "Chair"))
    assert shown(page) == figures(rows)
    assert page.query_params["product"] == ["Chair", "Monitor"] and "category" not in page.query_params
    assert caption_with(page, "Rows").startswith(f"Rows 1 to {rows.height} of {rows.height} ")


def test_top_products_tab(loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp) -> None:
    page = open_app(dashboard_url(loaded), start="2015-03-17", end="2016-08-04")
    page.session_state["chart"] = state.CHARTS["products"]  # what clicking the tab does
    page.run()
    products = (
        pick(sample_frame, dt.date(2015, 3, 17), dt.date(2016, 8, 4))
        .group_by("product_names")
        .agg(pl.col("revenue").sum())
        .sort(["revenue", "product_names"], descending=[True, False])
        .head(10)
    )
    bars = chart(page)["data"][0]
    assert bars["orientation"] == "h"
    assert bars["y"] == list(reversed(products["product_names"].to_list()))  # best seller on top
    assert bars["text"] == [money(c) for c in reversed(products["revenue"].to_list())]
    assert page.query_params["chart"] == "products"


def test_paging_through_raw_rows(loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp) -> None:
    page = open_app(dashboard_url(loaded), start="2019-01-01", end="2019-12-31", category="Office", rows="25")
    newest = pick(sample_frame, dt.date(2019, 1, 1), dt.date(2019, 12, 31), ("Office",)).sort(
        ["order_date", "order_id"], descending=True
    )
    ids = newest["order_id"].to_list()
    assert page.button(key="previous_page").disabled
    page.button(key="next_page").click().run()
    page.button(key="next_page").click().run()
    assert page.dataframe[0].value["order_id"].tolist() == ids[50:75]
    assert caption_with(page, "Rows").startswith(f"Rows 51 to 75 of {len(ids):,} · page 3 of")
    assert page.query_params["page"] == "3"  # the page is part of the link
    page.button(key="previous_page").click().run()
    assert page.dataframe[0].value["order_id"].tolist() == ids[25:50]
    assert page.query_params["page"] == "2"

    pages = -(-len(ids) // 25)
    page.number_input(key="page").set_value(pages - 1).run()  # straight to a page by its number
    assert page.dataframe[0].value["order_id"].tolist() == ids[(pages - 2) * 25 : (pages - 1) * 25]
    assert page.query_params["page"] == str(pages - 1)
    page.button(key="next_page").click().run()
    assert page.dataframe[0].value["order_id"].tolist() == ids[(pages - 1) * 25 :]
    assert page.button(key="next_page").disabled

    page.radio(key="newest_first").set_value(False).run()  # another order starts again
    assert page.dataframe[0].value["order_id"].tolist() == list(reversed(ids))[:25]
    assert page.query_params["sort"] == "oldest" and "page" not in page.query_params


def test_a_link_opens_any_page_of_rows(
    loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp
) -> None:
    """Page 1,000 of 1,200 (25 rows each), straight from the link, in both orders."""
    everything = sample_frame.sort(["order_date", "order_id"])["order_id"].to_list()
    for sort, ids in (("oldest", everything), ("newest", list(reversed(everything)))):
        page = open_app(dashboard_url(loaded), rows="25", page="1000", sort=sort)
        assert problems(page) == [] and list(page.warning) == []
        assert page.dataframe[0].value["order_id"].tolist() == ids[999 * 25 : 1000 * 25], sort
        assert caption_with(page, "Rows").startswith(
            f"Rows 24,976 to 25,000 of {SAMPLE_ROWS:,} · page 1,000 of 1,200"
        )
        assert page.number_input(key="page").value == 1000

    page = open_app(dashboard_url(loaded), rows="1000", page="99")  # past the last page: the last one
    assert [w.value for w in page.warning] == [
        "Page 99 is past the last page of these rows: showing page 30."
    ]
    assert page.dataframe[0].value["order_id"].tolist() == list(reversed(everything))[29_000:]
    assert page.query_params == {"rows": "1000", "page": "30"}

    page.multiselect(key="categories").set_value(["Office"]).run()  # another filter: page 1 again
    assert caption_with(page, "Rows").startswith("Rows 1 to ")
    assert "page" not in page.query_params


def test_no_matching_orders(loaded: Database, sample_frame: pl.DataFrame, open_app: OpenApp) -> None:
    sundry_days = set(sample_frame.filter(pl.col("categories") == "Sundry")["order_date"].to_list())
    days_of_2015 = (dt.date(2015, 1, 1) + dt.timedelta(days=n) for n in range(365))
    day = next(day for day in days_of_2015 if day not in sundry_days)
    page = open_app(dashboard_url(loaded), start=day.isoformat(), end=day.isoformat(), category="Sundry")
    assert problems(page) == []
    assert shown(page) == ["0.00", "0", "—", "—"]
    assert [i.value for i in page.info] == ["No data for these filters.", "No data for these filters."]
    assert page.get("plotly_chart") == [] and list(page.dataframe) == []


def test_refresh_reloads_cached_figures(database: Database, open_app: OpenApp) -> None:
    load_frames(database.engine, generate(1_000, 3), replace=True)
    page = open_app(dashboard_url(database))
    assert shown(page)[1] == "1,000"
    load_frames(database.engine, generate(500, 4, first_order_id=1_001), replace=False)
    page.run()
    assert shown(page)[1] == "1,000"  # cached for up to a minute
    page.button(key="refresh").click().run()
    assert shown(page)[1] == "1,500"


# -- when there is nothing to show -------------------------------------------------------------


def test_empty_table_says_how_to_load_data(database: Database, open_app: OpenApp) -> None:
    page = open_app(dashboard_url(database))
    assert problems(page) == []
    assert "no orders" in page.warning[0].value and "`chatdash init`" in page.warning[0].value
    assert list(page.metric) == []


def test_database_without_tables_says_run_init(tmp_path: Path, open_app: OpenApp) -> None:
    page = open_app(f"sqlite:///{tmp_path / 'new.db'}")
    assert problems(page) == []
    assert "no chatdash tables yet" in page.error[0].value and "`chatdash init`" in page.error[0].value


def test_database_down_is_a_message(open_app: OpenApp) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = open_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/chatdash")
    assert problems(page) == []
    message = page.error[0].value
    assert "does not answer" in message and "CHATDASH_DATABASE_URL" in message and f":{port}" in message
