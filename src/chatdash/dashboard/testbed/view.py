"""The Test bed page's view as URL query parameters, so that a shared link opens the same run or
comparison. Pure Python, the rules of the other pages' links: a link is never refused; a value that
cannot be used is dropped with a ``Notice`` that says so; only what differs from the default is
written, so the opening view's link is the bare URL.

Parameters: ``tab`` (runs|compare|queue|production), ``run`` (the run opened on the Runs tab), ``a``
and ``b`` (the baseline and the candidate run of the Compare tab). Whether a run id exists is the
page's question; here it only has to look like one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatdash.dashboard.state import Notice, Params, one

TABS: dict[str, str] = {
    "runs": "Runs",
    "compare": "Compare",
    "queue": "Manual queue",
    "production": "Production",
}
"""Tab: URL value -> label, in tab order."""
DEFAULT_TAB = "runs"
PARAMS = ("tab", "run", "a", "b")
"""The query parameters this page owns; any other parameter in a URL is left alone."""
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_RUN_PARAMS = {"run": "Run", "a": "Baseline run (a)", "b": "Candidate run (b)"}


@dataclass(frozen=True, slots=True)
class TestbedView:
    """Everything a link says about the page."""

    __test__ = False  # not a pytest class, whatever its name

    tab: str = DEFAULT_TAB
    run: str | None = None
    a: str | None = None
    b: str | None = None


def from_params(params: Params) -> tuple[TestbedView, list[Notice]]:
    """The view a link asks for, and a notice for every value that could not be used as given."""
    notices: list[Notice] = []
    tab = one(params, "tab") or DEFAULT_TAB
    if tab not in TABS:
        notices.append(
            Notice(
                f"Tab {tab!r} in the link is not one of {', '.join(TABS)}: showing {DEFAULT_TAB}.",
                f"Tab {tab!r} is not one of {', '.join(TABS)}: use one of those.",
            )
        )
        tab = DEFAULT_TAB
    ids = {name: _run_id(params, name, notices) for name in _RUN_PARAMS}
    return TestbedView(tab, ids["run"], ids["a"], ids["b"]), notices


def to_params(view: TestbedView) -> dict[str, list[str]]:
    """The query parameters of a view, leaving out every default."""
    params: dict[str, list[str]] = {}
    if view.tab != DEFAULT_TAB:
        params["tab"] = [view.tab]
    for name in _RUN_PARAMS:
        value = getattr(view, name)
        if value is not None:
            params[name] = [value]
    return params


def is_run_id(value: str) -> bool:
    return bool(_RUN_ID.match(value))


def _run_id(params: Params, name: str, notices: list[Notice]) -> str | None:
    value = one(params, name)
    if value is None:
        return None
    if not is_run_id(value.strip().lower()):
        notices.append(
            Notice(
                f"{_RUN_PARAMS[name]} {value!r} in the link is not a run id: none is opened.",
                f"{_RUN_PARAMS[name]} {value!r} is not a run id (32 hexadecimal digits): "
                "copy it from the table.",
            )
        )
        return None
    return value.strip().lower()
