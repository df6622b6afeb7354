"""The traces behind the figures: a table a page at a time, and one trace's spans (the drill-down).

The table shows the newest traces first, ``view.PAGE_SIZE`` at a time; the page number is part of the
view (``page`` in the URL), and a change of filter starts again at page 1. A trace is opened by
clicking its row or choosing it in the box under the table; its id is part of the view too
(``trace``), so a link opens the same trace, on whatever page of the table it is (or on none: a
linked trace is shown even when the filters leave it out).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from chatdash.dashboard.quality import data
from chatdash.dashboard.quality import format as fmt
from chatdash.dashboard.quality import view as qview
from chatdash.tracing import quality

PAGE = "q_page"
TRACE = "q_trace"
NONE = ""
"""The trace box's value for "no trace open" (a None option would read as unset)."""
NOTHING_OPEN = "None (click a row of the table, or choose one here)"
TABLE = "q_table"
_FILTERED = "q_filtered"
"""The filter the pages were counted for: when it changes, back to page 1."""
_SNIPPET = 80
_ROW_HEIGHT = 35
_COLUMNS = {
    "started": st.column_config.TextColumn("Started (UTC)"),
    "user": st.column_config.TextColumn("User"),
    "input": st.column_config.TextColumn("Message", width="medium"),
    "status": st.column_config.TextColumn("Status"),
    "latency": st.column_config.NumberColumn("Latency (ms)", format="localized"),
    "ttft": st.column_config.NumberColumn("TTFT (ms)", format="localized", help="Time to first token"),
    "model": st.column_config.TextColumn("Model"),
    "prompt": st.column_config.TextColumn("Prompt version"),
    "prompt_tokens": st.column_config.NumberColumn("Tokens in", format="localized"),
    "completion_tokens": st.column_config.NumberColumn("Tokens out", format="localized"),
    "figure_check": st.column_config.TextColumn("Figure check"),
    "score": st.column_config.NumberColumn("Score", format="%.2f", help="Mean feedback score of the reply"),
    "source": st.column_config.TextColumn("Source"),
    "pipeline": st.column_config.TextColumn("Pipeline"),
    "id": st.column_config.TextColumn("Trace id"),
}
_SPAN_COLUMNS = {
    "step": st.column_config.TextColumn("Step"),
    "kind": st.column_config.TextColumn("Kind"),
    "status": st.column_config.TextColumn("Status"),
    "latency": st.column_config.NumberColumn("Latency (ms)", format="localized"),
    "ttft": st.column_config.NumberColumn("TTFT (ms)", format="localized", help="Time to first token"),
    "model": st.column_config.TextColumn("Model"),
    "prompt": st.column_config.TextColumn("Prompt version"),
    "prompt_tokens": st.column_config.NumberColumn("Tokens in", format="localized"),
    "completion_tokens": st.column_config.NumberColumn("Tokens out", format="localized"),
    "error": st.column_config.TextColumn("Error", width="large"),
}


def first_page_after_a_change(chosen: qview.QualityView, flt: quality.QualityFilter) -> qview.QualityView:
    """Back to page 1 when the filter changes; a linked page number holds on the first run."""
    before = st.session_state.get(_FILTERED)
    st.session_state[_FILTERED] = flt
    if before is not None and before != flt and chosen.page != 1:
        st.session_state[PAGE] = 1
        return dataclasses.replace(chosen, page=1)
    return chosen


def forget_pages() -> None:
    """Forget the filter the pages were counted for (the page is opened anew)."""
    st.session_state.pop(_FILTERED, None)


def within_pages(chosen: qview.QualityView, total: int) -> qview.QualityView:
    """The last page instead of one past it (a link, or traces gone since), with a warning."""
    last = page_count(total)
    if chosen.page <= last:
        return chosen
    st.warning(
        f"Page {fmt.count(chosen.page)} is past the last page of these traces: "
        f"showing page {fmt.count(last)}.",
        icon=":material/last_page:",
    )
    st.session_state[PAGE] = last
    return dataclasses.replace(chosen, page=last)


def page_count(total: int) -> int:
    return max(1, math.ceil(total / qview.PAGE_SIZE))


def section(chosen: qview.QualityView, flt: quality.QualityFilter, total: int) -> None:
    """The table, Previous / Next, the trace box and the open trace."""
    st.subheader("Traces", anchor=False)
    rows: list[quality.TraceRow] = []
    if total == 0:
        st.info("No traces for these filters.", icon=":material/search_off:")
    else:
        page = data.trace_page(flt, (chosen.page - 1) * qview.PAGE_SIZE, qview.PAGE_SIZE)
        rows = page.rows
        ids = [row.id for row in rows]
        st.dataframe(
            _columns(rows),
            hide_index=True,
            column_config=_COLUMNS,
            height=_ROW_HEIGHT * (len(rows) + 1) + 3,
            key=TABLE,
            on_select=_open_clicked(ids),
            selection_mode="single-row",
        )
        _pager(chosen.page, page.total, len(rows))
    drill_down(rows)


def _pager(number: int, total: int, shown: int) -> None:
    pages = page_count(total)
    first = (number - 1) * qview.PAGE_SIZE + 1
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Previous",
            key="q_previous",
            icon=":material/chevron_left:",
            disabled=number == 1,
            on_click=_turn,
            args=(-1,),
        )
        st.button(
            "Next",
            key="q_next",
            icon=":material/chevron_right:",
            disabled=number >= pages,
            on_click=_turn,
            args=(1,),
        )
        st.caption(
            f"Traces {fmt.count(first)} to {fmt.count(first + shown - 1)} of {fmt.count(total)} · "
            f"page {fmt.count(number)} of {fmt.count(pages)} · newest first"
        )


def _turn(by: int) -> None:
    st.session_state[PAGE] = max(1, st.session_state[PAGE] + by)


def _open_clicked(ids: list[str]) -> Callable[[], None]:
    """The table's selection callback: a clicked row opens its trace (un-clicking keeps it open)."""

    def opened() -> None:
        picked = st.session_state[TABLE].selection.rows
        if picked and picked[0] < len(ids):
            st.session_state[TRACE] = ids[picked[0]]

    return opened


def _columns(rows: list[quality.TraceRow]) -> dict[str, list[Any]]:
    """Column-wise data for ``st.dataframe``, in ``_COLUMNS``' order (a missing figure is left empty)."""
    return {
        "started": [fmt.utc(r.started_at) for r in rows],
        "user": [r.user or fmt.DASH for r in rows],
        "input": [_snippet(r.input) for r in rows],
        "status": [r.status for r in rows],
        "latency": [_whole(r.latency_ms) for r in rows],
        "ttft": [_whole(r.ttft_ms) for r in rows],
        "model": [r.model or fmt.DASH for r in rows],
        "prompt": [r.prompt or fmt.DASH for r in rows],
        "prompt_tokens": [r.prompt_tokens for r in rows],
        "completion_tokens": [r.completion_tokens for r in rows],
        "figure_check": [figure_check(r.figure_check) for r in rows],
        "score": [r.mean_score for r in rows],
        "source": [r.source for r in rows],
        "pipeline": [r.pipeline for r in rows],
        "id": [r.id for r in rows],
    }


def figure_check(value: str | None) -> str:
    """``shown``, ``empty`` (no prose), a dash (nothing checked) or ``failed: <why>``."""
    if value is None:
        return fmt.DASH
    if value in (quality.SHOWN, quality.EMPTY):
        return value
    return f"failed: {value}"


def _snippet(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SNIPPET else line[: _SNIPPET - 1] + "…"


# -- one trace ---------------------------------------------------------------------------------


def drill_down(rows: list[quality.TraceRow]) -> None:
    """The trace box (this page's traces, and the open one wherever it is), then the open trace."""
    labels = {row.id: _label(row) for row in rows}
    chosen = st.session_state[TRACE]
    found: tuple[quality.TraceRow | None, list[quality.SpanRow]] = (None, [])
    if chosen != NONE:
        found = data.trace(chosen)
        if chosen not in labels:
            labels[chosen] = _label(found[0]) if found[0] is not None else f"{chosen} (not found)"
    st.selectbox(
        "Open a trace",
        [NONE, *labels],
        key=TRACE,
        format_func=lambda value: (
            "None (click a row of the table, or choose here)" if value == NONE else labels[value]
        ),
    )
    if chosen == NONE:
        return
    row, spans = found
    if row is None:
        st.warning(
            f"There is no trace {chosen}. A trace is written a moment after its reply (Refresh in a "
            "second), and goes when its user is deleted.",
            icon=":material/search_off:",
        )
        return
    _trace(row, spans)


def _label(row: quality.TraceRow) -> str:
    return f"{fmt.utc(row.started_at)} · {row.user or fmt.DASH} · {row.status} · {_snippet(row.input)[:60]}"


def _trace(row: quality.TraceRow, spans: list[quality.SpanRow]) -> None:
    st.markdown(f"#### Trace `{row.id}`")
    facts = [
        f"{fmt.utc(row.started_at)} UTC",
        f"user {row.user or fmt.DASH}",
        f"source {row.source}",
        f"pipeline {row.pipeline}",
        f"status {row.status}",
        f"latency {fmt.ms(row.latency_ms)}",
        f"time to first token {fmt.ms(row.ttft_ms)}",
        f"model {row.model or fmt.DASH}",
        f"prompt {row.prompt or fmt.DASH}",
        f"tokens {_tokens(row.prompt_tokens)} in, {_tokens(row.completion_tokens)} out",
        f"figure check {figure_check(row.figure_check)}",
        f"feedback {fmt.score(row.mean_score)} ({fmt.count(row.scores)} ratings)",
    ]
    st.caption(" · ".join(facts))
    if row.error:
        st.error(row.error, icon=":material/error:")
    asked, replied = st.columns(2)
    with asked.expander("Input (the message)", expanded=True):
        st.code(row.input, language=None, wrap_lines=True)
    with replied.expander("Output (the reply)", expanded=True):
        st.code(row.output or "(nothing)", language=None, wrap_lines=True)
    if not spans:
        st.info("This trace has no spans.", icon=":material/account_tree:")
        return
    st.markdown("**Spans** (pipeline steps, in run order)")
    st.dataframe(_span_columns(spans), hide_index=True, column_config=_SPAN_COLUMNS, key="q_spans")
    for span in spans:
        title = f"{span.position}. {span.name} · {span.kind} · {span.status} · {fmt.ms(span.latency_ms)}"
        with st.expander(f"{title}: input, output, attributes"):
            if span.error:
                st.error(span.error, icon=":material/error:")
            for column, (name, value) in zip(
                st.columns(3),
                (("Input", span.input), ("Output", span.output), ("Attributes", span.attributes)),
                strict=True,
            ):
                with column:
                    st.markdown(f"**{name}**")
                    _value(value)


def _whole(value: float | None) -> int | None:
    """Milliseconds as the metrics round them (half up), for a table column of whole numbers."""
    return None if value is None else int(fmt.ms(value).removesuffix(" ms").replace(",", ""))


def _tokens(value: int | None) -> str:
    return fmt.DASH if value is None else fmt.count(value)


def _value(value: Any) -> None:
    if value is None or value == {} or value == []:
        st.caption("(none)")
    elif isinstance(value, dict | list):
        st.json(value, expanded=2)
    else:
        st.code(str(value), language=None, wrap_lines=True)


def _span_columns(spans: list[quality.SpanRow]) -> dict[str, list[Any]]:
    return {
        "step": [span.name if span.parent_id is None else f"└ {span.name}" for span in spans],
        "kind": [span.kind for span in spans],
        "status": [span.status for span in spans],
        "latency": [_whole(span.latency_ms) for span in spans],
        "ttft": [_whole(span.ttft_ms) for span in spans],
        "model": [span.model or fmt.DASH for span in spans],
        "prompt": [span.prompt or fmt.DASH for span in spans],
        "prompt_tokens": [span.prompt_tokens for span in spans],
        "completion_tokens": [span.completion_tokens for span in spans],
        "error": [span.error or "" for span in spans],
    }
