"""The Runs tab: every run in a table, and the run opened (by clicking its row or choosing it in the
box under the table): its statistics (``RunReport``, as `chatdash eval report` prints them), a
histogram of its scores, its cases and its executions. The open run is part of the view (``run``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from chatdash.dashboard.testbed import charts, data
from chatdash.dashboard.testbed import format as fmt
from chatdash.evals import RunReport, queries

RUN = "t_run"
TABLE = "t_runs_table"
NONE = ""
"""The run box's value for "no run open"."""
_CHART_CONFIG = {"displaylogo": False}
_ROW_HEIGHT = 35
_MAX_TABLE_HEIGHT = 420
HELP = {
    "mean": (
        "Mean over the cases of each case's mean combined score (every case weighs the same), with "
        "its 95 % bootstrap interval. A score still waiting for a person is left out of its execution's "
        "combined score until it is given."
    ),
    "pass": "Share of the scored executions whose combined score is at or above the run's threshold.",
    "below": "Scored executions whose combined score is below this value.",
    "cases": (
        "Cases with at least one scored execution. Flaky: the repeats of a case spread widely (sample "
        "std at or above the limit), or some pass while others fail."
    ),
    "waiting": "Executions with a manual score not given yet: the Manual queue tab lists them.",
}
_COLUMNS = {
    "started": st.column_config.TextColumn("Started (UTC)"),
    "scenario": st.column_config.TextColumn("Scenario"),
    "variant": st.column_config.TextColumn("Variant"),
    "status": st.column_config.TextColumn("Status"),
    "size": st.column_config.TextColumn("Cases x repeats"),
    "done": st.column_config.TextColumn("Executions", help="Stored of planned"),
    "mean": st.column_config.NumberColumn("Mean score", format="%.3f", help=HELP["mean"]),
    "pass_rate": st.column_config.NumberColumn("Pass rate", format="percent", help=HELP["pass"]),
    "waiting": st.column_config.NumberColumn("Waiting", help=HELP["waiting"]),
    "errors": st.column_config.NumberColumn("Errors"),
    "id": st.column_config.TextColumn("Run id"),
}
_EXECUTION_COLUMNS = {
    "case": st.column_config.TextColumn("Case"),
    "repeat": st.column_config.NumberColumn("Repeat"),
    "score": st.column_config.NumberColumn("Score", format="%.3f"),
    "status": st.column_config.TextColumn("Status"),
    "output": st.column_config.TextColumn("Output", width="large"),
    "reasons": st.column_config.TextColumn("Each evaluator", width="large"),
    "latency": st.column_config.NumberColumn("Latency (ms)", format="localized"),
    "trace": st.column_config.TextColumn("Trace id"),
}


def tab(runs: Sequence[queries.RunRow]) -> None:
    if not runs:
        st.info(
            "There are no runs yet. Run a scenario from the shell, e.g. "
            "`chatdash eval run scenarios/sales-qa.yaml`, then Refresh.",
            icon=":material/science:",
        )
        return
    if any(r.mean is not None for r in runs):
        st.plotly_chart(charts.scenario_trend(runs), key="t-trend", config=_CHART_CONFIG)
    ids = [r.id for r in runs]
    st.dataframe(
        _columns(runs),
        hide_index=True,
        column_config=_COLUMNS,
        height=min(_MAX_TABLE_HEIGHT, _ROW_HEIGHT * (len(runs) + 1) + 3),
        key=TABLE,
        on_select=_open_clicked(ids),
        selection_mode="single-row",
    )
    st.caption(
        f"{fmt.plural(len(runs), 'run')}, newest first (the newest {fmt.count(data.RUNS)} are listed)."
    )
    opened = run_box(runs)
    if opened is not None:
        details(opened)


def _open_clicked(ids: list[str]) -> Callable[[], None]:
    def opened() -> None:
        picked = st.session_state[TABLE].selection.rows
        if picked and picked[0] < len(ids):
            st.session_state[RUN] = ids[picked[0]]

    return opened


def _columns(runs: Sequence[queries.RunRow]) -> dict[str, list[Any]]:
    return {
        "started": [fmt.utc(r.started_at) for r in runs],
        "scenario": [r.scenario for r in runs],
        "variant": [fmt.variant(r.variant) for r in runs],
        "status": [r.status for r in runs],
        "size": [f"{r.cases} x {r.repeat}" for r in runs],
        "done": [f"{fmt.count(r.executions)} of {fmt.count(r.planned)}" for r in runs],
        "mean": [r.mean for r in runs],
        "pass_rate": [r.pass_rate for r in runs],
        "waiting": [r.waiting for r in runs],
        "errors": [r.errors for r in runs],
        "id": [r.id for r in runs],
    }


def label(r: queries.RunRow) -> str:
    return fmt.run_label(r.id, r.scenario, fmt.utc(r.started_at)[:16], r.variant, r.mean)


def run_box(runs: Sequence[queries.RunRow]) -> queries.RunRow | None:
    """The run box (the listed runs, and the open one wherever it is); the open run, if any."""
    labels = {r.id: label(r) for r in runs}
    chosen = st.session_state[RUN]
    opened: queries.RunRow | None = next((r for r in runs if r.id == chosen), None)
    if chosen != NONE and opened is None:
        opened = data.run(chosen)
        labels[chosen] = label(opened) if opened is not None else f"{chosen} (not found)"
    st.selectbox(
        "Open a run",
        [NONE, *labels],
        key=RUN,
        format_func=lambda value: (
            "None (click a row of the table, or choose here)" if value == NONE else labels[value]
        ),
    )
    if chosen != NONE and opened is None:
        st.warning(f"There is no run {chosen}: it may have been deleted.", icon=":material/search_off:")
    return opened


def details(r: queries.RunRow) -> None:
    st.markdown(f"#### Run `{r.id}` of {r.scenario}")
    facts = [
        f"variant {fmt.variant(r.variant)}",
        f"status {r.status}",
        f"pipeline {r.pipeline or fmt.DASH}",
        f"{r.cases} cases x {r.repeat} repeats",
        f"threshold {r.threshold:g}",
        f"started {fmt.utc(r.started_at)} UTC",
        f"finished {fmt.utc(r.finished_at) + ' UTC' if r.finished_at else fmt.DASH}",
    ]
    st.caption(" · ".join(facts))
    report = data.report(r.id)
    if report is None:
        st.warning(f"There is no run {r.id}: it may have been deleted.", icon=":material/search_off:")
        return
    statistics(report, r)
    executions(r)


def statistics(report: RunReport, r: queries.RunRow) -> None:
    s = report.summary
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))
    st.caption(f"Executions: {fmt.count(sum(report.statuses.values()))} ({counts or 'none'})")
    if s is None:
        st.warning(
            "No execution of this run could be scored yet"
            + (": give the waiting manual scores in the Manual queue tab." if r.waiting else "."),
            icon=":material/hourglass_empty:",
        )
        return
    cards = st.columns(6)
    ci = f"{s.mean.confidence:.0%} CI"
    _metric(
        cards[0],
        "Mean score",
        fmt.score(s.mean.value),
        "mean",
        f"{ci} {fmt.score(s.mean.low)} to {fmt.score(s.mean.high)}",
    )
    _metric(
        cards[1],
        f"Pass rate (≥ {report.threshold:g})",
        fmt.share(s.pass_rate.value),
        "pass",
        f"{ci} {fmt.share(s.pass_rate.low)} to {fmt.share(s.pass_rate.high)}",
    )
    for column, below in zip(cards[2:4], s.below, strict=False):
        _metric(
            column,
            f"Below {below.threshold:g}",
            fmt.count(below.count),
            "below",
            f"of {fmt.count(below.of)} scored",
        )
    _metric(cards[4], "Cases", fmt.count(s.cases), "cases", f"{fmt.count(len(s.flaky))} flaky")
    _metric(cards[5], "Waiting for a person", fmt.count(r.waiting), "waiting")
    for verdict in report.verdicts:
        text = f"Assertion {verdict}"
        if verdict.verdict == "pass":
            st.success(text, icon=":material/check_circle:")
        elif verdict.verdict == "fail":
            st.error(text, icon=":material/cancel:")
        else:
            st.warning(text, icon=":material/help:")
    chart, cases = st.columns([2, 3])
    with chart:
        st.plotly_chart(
            charts.histogram(s.histogram, report.threshold), key="t-histogram", config=_CHART_CONFIG
        )
    with cases:
        st.markdown(
            "**Cases**, the lowest mean first" + (f" · flaky: {', '.join(s.flaky[:10])}" if s.flaky else "")
        )
        ranked = sorted(s.per_case, key=lambda c: (c.mean, c.case_id))
        st.dataframe(
            {
                "case": [c.case_id for c in ranked],
                "mean": [c.mean for c in ranked],
                "std": [c.std for c in ranked],
                "passes": [f"{c.passes} of {c.n}" for c in ranked],
                "flaky": ["yes" if c.flaky else "" for c in ranked],
            },
            hide_index=True,
            column_config={
                "case": st.column_config.TextColumn("Case"),
                "mean": st.column_config.NumberColumn("Mean", format="%.3f"),
                "std": st.column_config.NumberColumn("Std", format="%.3f"),
                "passes": st.column_config.TextColumn("Passes"),
                "flaky": st.column_config.TextColumn("Flaky"),
            },
            height=min(300, _ROW_HEIGHT * (len(ranked) + 1) + 3),
            key="t_cases_table",
        )


def _metric(where: Any, title: str, value: str, meaning: str, note: str | None = None) -> None:
    where.metric(
        title,
        value,
        delta=note,
        delta_color="off",
        delta_arrow="off",
        help=HELP[meaning],
        border=True,
        height="stretch",
    )


def executions(r: queries.RunRow) -> None:
    rows = data.executions(r.id)
    st.markdown(f"**Executions** ({fmt.count(len(rows))}), by case and repeat")
    if not rows:
        st.info("This run has stored no execution yet.", icon=":material/inbox:")
        return
    st.dataframe(
        {
            "case": [e.case_id for e in rows],
            "repeat": [e.repeat for e in rows],
            "score": [e.score for e in rows],
            "status": [status(e) for e in rows],
            "output": [
                fmt.snippet(e.error or e.output, 200) if (e.error or e.output) else "(nothing)" for e in rows
            ],
            "reasons": [reasons(e.scores) for e in rows],
            "latency": [round(e.latency_ms) for e in rows],
            "trace": [e.trace_id or fmt.DASH for e in rows],
        },
        hide_index=True,
        column_config=_EXECUTION_COLUMNS,
        key="t_executions_table",
    )


def status(e: queries.ExecutionRow) -> str:
    """``scored``, or ``scored, provisional`` while a manual score is still to come (its score is the
    others' alone), ``pending``, ``unscorable``, ``error``."""
    waiting = e.status == "scored" and any(s.get("status") == "pending" for s in e.scores)
    return "scored, provisional" if waiting else e.status


def reasons(scores: Sequence[dict[str, Any]]) -> str:
    """Each evaluator's score and reason: ``terms 1.000 (found: fine); tone pending (…)``."""
    parts = []
    for s in scores:
        value = fmt.score(s.get("value")) if s.get("status") == "scored" else str(s.get("status"))
        parts.append(f"{s.get('evaluator')} {value} ({s.get('reason')})")
    return "; ".join(parts)
