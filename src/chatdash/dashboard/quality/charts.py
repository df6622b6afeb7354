"""Plotly figures for the AI-quality page's two chart tabs, from the query module's results (no Streamlit).

Bar lengths and line heights are floats, as Plotly needs; every figure a reader sees on hover is
formatted by ``format``, as the metrics above the charts are. Nothing is loaded from the internet
(Plotly's JavaScript is served by Streamlit itself).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from chatdash.dashboard.quality import format as fmt
from chatdash.tracing import quality

NO_PROMPT = "(no prompt)"
"""How traces without a prompt version (a sales answer alone, an error before the model) are named."""
_BLUE, _RED, _GREEN = "#1f77b4", "#d62728", "#2ca02c"
_PURPLE, _LIGHT_PURPLE = "#9467bd", "#c5b0d5"
_DAY_MS = 86_400_000
_DAILY_TICKS_UP_TO = 14
"""Days on the axis up to which every day gets its tick (else Plotly's choice, never below a day)."""
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "hoverlabel": {"align": "left"},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1.0},
    "bargap": 0.25,
}


def over_time(days: list[quality.DayQuality]) -> go.Figure:
    """Three panels on one day axis: requests (errors stacked in red), p50 latency, mean feedback score."""
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Requests per day (errors in red)", "Latency p50 (ms)", "Mean feedback score"),
    )
    x = [d.day for d in days]
    hover = [_day_hover(d) for d in days]
    template = "%{customdata}<extra></extra>"
    figure.add_trace(
        go.Bar(
            x=x,
            y=[d.metrics.requests - d.metrics.errors for d in days],
            name="Requests without error",
            marker_color=_BLUE,
            customdata=hover,
            hovertemplate=template,
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Bar(
            x=x,
            y=[d.metrics.errors for d in days],
            name="Errors",
            marker_color=_RED,
            customdata=hover,
            hovertemplate=template,
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[d.metrics.latency_p50_ms for d in days],
            mode="lines+markers",
            name="Latency p50",
            marker_color=_PURPLE,
            customdata=hover,
            hovertemplate=template,
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    scored = [d for d in days if d.metrics.scores]
    figure.add_trace(
        go.Scatter(
            x=[d.day for d in scored],
            y=[d.metrics.mean_score for d in scored],
            mode="lines+markers",
            name="Mean score",
            marker_color=_GREEN,
            customdata=[_day_hover(d) for d in scored],
            hovertemplate=template,
            showlegend=False,
        ),
        row=3,
        col=1,
    )
    figure.update_layout(**_LAYOUT, height=640, barmode="stack")
    span = (days[-1].day - days[0].day).days + 1 if days else 0
    # Days, never hours: with a few days Plotly would put ticks at noon too.
    figure.update_xaxes(tickformat="%Y-%m-%d", dtick=_DAY_MS if span <= _DAILY_TICKS_UP_TO else None)
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    figure.update_yaxes(rangemode="tozero", row=2, col=1)
    figure.update_yaxes(range=[-0.05, 1.05], row=3, col=1)
    return figure


def _day_hover(day: quality.DayQuality) -> str:
    m = day.metrics
    return "<br>".join(
        [
            day.day.isoformat(),
            f"Requests: {fmt.count(m.requests)}",
            f"Errors: {fmt.count(m.errors)} ({fmt.rate(m.errors, m.requests)})",
            f"Latency p50: {fmt.ms(m.latency_p50_ms)}",
            f"Mean score: {fmt.score(m.mean_score)} ({fmt.count(m.scores)} ratings)",
        ]
    )


def by_prompt_version(rows: list[quality.PromptQuality]) -> go.Figure:
    """One row per prompt version, three panels side by side: requests (errors in red), latency p50
    and p95, mean feedback score. The first version is on top (Plotly stacks the first bar at the bottom)."""
    ranked = list(reversed(rows))
    y = [row.prompt or NO_PROMPT for row in ranked]
    hover = [_prompt_hover(row) for row in ranked]
    template = "%{customdata}<extra></extra>"
    figure = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Requests (errors in red)", "Latency p50 and p95 (ms)", "Mean feedback score"),
    )
    ok = [r.metrics.requests - r.metrics.errors for r in ranked]

    def bar(col: int, name: str, values: list[Any], colour: str, **extra: Any) -> None:
        figure.add_trace(
            go.Bar(
                x=values,
                y=y,
                orientation="h",
                name=name,
                marker_color=colour,
                customdata=hover,
                hovertemplate=template,
                **extra,
            ),
            row=1,
            col=col,
        )

    # Positions are set per bar (``offset``/``width`` in category units, barmode overlay), so each
    # panel is laid out on its own: the errors stack on the requests without one (``base``), the two
    # latencies stand side by side, the score is alone.
    bar(1, "Requests without error", ok, _BLUE, offset=-0.3, width=0.6)
    bar(1, "Errors", [r.metrics.errors for r in ranked], _RED, offset=-0.3, width=0.6, base=ok)
    bar(2, "Latency p50", [r.metrics.latency_p50_ms for r in ranked], _PURPLE, offset=-0.4, width=0.4)
    bar(2, "Latency p95", [r.metrics.latency_p95_ms for r in ranked], _LIGHT_PURPLE, offset=0.0, width=0.4)
    bar(3, "Mean score", [r.metrics.mean_score for r in ranked], _GREEN, offset=-0.3, width=0.6)
    figure.update_layout(
        **(_LAYOUT | {"legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0.0}}),
        height=max(280, 120 + 60 * len(rows)),
        barmode="overlay",
    )
    figure.update_xaxes(range=[0, 1], row=1, col=3)
    figure.update_yaxes(automargin=True)
    return figure


def _prompt_hover(row: quality.PromptQuality) -> str:
    m = row.metrics
    return "<br>".join(
        [
            row.prompt or NO_PROMPT,
            f"Requests: {fmt.count(m.requests)}",
            f"Errors: {fmt.count(m.errors)} ({fmt.rate(m.errors, m.requests)})",
            f"Latency p50 / p95: {fmt.ms(m.latency_p50_ms)} / {fmt.ms(m.latency_p95_ms)}",
            f"Mean score: {fmt.score(m.mean_score)} ({fmt.count(m.scores)} ratings)",
            f"Figure check failed: {fmt.rate(m.failed, m.checked)} of {fmt.count(m.checked)} checked",
        ]
    )
