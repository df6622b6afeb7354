"""The Test bed page's only way to the data: ``chatdash.evals`` behind Streamlit's caches.

As the other pages' ``data``: each result is cached per argument set for ``TTL``, errors are never
cached, the page's Refresh button and every write (a manual score, an added case) call ``clear``;
the engine is the Sales page's cached one. Writes go straight to ``chatdash.evals``, never cached.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard.data import TTL, engine
from chatdash.evals import (
    AddedCase,
    Comparison,
    PendingScore,
    RunReport,
    compare,
    list_added_cases,
    load_outcome,
    pending_manual,
    queries,
)

RUNS = 500
"""Runs the page lists (the newest); a linked older run still opens."""
QUEUE = 200
"""Pending scores the queue reads at a time."""
TRACES = 200
"""Rated production traces the Production tab lists (the newest)."""


@st.cache_data(ttl=TTL, show_spinner=False)
def runs() -> list[queries.RunRow]:
    return queries.runs(engine(), limit=RUNS)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def run(run_id: str) -> queries.RunRow | None:
    return queries.get_run(engine(), run_id)


@st.cache_data(ttl=TTL, show_spinner="Computing the run's statistics…", max_entries=32)
def report(run_id: str) -> RunReport | None:
    """The run's statistics with its own threshold and assertions (as `chatdash eval report`)."""
    row = queries.get_run(engine(), run_id)
    if row is None:
        return None
    return RunReport.of(load_outcome(engine(), run_id), threshold=row.threshold, assertions=row.assertions)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=32)
def executions(run_id: str) -> list[queries.ExecutionRow]:
    return queries.executions(engine(), run_id)


@st.cache_data(ttl=TTL, show_spinner="Comparing the runs…", max_entries=32)
def comparison(a: str, b: str) -> Comparison | str:
    """B against A (as `chatdash eval compare`), or why they cannot be compared."""
    try:
        return compare(load_outcome(engine(), a).scores(), load_outcome(engine(), b).scores())
    except ValueError as exc:  # no case scored in both runs
        return str(exc)


@st.cache_data(ttl=TTL, show_spinner=False)
def pending() -> list[PendingScore]:
    return pending_manual(engine(), limit=QUEUE)


@st.cache_data(ttl=TTL, show_spinner=False)
def feedback_by_pipeline() -> list[queries.PipelineDay]:
    return queries.feedback_by_pipeline(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def rated_traces() -> list[queries.RatedTrace]:
    return queries.rated_traces(engine(), limit=TRACES)


@st.cache_data(ttl=TTL, show_spinner=False)
def scenario_names() -> list[str]:
    return queries.scenario_names(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def scenario_pipelines() -> dict[str, str]:
    return queries.scenario_pipelines(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def added_cases() -> list[AddedCase]:
    return list_added_cases(engine())


def clear() -> None:
    """Forget every cached result (Refresh, and after every write); the engine stays."""
    for cached in (
        runs,
        run,
        report,
        executions,
        comparison,
        pending,
        feedback_by_pipeline,
        rated_traces,
        scenario_names,
        scenario_pipelines,
        added_cases,
    ):
        cached.clear()
