"""Plotly figures for the Test bed page, from ``chatdash.evals`` results (no Streamlit).

Every figure a reader sees on hover is formatted by ``format``, as the tables beside the charts are.
Nothing is loaded from the internet (Plotly's JavaScript is served by Streamlit itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from chatdash.dashboard.testbed import format as fmt
from chatdash.evals import queries

_BLUE = "#1f77b4"
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_DAY_MS = 86_400_000
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "hoverlabel": {"align": "left"},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1.0},
}
TEMPLATE = "%{customdata}<extra></extra>"


def histogram(counts: Sequence[int], threshold: float) -> go.Figure:
    """The run's scored executions in tenths of [0, 1] (the last bin holds 0.9 to 1.0 inclusive), the
    pass threshold marked."""
    labels = [f"{i / 10:.1f} to {(i + 1) / 10:.1f}" for i in range(len(counts))]
    last = len(counts) - 1
    hover = [
        f"scores from {i / 10:.1f} to {(i + 1) / 10:.1f}"
        f"{'' if i == last else f' ({(i + 1) / 10:.1f} not included)'}: {fmt.count(n)} executions"
        for i, n in enumerate(counts)
    ]
    figure = go.Figure(
        go.Bar(x=labels, y=list(counts), marker_color=_BLUE, customdata=hover, hovertemplate=TEMPLATE)
    )
    figure.add_vline(
        x=threshold * len(counts) - 0.5,
        line_dash="dash",
        line_color="#d62728",
        annotation_text=f"pass at {threshold:g}",
        annotation_position="top",
    )
    figure.update_layout(
        **_LAYOUT, height=300, title="Scores of the executions", bargap=0.1, showlegend=False
    )
    figure.update_xaxes(title="combined score")
    figure.update_yaxes(title="executions", rangemode="tozero")
    return figure


def scenario_trend(runs: Sequence[queries.RunRow]) -> go.Figure:
    """Each scenario's runs as a line of their mean scores, oldest first (runs without a score left
    out); a point's hover names the run, its variant and its pass rate."""
    figure = go.Figure()
    scenarios = sorted({r.scenario for r in runs if r.mean is not None})
    for number, scenario in enumerate(scenarios):
        points = sorted(
            (r for r in runs if r.scenario == scenario and r.mean is not None), key=lambda r: r.started_at
        )
        figure.add_trace(
            go.Scatter(
                x=[r.started_at for r in points],
                y=[r.mean for r in points],
                mode="lines+markers",
                name=scenario,
                marker_color=_COLOURS[number % len(_COLOURS)],
                customdata=[_run_hover(r) for r in points],
                hovertemplate=TEMPLATE,
            )
        )
    figure.update_layout(**_LAYOUT, height=300, title="Mean score per scenario, run by run")
    figure.update_yaxes(range=[-0.05, 1.05], title="mean score")
    return figure


def _run_hover(r: queries.RunRow) -> str:
    return "<br>".join(
        [
            f"{r.scenario} · run {r.id[:8]}",
            f"started {fmt.utc(r.started_at)} UTC",
            f"variant: {fmt.variant(r.variant)}",
            f"mean score: {fmt.score(r.mean)}",
            f"pass rate: {fmt.share(r.pass_rate)} ({fmt.count(r.passes)} of {fmt.count(r.scored)})",
        ]
    )


def feedback_over_time(days: Sequence[queries.PipelineDay]) -> go.Figure:
    """Two panels on one day axis: the mean feedback score per pipeline (lines), and how many ratings
    it stands on (bars)."""
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        row_heights=[0.6, 0.4],
        subplot_titles=("Mean feedback score per pipeline", "Ratings per pipeline"),
    )
    pipelines = sorted({d.pipeline for d in days})
    for number, pipeline in enumerate(pipelines):
        points = [d for d in days if d.pipeline == pipeline]
        colour = _COLOURS[number % len(_COLOURS)]
        hover = [
            f"{d.day.isoformat()} · {pipeline}<br>mean score {fmt.score(d.mean_score)} "
            f"of {fmt.count(d.ratings)} ratings"
            for d in points
        ]
        x = [d.day for d in points]
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[d.mean_score for d in points],
                mode="lines+markers",
                name=pipeline,
                legendgroup=pipeline,
                marker_color=colour,
                customdata=hover,
                hovertemplate=TEMPLATE,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                x=x,
                y=[d.ratings for d in points],
                name=pipeline,
                legendgroup=pipeline,
                showlegend=False,
                marker_color=colour,
                customdata=hover,
                hovertemplate=TEMPLATE,
            ),
            row=2,
            col=1,
        )
    figure.update_layout(**_LAYOUT, height=480, barmode="group")
    span = (max(d.day for d in days) - min(d.day for d in days)).days + 1 if days else 0
    figure.update_xaxes(tickformat="%Y-%m-%d", dtick=_DAY_MS if span <= 14 else None)
    figure.update_yaxes(range=[-0.05, 1.05], row=1, col=1)
    figure.update_yaxes(rangemode="tozero", row=2, col=1)
    return figure
