"""The question set (``tests/integration/question_set.py``) asked of the product on SQLite and
PostgreSQL: hundreds of questions of many kinds, each scored against figures computed with Polars over
the raw rows.

The bar: no wrong figure anywhere, and at least 95 % of the answerable questions answered exactly.
When it is not met, the failure lists every question below the bar with what the reader made of it
and what it should have been, so the product can be fixed against it. The per-kind table is printed
(``pytest -s``) and written to ``test-artifacts/question_set_<backend>.txt``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from chatdash.sales import load_vocabulary
from tests.conftest import Database
from tests.integration.question_set import DECLINED, EXACT, WRONG, build, failures, run, table

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MIN_QUESTIONS = 300
MIN_KINDS = 20
MIN_EXACT = 0.95


def test_the_set_is_large_varied_and_deterministic(sample_frame: pl.DataFrame) -> None:
    last = sample_frame["order_date"].max()
    assert isinstance(last, dt.date)
    questions = build(last)
    assert len(questions) >= MIN_QUESTIONS
    assert len({q.kind for q in questions}) >= MIN_KINDS
    assert len({q.messages for q in questions}) == len(questions), "a question is in the set twice"
    assert build(last) == questions


def test_the_question_set_is_answered_exactly(loaded: Database, sample_frame: pl.DataFrame) -> None:
    last = sample_frame["order_date"].max()
    assert isinstance(last, dt.date)
    questions = build(last)
    assert len(questions) >= MIN_QUESTIONS
    assert len({q.kind for q in questions}) >= MIN_KINDS

    vocabulary = load_vocabulary(loaded.engine)
    assert vocabulary.last == last, "the database does not hold the sample rows"
    outcomes = run(questions, vocabulary, loaded.engine, sample_frame)

    report = table(outcomes, f"question set on {loaded.backend}")
    print(f"\n{report}")
    ARTIFACTS.mkdir(exist_ok=True)
    listed = failures(outcomes)
    (ARTIFACTS / f"question_set_{loaded.backend}.txt").write_text(
        f"{report}\n\n{listed or 'every question answered exactly'}\n", encoding="utf-8"
    )

    answerable = [o for o in outcomes if not o.question.intent.decline]
    exact = sum(o.result == EXACT for o in answerable)
    wrong = sum(o.result == WRONG for o in outcomes)
    declined = sum(o.result == DECLINED for o in answerable)
    assert wrong == 0 and exact >= MIN_EXACT * len(answerable), (
        f"{wrong} wrong, {declined} declined, {exact}/{len(answerable)} answerable questions exact "
        f"(need 0 wrong and {MIN_EXACT:.0%} exact)\n{report}\n\n{listed}"
    )
