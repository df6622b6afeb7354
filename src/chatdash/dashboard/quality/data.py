"""The AI-quality page's only way to the traces: ``chatdash.tracing.quality`` behind Streamlit's caches.

As the Sales page's ``data``: each result is cached per argument set for ``TTL`` (the filter is a
frozen, normalised dataclass), errors are never cached, the page's Refresh button calls ``clear``;
the engine is the Sales page's cached one. A trace's spans never change once written, but a trace
id that is not there yet (traces are written in the background) is not cached as missing for long.
"""

from __future__ import annotations

import streamlit as st

from chatdash.dashboard.data import TTL, engine
from chatdash.tracing import quality


@st.cache_data(ttl=TTL, show_spinner=False)
def options() -> quality.FilterOptions:
    return quality.filter_options(engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def key_metrics(flt: quality.QualityFilter) -> quality.QualityMetrics:
    return quality.key_metrics(engine(), flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def daily(flt: quality.QualityFilter) -> list[quality.DayQuality]:
    return quality.daily(engine(), flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def by_prompt_version(flt: quality.QualityFilter) -> list[quality.PromptQuality]:
    return quality.by_prompt_version(engine(), flt)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def trace_page(flt: quality.QualityFilter, offset: int, limit: int) -> quality.TracePage:
    return quality.trace_page(engine(), flt, offset, limit)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def trace(trace_id: str) -> tuple[quality.TraceRow | None, list[quality.SpanRow]]:
    """The trace and its spans, or ``(None, [])`` for an id with no trace."""
    row = quality.get_trace(engine(), trace_id)
    return row, quality.trace_spans(engine(), trace_id) if row is not None else []


def clear() -> None:
    """Forget every cached result (the Refresh button); the engine stays."""
    for cached in (options, key_metrics, daily, by_prompt_version, trace_page, trace):
        cached.clear()
