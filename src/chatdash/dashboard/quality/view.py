"""The AI-quality page's view as URL query parameters, so that a shared link reproduces what was seen.

Pure Python, the rules of the Sales page's links (``chatdash.dashboard.state``): a link is never
refused; a value that cannot be used falls back to the default or the nearest usable value, with a
``Notice`` that says so; only what differs from the default is written, so the opening view's link
is the bare URL and follows the traces as days are added.

Parameters: ``start``, ``end`` (YYYY-MM-DD, whole UTC days), ``prompt`` (repeated, ``name@version``),
``model``, ``pipeline``, ``user`` (repeated; matched without regard to case), ``chart``
(time|prompt), ``page`` (the page of traces, from 1) and ``trace`` (the trace drilled into).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from chatdash.dashboard.state import Notice, Params, known_names, link_date, one, page_number
from chatdash.tracing import quality

CHARTS: dict[str, str] = {"time": "Over time", "prompt": "By prompt version"}
"""Chart tab: URL value -> tab label, in tab order."""
DEFAULT_CHART = "time"
PAGE_SIZE = 25
"""Traces per page of the table."""
PARAMS = ("start", "end", "prompt", "model", "pipeline", "user", "chart", "page", "trace")
"""The query parameters this page owns; any other parameter in a URL is left alone."""
_LISTS = (("prompt", "prompts"), ("model", "models"), ("pipeline", "pipelines"), ("user", "users"))
"""URL parameter -> the ``FilterOptions`` / ``QualityView`` field it names."""
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class QualityView:
    """Everything a link says about the page; ``from_params`` never makes one that ends before it starts."""

    start: dt.date
    end: dt.date
    prompts: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    chart: str = DEFAULT_CHART
    page: int = 1
    trace: str | None = None

    def quality_filter(self) -> quality.QualityFilter:
        """The query module's filter; raises ``QueryError`` when the end is before the start."""
        return quality.QualityFilter(
            self.start, self.end, self.prompts, self.models, self.pipelines, self.users
        )


def default_view(days: quality.Days) -> QualityView:
    """The opening view: every day with traces, every prompt version, model, pipeline and user."""
    return QualityView(days.start, days.end)


def from_params(
    params: Params, days: quality.Days, options: quality.FilterOptions
) -> tuple[QualityView, list[Notice]]:
    """The view a link asks for, and a notice for every value that could not be used as given."""
    notices: list[Notice] = []
    start = link_date(
        params, "start", days, days.start, "the first day with traces", notices, holding="the traces"
    )
    end = link_date(params, "end", days, days.end, "the last day with traces", notices, holding="the traces")
    if end < start:
        notices.append(
            Notice(
                f"The end date {end} in the link is before the start date {start}: "
                f"showing {end} to {start} (the two dates swapped).",
                f"The end date {end} is before the start date {start}: swap them (start={end}&end={start}).",
            )
        )
        start, end = end, start
    lists = {
        field: known_names(params, name, getattr(options, field), notices, why="no trace has it")
        for name, field in _LISTS
    }
    chart = one(params, "chart") or DEFAULT_CHART
    if chart not in CHARTS:
        notices.append(
            Notice(
                f"Chart {chart!r} in the link is not one of {', '.join(CHARTS)}: using {DEFAULT_CHART}.",
                f"Chart {chart!r} is not one of {', '.join(CHARTS)}: use one of those.",
            )
        )
        chart = DEFAULT_CHART
    return QualityView(
        start, end, **lists, chart=chart, page=page_number(params, notices), trace=_trace(params, notices)
    ), notices


def to_params(view: QualityView, days: quality.Days) -> dict[str, list[str]]:
    """The query parameters of a view, leaving out every default."""
    params: dict[str, list[str]] = {}
    if view.start != days.start:
        params["start"] = [view.start.isoformat()]
    if view.end != days.end:
        params["end"] = [view.end.isoformat()]
    for name, field in _LISTS:
        if values := getattr(view, field):
            params[name] = list(values)
    if view.chart != DEFAULT_CHART:
        params["chart"] = [view.chart]
    if view.page != 1:
        params["page"] = [str(view.page)]
    if view.trace is not None:
        params["trace"] = [view.trace]
    return params


def _trace(params: Params, notices: list[Notice]) -> str | None:
    """A trace id as the app writes them (32 lowercase hex digits); whether it exists is the page's
    question (``traces.drill_down``)."""
    value = one(params, "trace")
    if value is None:
        return None
    if not _TRACE_ID.match(value.strip().lower()):
        notices.append(
            Notice(
                f"Trace {value!r} in the link is not a trace id: no trace is opened.",
                f"Trace {value!r} is not a trace id (32 hexadecimal digits): copy it from the table.",
            )
        )
        return None
    return value.strip().lower()
