"""The test bed's shipped scenarios and its sales case generator, on SQLite and PostgreSQL.

``sales_cases`` computes each question's expected answer with its own SQL over the raw rows; here the
product is asked the same questions (``read_conversation`` then ``answer``, as the chat does) and must
give the same figure to the cent and every expected term in its sentence. A mismatch is a bug on one
side or the other, and the assertion lists each one with what the product read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chatdash.errors import InvalidInput, QueryError
from chatdash.evals.evaluators import build_evaluator
from chatdash.evals.generators import GENERATORS, sales_cases
from chatdash.evals.scenario import load_scenario
from chatdash.evals.types import Execution
from chatdash.llm import create
from chatdash.pipeline import Pipeline
from chatdash.sales import Vocabulary, answer, load_vocabulary, read_conversation, read_question
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames
from tests.conftest import Database

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROWS, SEED = 20_000, 11
MIN_CASES = 300
MIN_EXACT = 0.95
KINDS = (
    "revenue-year-", "revenue-quarter-", "revenue-month-", "revenue-half-", "revenue-range-",
    "revenue-day-", "revenue-category-", "revenue-product-", "revenue-all-time", "revenue-last-year",
    "revenue-ytd", "revenue-last-30-days", "orders-", "units-", "aov-", "customers-", "unit-price-",
    "top-products-", "bottom-products-", "top-categories-", "bottom-categories-", "top-customers-",
    "top-month-", "top-quarter-", "top-year-", "by-category-", "by-product-", "by-month-", "by-quarter-",
    "by-year-", "compare-years-", "compare-categories-", "compare-products-", "share-category-",
    "share-product-",
)  # fmt: skip


def test_sales_cases_are_what_the_product_answers(database: Database) -> None:
    load_frames(database.engine, [generate_frame(ROWS, SEED)], replace=True)
    cases = sales_cases(database.engine)

    assert len(cases) >= MIN_CASES
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    assert len({c.input.lower() for c in cases}) == len(cases), "a question is asked twice"
    missing = [kind for kind in KINDS if not any(c.id.startswith(kind) for c in cases)]
    assert not missing, f"kinds without a case: {missing}"
    for case in cases:
        assert set(case.expected) == {"value", "terms"}, case
        assert isinstance(case.expected["value"], str) and Decimal(case.expected["value"]).is_finite()
        assert case.expected["terms"] and all(isinstance(t, str) and t for t in case.expected["terms"])
    assert sales_cases(database.engine) == cases, "the cases must be the same for the same data"

    # The shipped scenario's own numeric and terms evaluators must give the product's answer full marks.
    tables = [_table(e) for e in load_scenario(SCENARIOS / "sales-qa.yaml").spec.evaluators]
    evaluators = [build_evaluator(t) for t in tables if t["type"] in ("numeric", "terms")]
    vocabulary = load_vocabulary(database.engine)
    exact, declined, wrong = 0, [], []
    for case in cases:
        reading = read_conversation([case.input], vocabulary)
        if reading.spec is None:
            declined.append(f"{case.id}: {case.input!r} -> {reading.declined or 'not a sales question'}")
            continue
        try:
            result = answer(database.engine, reading.spec, reading.notes).as_dict()
        except QueryError as exc:
            declined.append(f"{case.id}: {case.input!r} -> QueryError: {exc}")
            continue
        value, sentence = result["value"], result["sentence"].lower()
        absent = [term for term in case.expected["terms"] if term.lower() not in sentence]
        execution = Execution(case.id, 0, result["sentence"], 0.0, answer=result)
        scores = [asyncio.run(e.score(case, execution)) for e in evaluators]
        same = value is not None and Decimal(str(value)) == Decimal(case.expected["value"])
        if same and not absent and all(s.value == 1.0 for s in scores):
            exact += 1
        else:
            spec = reading.spec.model_dump(mode="json", exclude_defaults=True)
            wrong.append(
                f"{case.id}: {case.input!r}\n    expected {case.expected}\n    got value {value}, "
                f"terms missing {absent}, spec {spec}\n    sentence: {result['sentence']}\n    "
                + "; ".join(
                    f"{e.name}: {s.value} ({s.reason})" for e, s in zip(evaluators, scores, strict=True)
                )
            )
    listed = "\n".join(["wrong:", *wrong, "declined:", *declined])
    assert not wrong and exact >= MIN_EXACT * len(cases), (
        f"{exact}/{len(cases)} exact, {len(wrong)} wrong, {len(declined)} declined on {database.backend} "
        f"(need 0 wrong and {MIN_EXACT:.0%} exact)\n{listed}"
    )


def test_an_empty_sales_table_is_refused(database: Database) -> None:
    with pytest.raises(InvalidInput, match=r"load data first: chatdash init"):
        sales_cases(database.engine)


def test_the_shipped_scenarios_load() -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert {f.stem for f in files} >= {"sales-qa", "support-rag", "chat-smoke"}
    for path in files:
        scenario = load_scenario(path)
        pipeline = Pipeline.from_dict(scenario.pipeline_table(), source=str(path))
        assert pipeline.steps, path
        if scenario.spec.generate is not None:
            assert scenario.spec.generate in GENERATORS, path
        else:
            assert scenario.cases, path
        if scenario.spec.context.documents is not None:
            folder = scenario.folder / scenario.spec.context.documents
            assert len(list(folder.glob("*.md"))) >= 4, f"{path}: no knowledge base in {folder}"

    sales = load_scenario(SCENARIOS / "sales-qa.yaml")
    assert (sales.spec.generate, sales.spec.pipeline, sales.spec.threshold) == ("sales", "chat", 0.8)
    keyed = {t["type"]: t.get("key") for t in map(_table, sales.spec.evaluators)}
    assert keyed == {"numeric": "value", "terms": "terms", "figure_check": None}

    for path in files:  # every evaluator's options are accepted
        for table in map(_table, load_scenario(path).spec.evaluators):
            build_evaluator(table, judge=create("scripted"))

    support = load_scenario(SCENARIOS / "support-rag.yaml")
    assert [s.name for s in Pipeline.from_dict(support.pipeline_table()).steps] == [
        "priority",
        "retrieve",
        "answer",
    ]
    assert 12 <= len(support.cases) <= 20
    for case in support.cases:
        assert case.expected["priority"] in ("P1", "P2", "P3")
        assert case.expected["terms"][0] == case.expected["priority"] and case.expected["answer"]


def test_the_smoke_scenarios_messages_are_not_sales_questions() -> None:
    """A general message the reader took for a sales question would be declined, never answered by
    the model: the smoke scenario would measure the wrong thing."""
    vocabulary = Vocabulary(
        categories=("Electronics", "Office", "Stationery", "Sundry"),
        products=("Chair", "Desk", "Laptop", "Paper", "Pen", "Printer"),
    )
    for case in load_scenario(SCENARIOS / "chat-smoke.yaml").cases:
        assert not read_question(case.input, vocabulary).about_sales, case.input


def _table(spec: Any) -> dict[str, Any]:
    """An evaluator of a scenario as the mapping its file gives."""
    if isinstance(spec, Mapping):
        return dict(spec)
    return dict(spec.model_dump(exclude_unset=True))
