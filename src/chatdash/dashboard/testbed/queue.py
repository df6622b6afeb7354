"""The Manual queue tab: the scores ``manual`` evaluators wait for, each with what a person needs to
give it (the message, the output, the expected answer and the evaluator's instructions), a 0 to 1
slider, a comment and Save. Saving stores the score as the signed-in admin's and combines the
execution's scores again (``chatdash.evals.give_manual_score``); the item leaves the queue."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from chatdash.dashboard.testbed import data
from chatdash.dashboard.testbed import format as fmt
from chatdash.evals import PendingScore, give_manual_score

SCENARIO = "t_queue_scenario"
SAVED = "t_queue_saved"
"""What the last Save did, shown once at the top of the tab (the save reruns the page)."""
ALL = ""
SHOWN = 10
"""Items drawn at a time: each is a form; saving one brings the next."""
STEP = 0.05


def tab(engine: Engine, user_id: int) -> None:
    saved = st.session_state.pop(SAVED, None)
    if saved is not None:
        st.success(saved, icon=":material/check_circle:")
    read = data.pending()
    items = list(read)
    if not items:
        st.info(
            "Nothing waits for a person: scenarios with a `manual` evaluator queue their executions here.",
            icon=":material/task_alt:",
        )
        return
    scenarios = sorted({p.scenario for p in items})
    if st.session_state.get(SCENARIO, ALL) not in (ALL, *scenarios):
        st.session_state[SCENARIO] = ALL
    chosen = st.selectbox(
        "Scenario",
        [ALL, *scenarios],
        key=SCENARIO,
        format_func=lambda name: "All scenarios" if name == ALL else name,
    )
    if chosen != ALL:
        items = [p for p in items if p.scenario == chosen]
    more = f" (the first {fmt.count(data.QUEUE)} read)" if len(read) >= data.QUEUE else ""
    st.caption(
        f"{fmt.plural(len(items), 'score waits', 'scores wait')}{more}, the newest run first; "
        f"{fmt.count(min(SHOWN, len(items)))} shown. Saving one shows the next."
    )
    for item in items[:SHOWN]:
        _item(engine, user_id, item)


def _key(item: PendingScore, what: str) -> str:
    return f"t_{what}_{item.execution_id}_{item.evaluator}"


def _item(engine: Engine, user_id: int, item: PendingScore) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{item.scenario}** · case `{item.case_id}` · repeat {item.repeat} · "
            f"evaluator **{item.evaluator}** · run `{item.run_id[:8]}` ({fmt.variant(item.variant)})"
        )
        st.caption(f"Look for: {item.instructions}" if item.instructions else "Score the output from 0 to 1.")
        if item.error:
            st.error(f"The run failed: {item.error}", icon=":material/error:")
        asked, replied, wanted = st.columns(3)
        with asked:
            st.markdown("**Input**")
            st.code(item.input, language=None, wrap_lines=True)
        with replied:
            st.markdown("**Output**")
            st.code(item.output or "(nothing)", language=None, wrap_lines=True)
        with wanted:
            st.markdown("**Expected**")
            st.code(_expected(item.expected), language=None, wrap_lines=True)
        others = fmt.score(item.provisional)
        with st.form(_key(item, "form"), border=False):
            score_column, comment_column = st.columns([1, 2])
            score = score_column.slider(
                "Score (0 to 1)",
                0.0,
                1.0,
                0.5,
                STEP,
                key=_key(item, "score"),
                help="0: wrong or useless; 1: as wanted",
            )
            comment = comment_column.text_input(
                "Comment (optional)", key=_key(item, "comment"), max_chars=4_000
            )
            st.caption(f"The other evaluators' combined score so far: {others}.")
            if st.form_submit_button(
                "Save score", type="primary", icon=":material/save:", key=_key(item, "save")
            ):
                _save(engine, user_id, item, score, comment)


def _save(engine: Engine, user_id: int, item: PendingScore, score: float, comment: str) -> None:
    total = give_manual_score(engine, item.execution_id, item.evaluator, score, comment, user_id)
    data.clear()
    st.session_state[SAVED] = (
        f"Saved {item.evaluator} {fmt.score(score)} for case {item.case_id}, repeat {item.repeat}: "
        f"the execution's combined score is now {fmt.score(total.value)} ({total.status})."
    )
    st.rerun()


def _expected(value: Any) -> str:
    if value is None:
        return "(none given)"
    return value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
