"""The AI-quality page: admin check, filters, key metrics, chart tabs, traces — and its error edge.

Only an admin's session of the chat opens it, in either auth mode (``auth.admin``); anyone else sees
a way to sign in or a refusal, nothing else. The filters work as the Sales page's (``filters``): each
widget's state is seeded from the URL when it has none, and once the view is valid it is written
back, so the URL always holds the view. chatdash errors become messages, as on the Sales page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from chatdash.dashboard import data as sales_data
from chatdash.dashboard import filters, guard, state
from chatdash.dashboard.quality import charts, data, traces
from chatdash.dashboard.quality import format as fmt
from chatdash.dashboard.quality import view as qview
from chatdash.dashboard.state import Notice
from chatdash.tracing import quality

TITLE = "AI quality"
DATES = "q_dates"
PROMPTS = "q_prompts"
MODELS = "q_models"
PIPELINES = "q_pipelines"
USERS = "q_users"
CHART = "q_chart"
_LISTS = ((PROMPTS, "prompts"), (MODELS, "models"), (PIPELINES, "pipelines"), (USERS, "users"))
"""Widget key -> the ``FilterOptions`` / ``QualityView`` field it holds."""
NO_DATA = "No traces for these filters."
_CHART_CONFIG = {"displaylogo": False}
HELP = {
    "requests": "Traces (chat replies, API calls, test-bed runs) that started on these days (UTC).",
    "errors": "Share of the requests that ended in an error (stopped replies count as requests, not errors).",
    "score": "Mean score, in [0, 1], of the feedback given on these replies (thumbs, stars or a scale).",
    "figures": (
        "Share of the checked sales answers whose prose was held back: a number in the model's words "
        "was not a figure of the answer. Checked: the model wrote prose for a sales answer."
    ),
    "latency": "Whole request time, nearest-rank percentile over every request (errors included).",
    "ttft": (
        "Time to the first token of the reply, nearest-rank percentile over the requests that streamed one."
    ),
    "prompt_tokens": "Tokens sent to the model (the main LLM step of each request).",
    "completion_tokens": "Tokens the model wrote (the main LLM step of each request).",
}


def render() -> None:
    st.title(TITLE)
    with guard.errors_shown():
        admin = guard.signed_in_admin()
        if admin is not None:
            _render(admin.username)
    st.html(filters.ENTER_APPLIES_DATES, unsafe_allow_javascript=True)  # last: its empty block goes unseen


def _render(admin: str) -> None:
    options = data.options()
    if options.days is None:
        st.info(
            "There are no traces yet: every chat reply, API call and test-bed run writes one. "
            "Ask the chat something, then Refresh.",
            icon=":material/inbox:",
        )
        st.button("Refresh", key="q_refresh", on_click=data.clear, icon=":material/refresh:")
        return
    days = options.days
    st.caption(f"Traces from {days.start} to {days.end} (days in UTC). Signed in as {admin}.")
    for notice in seed(options):
        st.warning(notice.shown, icon=":material/link_off:")
    chosen = filter_bar(options)
    if chosen is None:
        st.info("Pick the end date of the range.", icon=":material/date_range:")
        return
    flt = chosen.quality_filter()
    chosen = traces.first_page_after_a_change(chosen, flt)
    summary = data.key_metrics(flt)
    chosen = traces.within_pages(chosen, summary.requests)
    write_url(chosen, days)
    key_metrics(summary)
    if summary.requests:
        chart_tabs(flt)
    traces.section(chosen, flt, summary.requests)


def seed(options: quality.FilterOptions) -> list[Notice]:
    """Give each widget without state the URL's value; returns what was wrong in the URL."""
    assert options.days is not None
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    linked, notices = qview.from_params(params, options.days, options)
    values: dict[str, object] = {
        DATES: (linked.start, linked.end),
        CHART: qview.CHARTS[linked.chart],
        traces.PAGE: linked.page,
        traces.TRACE: linked.trace or traces.NONE,
    }
    values |= {key: list(getattr(linked, field)) for key, field in _LISTS}
    # The widgets' state goes when a run does not draw them (another page was open), the page number's
    # (not a widget) does not: on arrival it is the URL's again, and its filter is counted afresh.
    arriving = DATES not in st.session_state
    if arriving:
        traces.forget_pages()
    for key, value in values.items():
        if key not in st.session_state or (arriving and key == traces.PAGE):
            st.session_state[key] = value
    _keep_within(options)
    return notices


def _keep_within(options: quality.FilterOptions) -> None:
    """After a Refresh the days and the values the traces hold may have changed under the widgets."""
    assert options.days is not None
    chosen_dates = st.session_state[DATES]
    bounded = tuple(state.clamp(day, options.days) for day in chosen_dates)
    if bounded != tuple(chosen_dates):
        st.session_state[DATES] = bounded
    for key, field in _LISTS:
        known = getattr(options, field)
        chosen = st.session_state[key]
        if any(value not in known for value in chosen):
            st.session_state[key] = [value for value in chosen if value in known]


def filter_bar(options: quality.FilterOptions) -> qview.QualityView | None:
    """Dates, prompt versions, models, pipelines, users and Refresh in one row; the view, or None
    while only the first day of a new range has been picked."""
    assert options.days is not None
    columns = st.columns([2.6, 2.6, 2.2, 2, 2, 1.4], vertical_alignment="bottom")
    picked = columns[0].date_input(
        "Dates (UTC)",
        min_value=options.days.start,
        max_value=options.days.end,
        format="YYYY-MM-DD",
        key=DATES,
    )
    labels = {
        PROMPTS: ("Prompt versions", "All prompt versions"),
        MODELS: ("Models", "All models"),
        PIPELINES: ("Pipelines", "All pipelines"),
        USERS: ("Users", "All users"),
    }
    for column, (key, field) in zip(columns[1:5], _LISTS, strict=True):
        label, placeholder = labels[key]
        column.multiselect(label, getattr(options, field), key=key, placeholder=placeholder)
    columns[5].button(
        "Refresh",
        key="q_refresh",
        on_click=data.clear,
        icon=":material/refresh:",
        help=f"Figures are cached for up to {int(sales_data.TTL.total_seconds())} s; this reloads them now.",
    )
    if not (isinstance(picked, tuple) and len(picked) == 2):
        return None
    start, end = sorted(picked)
    lists = {field: _in_order(getattr(options, field), st.session_state[key]) for key, field in _LISTS}
    trace = st.session_state[traces.TRACE]
    return qview.QualityView(
        start=start,
        end=end,
        **lists,
        chart=_chart_of(st.session_state[CHART]),
        page=st.session_state[traces.PAGE],
        trace=trace if trace != traces.NONE else None,
    )


def _in_order(known: Sequence[str], chosen: Sequence[str]) -> tuple[str, ...]:
    return tuple(value for value in known if value in chosen)


def _chart_of(label: str) -> str:
    return next((key for key, text in qview.CHARTS.items() if text == label), qview.DEFAULT_CHART)


def write_url(chosen: qview.QualityView, days: quality.Days) -> None:
    """Make the URL say ``chosen``, touching only parameters that change."""
    wanted = qview.to_params(chosen, days)
    for name in qview.PARAMS:
        if name in wanted:
            if st.query_params.get_all(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]


def key_metrics(m: quality.QualityMetrics) -> None:
    """Ten ``st.metric``s in two rows; the fifth column holds the tokens. A grey line under a value
    is a count it is made of, never a change."""
    top, bottom = st.columns(5), st.columns(5)
    _metric(top[0], "Requests", fmt.count(m.requests), "requests")
    _metric(top[1], "Error rate", fmt.rate(m.errors, m.requests), "errors", f"{fmt.count(m.errors)} errors")
    score_note = f"{fmt.count(m.scores)} ratings"
    _metric(top[2], "Mean feedback score", fmt.score(m.mean_score), "score", score_note)
    checked = f"{fmt.count(m.failed)} of {fmt.count(m.checked)} checked"
    _metric(top[3], "Figure check failed", fmt.rate(m.failed, m.checked), "figures", checked)
    _metric(top[4], "Prompt tokens", fmt.count(m.prompt_tokens), "prompt_tokens")
    _metric(bottom[0], "Latency p50", fmt.ms(m.latency_p50_ms), "latency")
    _metric(bottom[1], "Latency p95", fmt.ms(m.latency_p95_ms), "latency")
    _metric(bottom[2], "Time to first token p50", fmt.ms(m.ttft_p50_ms), "ttft")
    _metric(bottom[3], "Time to first token p95", fmt.ms(m.ttft_p95_ms), "ttft")
    _metric(bottom[4], "Completion tokens", fmt.count(m.completion_tokens), "completion_tokens")


def _metric(where: Any, label: str, value: str, meaning: str, note: str | None = None) -> None:
    where.metric(
        label,
        value,
        delta=note,
        delta_color="off",
        delta_arrow="off",
        help=HELP[meaning],
        border=True,
        height="stretch",  # the cards of a row as tall as each other, with or without a note
    )


def chart_tabs(flt: quality.QualityFilter) -> None:
    """Over time and by prompt version; only the open tab asks for its data."""
    tabs = st.tabs(list(qview.CHARTS.values()), key=CHART, on_change="rerun")
    for tab, chart in zip(tabs, qview.CHARTS, strict=True):
        with tab:
            if not tab.open:
                continue
            if chart == "time":
                st.plotly_chart(charts.over_time(data.daily(flt)), key="q-chart-time", config=_CHART_CONFIG)
                continue
            rows = data.by_prompt_version(flt)
            st.plotly_chart(charts.by_prompt_version(rows), key="q-chart-prompt", config=_CHART_CONFIG)
            st.dataframe(_prompt_table(rows), hide_index=True)


def _prompt_table(rows: list[quality.PromptQuality]) -> dict[str, list[str]]:
    """The figures per prompt version, exact, beside the chart."""
    return {
        "Prompt version": [row.prompt or charts.NO_PROMPT for row in rows],
        "Requests": [fmt.count(row.metrics.requests) for row in rows],
        "Error rate": [fmt.rate(row.metrics.errors, row.metrics.requests) for row in rows],
        "Latency p50": [fmt.ms(row.metrics.latency_p50_ms) for row in rows],
        "Latency p95": [fmt.ms(row.metrics.latency_p95_ms) for row in rows],
        "TTFT p50": [fmt.ms(row.metrics.ttft_p50_ms) for row in rows],
        "Mean score": [fmt.score(row.metrics.mean_score) for row in rows],
        "Ratings": [fmt.count(row.metrics.scores) for row in rows],
        "Figure check failed": [fmt.rate(row.metrics.failed, row.metrics.checked) for row in rows],
        "Tokens": [fmt.count(row.metrics.total_tokens) for row in rows],
    }
