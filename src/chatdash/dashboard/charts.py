"""Plotly figures for the three chart tabs, built from query-layer results (no Streamlit here).

Bar lengths and line heights are floats, as Plotly needs; every number a reader can see (labels,
hover text) is the exact Decimal formatted by ``formatting``, passed as text or ``customdata``.

A week or month that the date range cuts (a range from a Wednesday, or to the 10th) holds only some
of its days, so its revenue drops for no reason of its own. Such partial periods are kept (the
points still add up to the total shown above the chart) but marked: drawn as their own trace, dotted
and hollow, named "Partial week/month" in the legend, with "partial: N of M days" on hover.
"""

from __future__ import annotations

import calendar
import datetime as dt
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
_BLUE = "#1f77b4"
"""Plotly's first colour, which the full periods' line has too."""
_HOVER = "%{customdata[0]}<br>Revenue: %{customdata[1]}<br>Orders: %{customdata[2]}<extra></extra>"


def revenue_over_time(
    points: list[PeriodRevenue], granularity: Granularity, start: dt.date, end: dt.date
) -> go.Figure:
    """Revenue per day, ISO week or month from ``start`` to ``end``; each point sits on the first day
    of its period. Full periods are trace 0 (a solid line); periods the range cuts are trace 1."""
    partial = {p.period: p for p in points if days_in_range(p.period, granularity, start, end) is not None}
    full = [p for p in points if p.period not in partial]
    figure = go.Figure(
        go.Scatter(
            x=[p.period for p in full],
            y=[float(p.revenue) for p in full],
            mode="lines+markers" if len(full) <= _MARKERS_UP_TO else "lines",
            customdata=[_hover(p, granularity) for p in full],
            hovertemplate=_HOVER,
            name="Revenue",
        )
    )
    if partial:
        x: list[dt.date | None] = []
        y: list[float | None] = []
        data: list[list[str] | None] = []
        sizes: list[int] = []
        for segment in _partial_segments(points, partial):
            for point in segment:
                x.append(point.period)
                y.append(float(point.revenue))
                data.append(_hover(point, granularity, start, end))
                sizes.append(9 if point.period in partial else 0)  # the full neighbour has trace 0's
            x.append(None)  # breaks the dotted line between the first and the last period
            y.append(None)
            data.append(None)
            sizes.append(0)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                line={"dash": "dot", "color": _BLUE},
                marker={"symbol": "circle-open", "size": sizes, "color": _BLUE},
                customdata=data,
                hovertemplate=_HOVER,
                name=f"Partial {granularity} (the date range cuts it)",
                connectgaps=False,
            )
        )
    figure.update_layout(
        **_LAYOUT,
        title=f"Revenue per {granularity}",
        yaxis_title="Revenue",
        showlegend=bool(partial),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    return figure


def _partial_segments(
    points: list[PeriodRevenue], partial: dict[dt.date, PeriodRevenue]
) -> list[list[PeriodRevenue]]:
    """The first and the last period, where the range cuts them, each with its neighbour (a range
    cuts no other period)."""
    if len(points) == 1:
        return [points]
    segments = []
    if points[0].period in partial:
        segments.append(points[:2])
    if points[-1].period in partial and not (len(points) == 2 and segments):
        segments.append(points[-2:])
    return segments


def days_in_range(
    period: dt.date, granularity: Granularity, start: dt.date, end: dt.date
) -> tuple[int, int] | None:
    """``(days of the period within start..end, days of the period)`` for a period the range cuts;
    None for a whole one (a day always is)."""
    last = period_end(period, granularity)
    if period >= start and last <= end:
        return None
    inside = (min(last, end) - max(period, start)).days + 1
    return inside, (last - period).days + 1


def period_end(period: dt.date, granularity: Granularity) -> dt.date:
    """The last day of the period that starts on ``period``."""
    if granularity == "week":
        return period + dt.timedelta(days=6)
    if granularity == "month":
        return period.replace(day=calendar.monthrange(period.year, period.month)[1])
    return period


def _hover(
    point: PeriodRevenue, granularity: Granularity, start: dt.date | None = None, end: dt.date | None = None
) -> list[str]:
    label = formatting.period(point.period, granularity)
    cut = days_in_range(point.period, granularity, start, end) if start and end else None
    if cut is not None:
        label += f" (partial: {cut[0]} of {cut[1]} days)"
    return [label, formatting.money(point.revenue), formatting.count(point.orders)]


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
