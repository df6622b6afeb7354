"""The Test bed page as Streamlit runs it (AppTest), on SQLite and PostgreSQL.

Runs are made by the real runner (the scripted model behind the real chat pipeline) over a small
inline scenario with a ``manual`` evaluator; production traces and their ratings come from
``quality_data``. The page's figures are checked against what the test computes from the runs'
own executions (the mean of case means, the pass rate) and against ``chatdash.evals.compare``
called directly; its writes (a manual score, a case added from a trace) against the database. As in
test_quality_page, AppTest sends no cookies: the session's user is put in place of ``auth.visitor``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from chatdash.config import get_settings, load_settings
from chatdash.dashboard import APP_PATH, auth
from chatdash.dashboard.testbed import page as testbed
from chatdash.db.engine import _cached_engine, get_engine, session_factory
from chatdash.db.models import EvalCase, EvalExecution, EvalManualScore, User
from chatdash.evals import Runner, RunOutcome, RunReport, compare, parse_scenario
from chatdash.llm import create
from tests.conftest import Database, dashboard_url
from tests.integration.quality_data import Seeded, seed

pytestmark = pytest.mark.timeout(300)

TESTBED = "testbed_app.py"
"""The page's script, relative to APP_PATH (what ``AppTest.switch_page`` takes)."""
SCENARIO = """\
name: support
pipeline: chat
repeat: 2
threshold: 0.6
evaluators:
  - {type: terms, all: [fine]}
  - {type: manual, name: tone, instructions: "Is the reply polite?"}
assertions:
  - {below: 0.3, at_most: 0.5}
cases:
  - {id: hello, input: "Hello there", expected: "I am fine"}
  - {id: weather, input: "How are you today?", expected: "Fine, thanks"}
"""
OpenPage = Callable[..., AppTest]


@dataclass
class World:
    production: Seeded
    first: RunOutcome
    second: RunOutcome


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


def run(db: Database, *replies: str, variant: dict[str, str] | None = None) -> RunOutcome:
    provider = create("scripted", replies=list(replies))
    settings = load_settings(database_url=db.url)
    runner = Runner(
        parse_scenario(SCENARIO), engine=db.engine, settings=settings, provider=provider, variant=variant
    )
    return asyncio.run(runner.run())


@pytest.fixture
def world(database: Database) -> World:
    production = seed(database.engine, count=40)  # alice (an admin), bob, carol; rated replies
    first = run(database, "I am fine.", "Not good.", "fine", "Bad day.")
    second = run(database, *["fine, thanks"] * 4, variant={"temperature": "0.5"})
    return World(production, first, second)


@pytest.fixture
def open_page(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenPage]:
    """Open the Test bed page signed in as ``username`` (None: no session) with a link's parameters."""

    def open_(username: str | None, **params: str) -> AppTest:
        monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
        monkeypatch.delenv("CHATDASH_AUTH", raising=False)
        user = account(database.engine, username)
        monkeypatch.setattr(auth, "visitor", lambda engine, settings, cookie: user)
        fresh_caches()
        page = AppTest.from_file(str(APP_PATH), default_timeout=60).run()
        page.switch_page(TESTBED)
        for name, value in params.items():
            page.query_params[name] = value
        return page.run()

    fresh_caches()
    yield open_
    get_engine(get_settings()).dispose()
    fresh_caches()


# -- the independent side ----------------------------------------------------------------------


def three(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.001"), ROUND_HALF_UP))


def percent(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def mean_of_case_means(outcome: RunOutcome) -> float:
    by_case: dict[str, list[float]] = {}
    for e in outcome.executions:
        if e.score is not None:
            by_case.setdefault(e.case_id, []).append(e.score)
    return sum(sum(v) / len(v) for v in by_case.values()) / len(by_case)


def problems(page: AppTest) -> list[str]:
    return [e.value for e in page.exception] + [e.value for e in page.error]


def metric(page: AppTest, label: str) -> str:
    return next(m.value for m in page.metric if m.label == label)


TABLES = {
    "runs": {"scenario", "variant", "mean", "waiting"},
    "executions": {"case", "repeat", "reasons"},
    "traces": {"pipeline", "input", "output", "ratings"},
}
"""Each table of the page, known by its columns."""


def column(page: AppTest, table: str, name: str) -> list[Any]:
    frame = next(d.value for d in page.dataframe if TABLES[table] <= set(d.value.columns))
    return [None if value != value else value for value in frame[name].tolist()]  # NaN -> None


# -- who sees it -------------------------------------------------------------------------------


def test_an_admin_sees_the_runs_and_a_runs_statistics(world: World, open_page: OpenPage) -> None:
    page = open_page("alice")
    assert problems(page) == []
    assert [t.value for t in page.title] == ["Test bed"]
    assert page.query_params == {}
    newest, oldest = world.second, world.first
    assert column(page, "runs", "id") == [newest.run_id, oldest.run_id]
    assert column(page, "runs", "variant") == ["temperature=0.5", "as written"]
    means = [mean_of_case_means(newest), mean_of_case_means(oldest)]
    assert column(page, "runs", "mean") == pytest.approx(means)
    assert column(page, "runs", "waiting") == [4, 4]  # every execution waits for its tone score

    page.selectbox(key="t_run").set_value(oldest.run_id).run()
    assert page.query_params == {"run": oldest.run_id}
    # Scores: terms 1 or 0, tone pending: provisional 1, 0, 1, 0 -> case means 0.5 and 0.5
    assert metric(page, "Mean score") == three(mean_of_case_means(oldest)) == "0.500"
    passed = sum(1 for e in oldest.executions if e.score is not None and e.score >= 0.6)
    assert metric(page, "Pass rate (≥ 0.6)") == percent(passed, len(oldest.executions))
    assert metric(page, "Below 0.3") == "2" and metric(page, "Waiting for a person") == "4"
    (verdict,) = RunReport.of(oldest, threshold=0.6, assertions=[(0.3, 0.5)]).verdicts
    assert f"Assertion {verdict}" in [m.value for m in [*page.success, *page.warning, *page.error]]
    assert column(page, "executions", "case") == ["hello", "hello", "weather", "weather"]
    assert column(page, "executions", "status") == ["scored, provisional"] * 4
    histogram = json.loads(page.get("plotly_chart")[1].proto.spec)
    assert histogram["data"][0]["y"] == [2, 0, 0, 0, 0, 0, 0, 0, 0, 2]


def test_a_link_opens_a_comparison(world: World, open_page: OpenPage) -> None:
    a, b = world.first, world.second
    page = open_page("alice", tab="compare", a=a.run_id, b=b.run_id)
    assert problems(page) == []
    expected = compare(a.scores(), b.scores())
    assert metric(page, "Cases compared") == "2"
    assert (
        metric(page, "Mean difference (b - a)")
        == f"{Decimal(repr(expected.mean_difference.value)).quantize(Decimal('0.001'), ROUND_HALF_UP):+}"
    )
    assert metric(page, "p-value") == f"{expected.p_value:.4f}"
    assert "no significant difference] between run b and run a at alpha 0.05" in page.markdown[-1].value
    assert expected.verdict == "no significant difference"  # two cases cannot show more
    assert page.query_params == {"tab": "compare", "a": a.run_id, "b": b.run_id}

    wrong = open_page("alice", tab="charts", run="nope")
    assert [w.value for w in wrong.warning] == [
        "Tab 'charts' in the link is not one of runs, compare, queue, production: showing runs.",
        "Run 'nope' in the link is not a run id: none is opened.",
    ]
    assert wrong.query_params == {}


@pytest.mark.parametrize("username", ["bob", None])
def test_anyone_else_neither_sees_it_nor_opens_it(
    world: World, open_page: OpenPage, username: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[list[tuple[str, str]]] = []
    real = st.navigation

    def recording(entries: Any, **options: Any) -> Any:
        pages.append([(entry.title, entry.visibility) for entry in entries])
        return real(entries, **options)

    monkeypatch.setattr(st, "navigation", recording)
    page = open_page(username, run=world.first.run_id)
    assert [e.value for e in page.exception] == []
    assert pages and all(("Test bed", "hidden") in entries for entries in pages)
    if username is None:
        assert [i.value for i in page.info] == [testbed.SIGN_IN]
    else:
        assert [e.value for e in page.error] == [testbed.NOT_ADMIN.format(username="bob")]
    assert list(page.metric) == [] and list(page.dataframe) == [] and list(page.slider) == []

    admin = open_page("alice")
    assert ("Test bed", "visible") in pages[-1]
    assert problems(admin) == []


def test_an_empty_test_bed_says_where_runs_come_from(database: Database, open_page: OpenPage) -> None:
    with session_factory(database.engine).begin() as session:
        session.add(User(username="alice", is_admin=True))
    page = open_page("alice")
    assert problems(page) == []
    assert next(i.value for i in page.info).startswith("There are no runs yet.")
    for tab, says in (
        ("compare", "Comparing needs two runs"),
        ("queue", "Nothing waits for a person"),
        ("production", "No reply has been rated yet"),
    ):
        other = open_page("alice", tab=tab)
        assert problems(other) == [] and next(i.value for i in other.info).startswith(says), tab


# -- what people add ---------------------------------------------------------------------------


def test_the_manual_queue_saves_a_score(world: World, database: Database, open_page: OpenPage) -> None:
    page = open_page("alice", tab="queue")
    assert problems(page) == []
    sliders = list(page.slider)
    assert len(sliders) == 8  # 2 runs x 2 cases x 2 repeats, each waiting for "tone"
    assert "Look for: Is the reply polite?" in [c.value for c in page.caption]
    first = sliders[0]  # the newest run first, then by case and repeat
    execution_id = int(first.key.split("_")[2])
    first.set_value(0.8)
    page.text_input(key=f"t_comment_{execution_id}_tone").set_value("friendly")
    page.button(key=f"t_save_{execution_id}_tone").click().run()
    assert problems(page) == []
    assert [s.value for s in page.success] == [
        "Saved tone 0.800 for case hello, repeat 0: the execution's combined score is now 0.900 (scored)."
    ]
    assert len(page.slider) == 7
    alice = account(database.engine, "alice")
    assert alice is not None
    with session_factory(database.engine)() as session:
        (given,) = session.scalars(select(EvalManualScore)).all()
        assert (given.execution_id, given.evaluator, given.score, given.comment, given.user_id) == (
            execution_id,
            "tone",
            0.8,
            "friendly",
            alice.id,
        )
        execution = session.get(EvalExecution, execution_id)
        assert execution is not None and execution.score == pytest.approx((1.0 + 0.8) / 2)


def test_a_rated_reply_becomes_a_test_case_in_two_clicks(
    world: World, database: Database, open_page: OpenPage
) -> None:
    page = open_page("alice", tab="production")
    assert problems(page) == []
    rated = [
        t
        for t in world.production.traces
        if t["message_id"] is not None
        and any(f["message_id"] == t["message_id"] for f in world.production.feedback)
    ]
    newest = sorted(rated, key=lambda t: (t["started_at"], t["id"]), reverse=True)
    trace = next(t for t in newest if t["pipeline"] == "chat" and t["input"].strip())
    assert len(column(page, "traces", "input")) == len(rated)

    # The feedback chart: per pipeline and UTC day, each reply once, from the rows the test wrote.
    expected: dict[tuple[str, str], list[float]] = {}
    replies = {
        (t["pipeline"], t["started_at"].astimezone(dt.UTC).date().isoformat(), t["message_id"]) for t in rated
    }
    for pipeline, day, message_id in replies:
        expected.setdefault((pipeline, day), []).extend(
            f["score"] for f in world.production.feedback if f["message_id"] == message_id
        )
    figure = json.loads(page.get("plotly_chart")[0].proto.spec)
    plotted = {
        (line["name"], x[:10]): y
        for line in figure["data"]
        if line["type"] == "scatter"
        for x, y in zip(line["x"], line["y"], strict=True)
    }
    assert plotted == pytest.approx({key: sum(v) / len(v) for key, v in expected.items()})

    page.selectbox(key="t_trace").set_value(trace["id"]).run()  # the first click (a row, or here)
    assert page.selectbox(key=f"t_scenario_{trace['id']}").value == "support"  # tests the chat pipeline
    page.text_area(key=f"t_expected_{trace['id']}").set_value("Revenue was 42.")
    page.button(key=f"t_add_{trace['id']}").click().run()  # the second
    assert problems(page) == []
    case_id = f"prod-{trace['id'][:8]}"
    assert [s.value for s in page.success] == [
        f"Added case {case_id} to scenario support: its next run executes it "
        "(`chatdash eval run` with the scenario's file)."
    ]
    with session_factory(database.engine)() as session:
        (row,) = session.scalars(select(EvalCase)).all()
        assert (row.scenario, row.case_id, row.input, row.trace_id) == (
            "support",
            case_id,
            trace["input"],
            trace["id"],
        )
        assert json.loads(row.expected or "null") == "Revenue was 42."
    # Added twice: refused, and said so; the page goes on.
    page.selectbox(key="t_trace").set_value(trace["id"]).run()
    page.text_area(key=f"t_expected_{trace['id']}").set_value("Revenue was 42.")
    page.button(key=f"t_add_{trace['id']}").click().run()
    assert [w.value for w in page.warning] == [
        f"scenario support already has a case '{case_id}': give another case id"
    ]
