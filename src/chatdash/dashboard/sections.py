"""Key metrics and the chart tabs.

The metrics compare with the period of the same length just before the chosen one. The tabs
track which one is open (``on_change="rerun"``), so only the open tab builds its figure, and the
time series, the one chart with a query of its own, is only asked for when it is shown.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard import charts, data, filters, formatting, state
from chatdash.sales import METRICS, DateRange, KeyMetrics, Overview, SalesFilter

NO_DATA = "No data for these filters."
DEFINITION = {metric.name: metric.definition.capitalize() + "." for metric in METRICS}
"""What each figure is, from the semantic model the chat's answers use too (one definition)."""
_CHART_CONFIG = {"displaylogo": False}


def key_metrics(flt: SalesFilter, span: DateRange) -> Overview:
    """Four ``st.metric``s with their change; returns the overview the charts reuse."""
    summary = data.overview(flt)
    earlier = state.previous_period(flt, span)
    before = data.overview(earlier).metrics if earlier else None
    compared, explained = _compared_with(earlier)
    now = summary.metrics
    was = before.top_category if before and before.top_category != now.top_category else None
    revenue, orders, average, top = st.columns(4)
    revenue.metric(
        "Total revenue",
        formatting.money(now.total_revenue),
        delta=formatting.change(now.total_revenue, before.total_revenue, as_money=True) if before else None,
        delta_description=compared,
        help=_joined(DEFINITION["revenue"], explained),
        border=True,
    )
    orders.metric(
        "Total orders",
        formatting.count(now.orders),
        delta=formatting.change(now.orders, before.orders, as_money=False) if before else None,
        delta_description=compared,
        help=_joined(DEFINITION["orders"], explained),
        border=True,
    )
    average.metric(
        "Average order value",
        formatting.money(now.average_order_value),
        delta=_average_change(now, before),
        delta_description=compared,
        help=_joined(DEFINITION["average_order_value"], explained),
        border=True,
    )
    top.metric(
        "Top category",
        now.top_category or formatting.DASH,
        delta=f"was {was}" if was else None,
        delta_color="off",
        delta_arrow="off",
        delta_description=compared if was else None,
        help=_joined("The category with the highest revenue.", explained),
        border=True,
    )
    if earlier is None:
        st.caption("No change is shown: the data holds no period of the same length before this one.")
    return summary


def _compared_with(earlier: SalesFilter | None) -> tuple[str | None, str | None]:
    """A short label under the change and the full explanation for the tooltip."""
    if earlier is None or earlier.start is None or earlier.end is None:
        return None, None
    days = (earlier.end - earlier.start).days + 1
    return (
        f"vs. prior {formatting.count(days)} days",
        f"Change against the {formatting.count(days)} days before: "
        f"{formatting.date_range(earlier.start, earlier.end)}.",
    )


def _joined(*sentences: str | None) -> str:
    return " ".join(sentence for sentence in sentences if sentence)


def _average_change(now: KeyMetrics, before: KeyMetrics | None) -> str | None:
    if before is None or now.average_order_value is None or before.average_order_value is None:
        return None
    return formatting.change(now.average_order_value, before.average_order_value, as_money=True)


def chart_tabs(view: state.View, flt: SalesFilter, summary: Overview) -> None:
    """Revenue over time, by category, top 10 products; "no data" instead of an empty chart."""
    tabs = st.tabs(list(state.CHARTS.values()), key=filters.CHART, on_change="rerun")
    for tab, chart in zip(tabs, state.CHARTS, strict=True):
        with tab:
            if not tab.open:
                continue
            if summary.metrics.orders == 0:
                st.info(NO_DATA, icon=":material/search_off:")
                continue
            if chart == "time":
                grain = view.effective_granularity
                figure = charts.revenue_over_time(data.series(flt, grain), grain, view.start, view.end)
            elif chart == "category":
                figure = charts.revenue_by_category(summary.by_category)
            else:
                figure = charts.top_products(summary.top_products(10))
            st.plotly_chart(figure, key=f"chart-{chart}", config=_CHART_CONFIG)
