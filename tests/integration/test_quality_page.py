"""The AI-quality page as Streamlit runs it (AppTest), on SQLite and PostgreSQL.

The figures it shows are checked against the plain-Python computation over the rows the test wrote
(``quality_data``); who sees it is checked for an admin, another user and no session; links restore
the filters, the chart tab, the page of traces and the trace drilled into. AppTest sends no cookies,
so the session's user is put in place of the cookie reader (``auth.visitor``); the real cookie path is
tests/e2e/test_dashboard_browser.py's, and the reader itself is test_dashboard_auth's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from chatdash.config import get_settings
from chatdash.dashboard import APP_PATH, auth
from chatdash.db.engine import _cached_engine, get_engine, session_factory
from chatdash.db.models import User
from tests.conftest import Database, dashboard_url
from tests.integration.quality_data import FIRST_DAY, Seeded, expected, pick, seed, shown

QUALITY = "quality_app.py"
"""The page's script, relative to APP_PATH (what ``AppTest.switch_page`` takes)."""
PAGE_SIZE = 25
OpenPage = Callable[..., AppTest]


def fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    get_settings.cache_clear()
    _cached_engine.cache_clear()


def account(engine: Engine, username: str | None) -> User | None:
    if username is None:
        return None
    with session_factory(engine)() as session:
        return session.scalar(select(User).where(User.username == username))


@pytest.fixture
def navigation(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, str]]]:
    """Every ``st.navigation`` call's pages, as (title, visibility)."""
    calls: list[list[tuple[str, str]]] = []
    real = st.navigation

    def recording(pages: Any, **options: Any) -> Any:
        calls.append([(page.title, page.visibility) for page in pages])
        return real(pages, **options)

    monkeypatch.setattr(st, "navigation", recording)
    return calls


@pytest.fixture
def open_page(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenPage]:
    """Open the AI-quality page signed in as ``username`` (None: no session), in `password` mode, with a
    link's query parameters: the dashboard's bare URL first (the Sales page), then the page's own."""

    def open_(username: str | None, **params: str | list[str]) -> AppTest:
        monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
        monkeypatch.delenv("CHATDASH_AUTH", raising=False)
        user = account(database.engine, username)
        monkeypatch.setattr(auth, "visitor", lambda engine, settings, cookie: user)
        fresh_caches()
        page = AppTest.from_file(str(APP_PATH), default_timeout=60).run()
        page.switch_page(QUALITY)
        for name, value in params.items():
            page.query_params[name] = value
        return page.run()

    fresh_caches()
    yield open_
    get_engine(get_settings()).dispose()
    fresh_caches()


@pytest.fixture
def seeded(database: Database) -> Seeded:
    return seed(database.engine)


def metrics(page: AppTest) -> list[str]:
    return [metric.value for metric in page.metric]


def problems(page: AppTest) -> list[str]:
    return [e.value for e in page.exception] + [e.value for e in page.error]


def newest_first(traces: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in sorted(traces, key=lambda t: (t["started_at"], t["id"]), reverse=True)]


def whole_ms(value: float | None) -> int | None:
    return None if value is None else int(Decimal(repr(value)).quantize(Decimal(1), ROUND_HALF_UP))


def column(page: AppTest, index: int, name: str) -> list[Any]:
    frame = page.dataframe[index].value
    return [None if value != value else value for value in frame[name].tolist()]  # NaN -> None


# -- who sees it -------------------------------------------------------------------------------


def test_an_admin_sees_the_traces_figures(
    seeded: Seeded, open_page: OpenPage, navigation: list[list[tuple[str, str]]]
) -> None:
    page = open_page("alice")
    assert problems(page) == []
    assert navigation[-1] == [("Sales", "visible"), ("AI quality", "visible"), ("Test bed", "visible")]
    assert [t.value for t in page.title] == ["AI quality"]
    assert metrics(page) == shown(expected(seeded.traces, seeded.feedback))
    assert page.query_params == {}  # the opening view's link is the bare URL
    assert page.date_input(key="q_dates").value == (FIRST_DAY, FIRST_DAY + dt.timedelta(days=5))
    assert column(page, 0, "id") == newest_first(seeded.traces)[:PAGE_SIZE]
    assert f"Traces 1 to {PAGE_SIZE} of {len(seeded.traces)} · page 1 of 7" in page.caption[-1].value
    figure = json.loads(page.get("plotly_chart")[0].proto.spec)  # the open tab: over time
    days = sorted({t["started_at"].date().isoformat() for t in seeded.traces})
    assert [x[:10] for x in figure["data"][0]["x"]] == days
    requests = [a + b for a, b in zip(figure["data"][0]["y"], figure["data"][1]["y"], strict=True)]
    assert requests == [sum(t["started_at"].date().isoformat() == d for t in seeded.traces) for d in days]


@pytest.mark.parametrize("username", ["bob", None])
def test_anyone_else_neither_sees_it_nor_opens_it(
    seeded: Seeded, open_page: OpenPage, navigation: list[list[tuple[str, str]]], username: str | None
) -> None:
    page = open_page(username, trace=seeded.traces[0]["id"])
    assert [e.value for e in page.exception] == []
    assert navigation and all(pages[1] == ("AI quality", "hidden") for pages in navigation)
    if username is None:
        assert [i.value for i in page.info] == [auth.ADMIN_SIGN_IN]
        assert [b.label for b in page.link_button] == ["Sign in"]
    else:
        assert [e.value for e in page.error] == [auth.NOT_ADMIN.format(username="bob")]
    assert list(page.metric) == [] and list(page.dataframe) == [] and list(page.date_input) == []
    assert list(page.selectbox) == [] and page.get("plotly_chart") == []


def test_open_mode_still_asks_for_an_admin(
    seeded: Seeded, database: Database, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`open` mode opens the Sales page to anyone, not this one: it shows every user's messages."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    monkeypatch.setenv("CHATDASH_AUTH", "open")
    monkeypatch.setattr(auth, "visitor", lambda engine, settings, cookie: None)
    fresh_caches()
    page = AppTest.from_file(str(APP_PATH), default_timeout=60).run()
    assert next(w.value for w in page.warning).startswith("There are no orders")  # Sales: open
    page.switch_page(QUALITY).run()
    assert [i.value for i in page.info] == [auth.ADMIN_SIGN_IN] and list(page.metric) == []
    admin = account(database.engine, "alice")
    monkeypatch.setattr(auth, "visitor", lambda engine, settings, cookie: admin)
    page.run()
    assert metrics(page) == shown(expected(seeded.traces, seeded.feedback))


def test_without_traces_the_page_says_where_they_come_from(database: Database, open_page: OpenPage) -> None:
    with session_factory(database.engine).begin() as session:
        session.add(User(username="alice", is_admin=True))
    page = open_page("alice")
    assert problems(page) == []
    assert next(i.value for i in page.info).startswith("There are no traces yet")
    assert list(page.metric) == []


# -- links and filters -------------------------------------------------------------------------


def test_a_link_restores_the_filters(seeded: Seeded, open_page: OpenPage) -> None:
    start, end = FIRST_DAY + dt.timedelta(days=1), FIRST_DAY + dt.timedelta(days=4)
    page = open_page(
        "alice",
        start=start.isoformat(),
        end=end.isoformat(),
        user=["Bob", "alice"],
        prompt=["chat-system@2", "chat-system@1"],
        pipeline="chat",
    )
    assert problems(page) == [] and [w.value for w in page.warning] == []
    given: dict[str, Any] = {
        "start": start,
        "end": end,
        "users": ("alice", "bob"),
        "prompts": ("chat-system@1", "chat-system@2"),
        "pipelines": ("chat",),
    }
    traces = pick(seeded.traces, **given)
    assert metrics(page) == shown(expected(traces, seeded.feedback))
    assert page.date_input(key="q_dates").value == (start, end)
    assert page.multiselect(key="q_users").value == ["alice", "bob"]
    assert page.multiselect(key="q_prompts").value == ["chat-system@1", "chat-system@2"]
    assert page.multiselect(key="q_pipelines").value == ["chat"]
    assert page.multiselect(key="q_models").value == []
    assert page.query_params == {  # spelled as the traces have them
        "start": start.isoformat(),
        "end": end.isoformat(),
        "prompt": ["chat-system@1", "chat-system@2"],
        "pipeline": "chat",
        "user": ["alice", "bob"],
    }
    assert column(page, 0, "id") == newest_first(traces)[:PAGE_SIZE]

    page.multiselect(key="q_models").set_value(["qwen2.5-0.5b"]).run()  # a choice goes into the link
    assert page.query_params["model"] == "qwen2.5-0.5b"
    traces = pick(seeded.traces, **given, models=("qwen2.5-0.5b",))
    assert metrics(page) == shown(expected(traces, seeded.feedback))


def test_what_a_link_gets_wrong_is_said_and_mended(seeded: Seeded, open_page: OpenPage) -> None:
    page = open_page("alice", start="2020-01-01", end="not a date", user="zoe", chart="pie", page="x")
    assert [e.value for e in page.exception] == []
    assert [w.value for w in page.warning] == [
        f"The start date 2020-01-01 in the link is outside the traces ({FIRST_DAY} to "
        f"{FIRST_DAY + dt.timedelta(days=5)}): using {FIRST_DAY}.",
        "The end date 'not a date' in the link is not a date (YYYY-MM-DD): using the last day with traces.",
        "Unknown user 'zoe' in the link was ignored (no trace has it).",
        "Chart 'pie' in the link is not one of time, prompt: using time.",
        "Page 'x' in the link is not a page number: showing page 1.",
    ]
    assert metrics(page) == shown(expected(seeded.traces, seeded.feedback))
    assert page.query_params == {}


def test_the_prompt_tab_from_a_link(seeded: Seeded, open_page: OpenPage) -> None:
    page = open_page("alice", chart="prompt", model="smollm2-135m")
    assert problems(page) == []
    traces = pick(seeded.traces, models=("smollm2-135m",))
    prompts = sorted({t["prompt"] for t in traces}, key=lambda p: (p is None, p or ""))
    assert column(page, 0, "Prompt version") == [p or "(no prompt)" for p in prompts]
    for index, prompt in enumerate(prompts):
        figures = expected([t for t in traces if t["prompt"] == prompt], seeded.feedback)
        row = {name: column(page, 0, name)[index] for name in ("Requests", "Error rate", "Mean score")}
        requests, errors, score = shown(figures)[:3]
        assert row == {"Requests": requests, "Error rate": errors, "Mean score": score}, prompt
    figure = json.loads(page.get("plotly_chart")[0].proto.spec)
    assert list(reversed(figure["data"][0]["y"])) == [p or "(no prompt)" for p in prompts]


def test_pages_of_traces(seeded: Seeded, open_page: OpenPage) -> None:
    everything = newest_first(seeded.traces)
    page = open_page("alice", page="2")
    assert column(page, 0, "id") == everything[PAGE_SIZE : 2 * PAGE_SIZE]
    assert f"Traces 26 to 50 of {len(everything)} · page 2 of 7" in page.caption[-1].value
    page.button(key="q_next").click().run()
    assert page.query_params["page"] == "3"
    assert column(page, 0, "id") == everything[2 * PAGE_SIZE : 3 * PAGE_SIZE]
    page.switch_page("sales_app.py").run()  # away and back by the navigation, which drops the query
    page.query_params.clear()
    page.switch_page(QUALITY).run()
    assert page.query_params == {} and column(page, 0, "id") == everything[:PAGE_SIZE]

    page.button(key="q_next").click().run()
    page.multiselect(key="q_users").set_value(["carol"]).run()  # another filter: back to page 1
    assert "page" not in page.query_params
    assert column(page, 0, "id") == newest_first(pick(seeded.traces, users=("carol",)))[:PAGE_SIZE]

    past = open_page("alice", page="99")
    assert [w.value for w in past.warning] == [
        "Page 99 is past the last page of these traces: showing page 7."
    ]
    assert past.query_params["page"] == "7" and column(past, 0, "id") == everything[6 * PAGE_SIZE :]


# -- one trace ---------------------------------------------------------------------------------


def test_a_trace_opens_with_its_spans(seeded: Seeded, open_page: OpenPage) -> None:
    trace = seeded.traces[42]
    # A linked trace opens whatever the filter (here: a user no trace has, so the table is empty).
    page = open_page("alice", trace=trace["id"], start="2025-03-06")
    assert [e.value for e in page.exception] == []
    assert page.selectbox(key="q_trace").value == trace["id"]
    spans = seeded.spans[trace["id"]]
    assert column(page, -1, "step") == [spans[0]["name"], "└ recall", "└ reply"]
    assert column(page, -1, "kind") == [s["kind"] for s in spans]
    assert column(page, -1, "status") == [s["status"] for s in spans]
    assert column(page, -1, "latency") == [whole_ms(s["latency_ms"]) for s in spans]
    assert column(page, -1, "model")[2] == (trace["model"] or "—")
    assert column(page, -1, "prompt")[2] == (trace["prompt"] or "—")
    assert column(page, -1, "prompt_tokens")[2] == trace["prompt_tokens"]
    labels = [e.label for e in page.expander]
    assert labels[:2] == ["Input (the message)", "Output (the reply)"]
    assert [label.split(" · ")[0] for label in labels[2:]] == [
        "0. " + spans[0]["name"],
        "1. recall",
        "2. reply",
    ]
    assert [c.value for c in page.code][:2] == [trace["input"], trace["output"] or "(nothing)"]
    assert "not JSON: plain text" in [c.value for c in page.code]  # the reply span's output, as text
    assert {"temperature": 0.2} in [json.loads(j.value) for j in page.json]


def test_choosing_a_trace_puts_it_in_the_link(seeded: Seeded, open_page: OpenPage) -> None:
    page = open_page("alice", user="bob")
    chosen = newest_first(pick(seeded.traces, users=("bob",)))[3]
    assert page.selectbox(key="q_trace").value == ""
    page.selectbox(key="q_trace").set_value(chosen).run()
    assert page.query_params["trace"] == chosen
    assert page.query_params["user"] == "bob"
    assert f"#### Trace `{chosen}`" in [m.value for m in page.markdown]

    gone = open_page("alice", trace="f" * 32)
    assert next(w.value for w in gone.warning).startswith(f"There is no trace {'f' * 32}.")
    bad = open_page("alice", trace="../etc")
    assert [w.value for w in bad.warning] == [
        "Trace '../etc' in the link is not a trace id: no trace is opened."
    ]
