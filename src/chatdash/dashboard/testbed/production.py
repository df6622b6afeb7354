"""The Production tab: what users think of the replies (feedback per pipeline per day), and the
rated replies themselves; one of them becomes a test case in two clicks: its row, then **Add as test
case** (the scenario is preset to one that tests the reply's pipeline, the expected output to the
reply when users rated it well; both can be changed first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from chatdash.dashboard.testbed import charts, data
from chatdash.dashboard.testbed import format as fmt
from chatdash.errors import Conflict, InvalidInput, NotFound
from chatdash.evals import add_case_from_trace, queries, remove_case

TRACE = "t_trace"
TABLE = "t_traces_table"
DONE = "t_added"
"""What the last Add or Remove did, shown once (the write reruns the page)."""
NONE = ""
GOOD = 0.5
"""A reply rated at least this well (mean score) presets the expected output to itself."""
_CHART_CONFIG = {"displaylogo": False}
_ROW_HEIGHT = 35
_COLUMNS = {
    "started": st.column_config.TextColumn("Started (UTC)"),
    "user": st.column_config.TextColumn("User"),
    "pipeline": st.column_config.TextColumn("Pipeline"),
    "input": st.column_config.TextColumn("Message", width="medium"),
    "output": st.column_config.TextColumn("Reply", width="medium"),
    "score": st.column_config.NumberColumn("Rating", format="%.2f", help="Mean feedback score, 0 to 1"),
    "ratings": st.column_config.NumberColumn("Ratings"),
    "comments": st.column_config.TextColumn("Comments", width="medium"),
    "added": st.column_config.TextColumn("Test case of"),
}


def tab(engine: Engine, user_id: int) -> None:
    done = st.session_state.pop(DONE, None)
    if done is not None:
        st.success(done, icon=":material/check_circle:")
    days = data.feedback_by_pipeline()
    if not days:
        st.info(
            "No reply has been rated yet: users rate replies in the chat (thumbs, stars or a scale), "
            "and the ratings show here per pipeline and day.",
            icon=":material/reviews:",
        )
    else:
        st.plotly_chart(charts.feedback_over_time(days), key="t-feedback", config=_CHART_CONFIG)
        st.caption(
            "By the UTC day the reply was written; a pipeline is what served the reply (a scenario file "
            "names the pipeline it tests)."
        )
    traces = data.rated_traces()
    if traces:
        st.subheader("Rated replies", anchor=False)
        chosen = _table(traces)
        if chosen is not None:
            add_form(engine, user_id, chosen)
    added(engine)


def _table(traces: Sequence[queries.RatedTrace]) -> queries.RatedTrace | None:
    ids = [t.id for t in traces]
    st.dataframe(
        {
            "started": [fmt.utc(t.started_at) for t in traces],
            "user": [t.user or fmt.DASH for t in traces],
            "pipeline": [t.pipeline for t in traces],
            "input": [fmt.snippet(t.input) for t in traces],
            "output": [fmt.snippet(t.output) for t in traces],
            "score": [t.mean_score for t in traces],
            "ratings": [t.ratings for t in traces],
            "comments": [" · ".join(t.comments) for t in traces],
            "added": [", ".join(t.added_to) for t in traces],
        },
        hide_index=True,
        column_config=_COLUMNS,
        height=min(420, _ROW_HEIGHT * (len(traces) + 1) + 3),
        key=TABLE,
        on_select=_pick_clicked(ids),
        selection_mode="single-row",
    )
    st.caption(
        f"{fmt.plural(len(traces), 'rated reply', 'rated replies')}, newest first (the newest "
        f"{fmt.count(data.TRACES)} are listed). Click one to add it as a test case."
    )
    by_id = {t.id: t for t in traces}
    if st.session_state.get(TRACE, NONE) not in (NONE, *by_id):
        st.session_state[TRACE] = NONE
    st.selectbox(
        "Reply",
        [NONE, *by_id],
        key=TRACE,
        format_func=lambda value: (
            "None (click a row of the table, or choose here)"
            if value == NONE
            else f"{fmt.utc(by_id[value].started_at)} · {by_id[value].pipeline} · rating "
            f"{fmt.score(by_id[value].mean_score)} · {fmt.snippet(by_id[value].input, 60)}"
        ),
    )
    chosen = st.session_state[TRACE]
    return by_id.get(chosen) if chosen != NONE else None


def _pick_clicked(ids: list[str]) -> Callable[[], None]:
    def picked() -> None:
        rows = st.session_state[TABLE].selection.rows
        if rows and rows[0] < len(ids):
            st.session_state[TRACE] = ids[rows[0]]

    return picked


def default_scenario(
    trace: queries.RatedTrace, names: Sequence[str], pipelines: dict[str, str]
) -> str | None:
    """The scenario a trace most likely belongs to: one whose newest run tested the trace's pipeline
    (the first by name), else the only scenario there is; None when that cannot be told."""
    matching = [name for name in names if pipelines.get(name) == trace.pipeline]
    if matching:
        return matching[0]
    return names[0] if len(names) == 1 else None


def add_form(engine: Engine, user_id: int, trace: queries.RatedTrace) -> None:
    st.markdown("#### Add as a test case")
    asked, replied = st.columns(2)
    with asked:
        st.markdown("**Message** (the case's input)")
        st.code(trace.input, language=None, wrap_lines=True)
    with replied:
        rating = f"rated {fmt.score(trace.mean_score)} by {fmt.count(trace.ratings)}"
        st.markdown(f"**Reply** ({rating})")
        st.code(trace.output or "(nothing)", language=None, wrap_lines=True)
    if trace.comments:
        st.caption("Comments: " + " · ".join(trace.comments))
    if trace.added_to:
        st.caption("Already a test case of: " + ", ".join(trace.added_to))
    names = data.scenario_names()
    preset = default_scenario(trace, names, data.scenario_pipelines())
    where, ident = st.columns([2, 1])
    scenario = where.selectbox(
        "Scenario",
        names,
        index=names.index(preset) if preset is not None else None,
        key=f"t_scenario_{trace.id}",
        accept_new_options=True,
        placeholder="Choose a scenario, or type a new name",
        help="The scenario whose next run executes the case (a name from a scenario file).",
    )
    case_id = ident.text_input(
        "Case id (optional)", key=f"t_case_{trace.id}", placeholder=f"prod-{trace.id[:8]}", max_chars=200
    )
    expected = st.text_area(
        "Expected output",
        value=trace.output if trace.mean_score >= GOOD else "",
        key=f"t_expected_{trace.id}",
        help=(
            "What a good reply says: the scenario's evaluators compare the output with it. Preset to the "
            "reply when users rated it well; write the right answer for a poorly rated one."
        ),
    )
    if st.button("Add as test case", type="primary", icon=":material/playlist_add:", key=f"t_add_{trace.id}"):
        _add(engine, user_id, trace, scenario, case_id, expected)


def _add(
    engine: Engine, user_id: int, trace: queries.RatedTrace, scenario: str | None, case_id: str, expected: str
) -> None:
    if not scenario:
        st.warning("Choose a scenario, or type a new name, first.", icon=":material/warning:")
        return
    if not expected.strip():
        st.warning(
            "Write the expected output first: it is what the case is scored against.",
            icon=":material/warning:",
        )
        return
    try:
        case = add_case_from_trace(engine, scenario, trace.id, expected.strip(), user_id, case_id or None)
    except (Conflict, InvalidInput, NotFound) as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    data.clear()
    st.session_state[DONE] = (
        f"Added case {case.id} to scenario {scenario.strip()}: its next run executes it "
        f"(`chatdash eval run` with the scenario's file)."
    )
    st.rerun()


def added(engine: Engine) -> None:
    """The cases added from production, with a way to take one out again."""
    cases = data.added_cases()
    with st.expander(f"Cases added from production ({fmt.count(len(cases))})", expanded=False):
        if not cases:
            st.caption("None yet.")
            return
        st.dataframe(
            {
                "scenario": [c.scenario for c in cases],
                "case": [c.case.id for c in cases],
                "input": [fmt.snippet(c.case.input) for c in cases],
                "expected": [fmt.snippet(_text(c.case.expected)) for c in cases],
                "added": [fmt.utc(c.created_at) for c in cases],
            },
            hide_index=True,
            column_config={
                "scenario": st.column_config.TextColumn("Scenario"),
                "case": st.column_config.TextColumn("Case"),
                "input": st.column_config.TextColumn("Input", width="medium"),
                "expected": st.column_config.TextColumn("Expected", width="medium"),
                "added": st.column_config.TextColumn("Added (UTC)"),
            },
            key="t_added_table",
        )
        keys = [f"{c.scenario}\x00{c.case.id}" for c in cases]
        which, go = st.columns([3, 1], vertical_alignment="bottom")
        chosen = which.selectbox(
            "Remove a case",
            keys,
            index=None,
            key="t_remove",
            format_func=lambda key: " · ".join(key.split("\x00")),
            placeholder="Choose a case to remove",
        )
        if (
            go.button("Remove", key="t_remove_go", disabled=chosen is None, icon=":material/delete:")
            and chosen
        ):
            scenario, case_id = chosen.split("\x00")
            remove_case(engine, scenario, case_id)
            data.clear()
            st.session_state[DONE] = f"Removed case {case_id} from scenario {scenario}."
            st.session_state.pop("t_remove", None)
            st.rerun()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
