"""The Compare tab: a candidate run (b) against a baseline (a), case by case, with
``chatdash.evals.compare`` (as `chatdash eval compare`): the mean difference with its interval, the
paired sign-flip test's p-value, the effect size and the verdict. Both runs are part of the view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from chatdash.dashboard.testbed import data
from chatdash.dashboard.testbed import format as fmt
from chatdash.dashboard.testbed.runs import label
from chatdash.evals import Comparison, queries

A = "t_a"
B = "t_b"
HELP = {
    "cases": "Cases with a score in both runs; the others are left out (named below).",
    "difference": (
        "Mean over the compared cases of (b's case mean - a's case mean), with its 95 % interval from "
        "a two-level bootstrap (cases, then each run's repeats)."
    ),
    "p": (
        "Two-sided paired sign-flip test over the cases' differences: the chance of a difference this "
        "large if a and b were interchangeable within every case."
    ),
    "effect": "Cohen's d_z: the mean difference over the standard deviation of the cases' differences.",
    "verdict": (
        "better / worse when the p-value is below alpha = 1 - confidence; else no significant difference."
    ),
}
_VERDICTS = {
    "better": ":green-badge[:material/trending_up: better]",
    "worse": ":red-badge[:material/trending_down: worse]",
}


def tab(runs: Sequence[queries.RunRow]) -> None:
    if len(runs) < 2:
        st.info(
            "Comparing needs two runs (of one scenario, with two variants, say).", icon=":material/compare:"
        )
        return
    known = {r.id: r for r in runs}
    for key in (A, B):  # a linked run that is not listed (older ones) still opens
        chosen = st.session_state.get(key)
        if chosen and chosen not in known and (found := data.run(chosen)) is not None:
            known[chosen] = found
    labels = {run_id: label(r) for run_id, r in known.items()}
    left, right = st.columns(2)
    for column, key, title in ((left, A, "Baseline run (a)"), (right, B, "Candidate run (b)")):
        if st.session_state.get(key) not in labels:
            st.session_state[key] = None
        column.selectbox(
            title,
            list(labels),
            key=key,
            format_func=labels.__getitem__,
            index=None,
            placeholder="Choose a run",
        )
    a, b = st.session_state[A], st.session_state[B]
    if a is None or b is None:
        st.info(
            "Choose a baseline run (a) and a candidate run (b): b is compared with a.",
            icon=":material/compare:",
        )
        return
    if a == b:
        st.info("Choose two different runs.", icon=":material/compare:")
        return
    if known[a].scenario != known[b].scenario:
        st.warning(
            f"Run a is of {known[a].scenario} and run b of {known[b].scenario}: only cases with the same id "
            "are compared.",
            icon=":material/warning:",
        )
    result = data.comparison(a, b)
    if isinstance(result, str):
        st.warning(f"These runs cannot be compared: {result}.", icon=":material/block:")
        return
    show(result)


def show(c: Comparison) -> None:
    cards = st.columns(4)
    d = c.mean_difference
    _metric(cards[0], "Cases compared", fmt.count(c.cases), "cases", f"{fmt.count(len(c.left_out))} left out")
    _metric(
        cards[1],
        "Mean difference (b - a)",
        fmt.signed(d.value),
        "difference",
        f"{d.confidence:.0%} CI {fmt.signed(d.low)} to {fmt.signed(d.high)}",
    )
    p = f"{c.p_value:.4f}" + (f" (adjusted {c.p_adjusted:.4f})" if c.p_adjusted is not None else "")
    _metric(cards[2], "p-value", p, "p", c.test)
    effect = f"{c.effect_size:.2f}" if c.effect_size is not None else fmt.DASH
    _metric(cards[3], "Effect size (d_z)", effect, "effect")
    st.markdown(verdict(c), help=HELP["verdict"])
    if c.left_out:
        st.caption(
            "Left out (scored in one run only): "
            + ", ".join(c.left_out[:20])
            + (" …" if len(c.left_out) > 20 else "")
        )
    ranked = sorted(c.differences, key=lambda x: (x.difference, x.case_id))
    st.dataframe(
        {
            "case": [x.case_id for x in ranked],
            "a": [x.a for x in ranked],
            "b": [x.b for x in ranked],
            "difference": [x.difference for x in ranked],
        },
        hide_index=True,
        column_config={
            "case": st.column_config.TextColumn("Case"),
            "a": st.column_config.NumberColumn("Mean in a", format="%.3f"),
            "b": st.column_config.NumberColumn("Mean in b", format="%.3f"),
            "difference": st.column_config.NumberColumn("b - a", format="%+.3f"),
        },
        key="t_compare_table",
    )


def verdict(c: Comparison) -> str:
    """The verdict in a sentence, its word as a coloured badge."""
    if c.verdict in _VERDICTS:
        return f"**Verdict:** run b is {_VERDICTS[c.verdict]} than run a (p below alpha {c.alpha:g})."
    return (
        f"**Verdict:** :gray-badge[no significant difference] between run b and run a at alpha {c.alpha:g}: "
        "more repeats or cases may tell them apart."
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
