"""Plotly figures for the three chart tabs, built from query-layer results (no Streamlit here).

Bar lengths and line heights are floats, as Plotly needs; every number a reader can see (labels,
hover text) is the exact Decimal formatted by ``formatting``, passed as text or ``customdata``.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from chatdash.dashboard import formatting
from chatdash.sales import CategoryRevenue, Granularity, PeriodRevenue, ProductRevenue

_MARKERS_UP_TO = 60
"""Points drawn as dots as well as a line while there are few enough to tell apart."""
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    "height": 380,
    "hoverlabel": {"align": "left"},
}
_HOVER = "%{customdata[0]}<br>Revenue: %{customdata[1]}<br>Orders: %{customdata[2]}<extra></extra>"


def revenue_over_time(points: list[PeriodRevenue], granularity: Granularity) -> go.Figure:
    """Revenue per day, ISO week or month; each point sits on the first day of its period."""
    figure = go.Figure(
        go.Scatter(
            x=[p.period for p in points],
            y=[float(p.revenue) for p in points],
            mode="lines+markers" if len(points) <= _MARKERS_UP_TO else "lines",
            customdata=[
                [
                    formatting.period(p.period, granularity),
                    formatting.money(p.revenue),
                    formatting.count(p.orders),
                ]
                for p in points
            ],
            hovertemplate=_HOVER,
            name="Revenue",
        )
    )
    figure.update_layout(**_LAYOUT, title=f"Revenue per {granularity}", yaxis_title="Revenue")
    return figure


def revenue_by_category(rows: list[CategoryRevenue]) -> go.Figure:
    """One bar per category, highest first, labelled with its exact revenue."""
    figure = go.Figure(
        go.Bar(
            x=[r.category for r in rows],
            y=[float(r.revenue) for r in rows],
            text=[formatting.money(r.revenue) for r in rows],
            customdata=[[r.category, formatting.money(r.revenue), formatting.count(r.orders)] for r in rows],
            hovertemplate=_HOVER,
        )
    )
    figure.update_layout(**_LAYOUT, title="Revenue by category", yaxis_title="Revenue")
    return figure


def top_products(rows: list[ProductRevenue]) -> go.Figure:
    """Horizontal bars, the best seller on top (Plotly stacks the first bar at the bottom)."""
    ranked = list(reversed(rows))
    figure = go.Figure(
        go.Bar(
            x=[float(r.revenue) for r in ranked],
            y=[r.product_name for r in ranked],
            orientation="h",
            text=[formatting.money(r.revenue) for r in ranked],
            customdata=[
                [f"{r.product_name} ({r.category})", formatting.money(r.revenue), formatting.count(r.orders)]
                for r in ranked
            ],
            hovertemplate=_HOVER,
        )
    )
    figure.update_layout(**_LAYOUT, title=f"Top {len(rows)} products by revenue", xaxis_title="Revenue")
    return figure
