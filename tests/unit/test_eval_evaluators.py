"""The test bed's evaluators, built from scenario mappings as a scenario file gives them, scoring
executions as the runner records them. The semantic judge talks to the scripted provider through the
real ``Provider.structured`` (its retries included); the embedding method gets a fake embedder."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

import pytest

from chatdash.errors import InvalidInput, ModelUnavailable
from chatdash.evals.evaluators import (
    DEFAULT_RUBRIC,
    EVALUATOR_TYPES,
    Evaluator,
    EvaluatorError,
    JudgedScore,
    SemanticOptions,
    build_evaluator,
    combine,
    extract_numbers,
    parse_spec,
)
from chatdash.evals.types import Case, Execution, Score
from chatdash.llm import create
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.sales import DateRange, QuerySpec, SalesAnswer

pytestmark = pytest.mark.timeout(30)

QUESTION = "What was the revenue in 2019?"
SENTENCE = "Revenue in 2019: 2,008,648.41."


def case(expected: Any = None, **fields: Any) -> Case:
    return Case(id=fields.pop("id", "c1"), input=fields.pop("input", QUESTION), expected=expected, **fields)


def run(output: str = "", **fields: Any) -> Execution:
    return Execution(
        case_id="c1", repeat=0, output=output, latency_ms=fields.pop("latency_ms", 100.0), **fields
    )


def score(spec: dict[str, Any], execution: Execution, the_case: Case | None = None, **deps: Any) -> Score:
    evaluator = build_evaluator(spec, **deps)
    return asyncio.run(evaluator.score(the_case or case(), execution))


def judge(*replies: Any) -> ScriptedProvider:
    provider = create("scripted", replies=list(replies))
    assert isinstance(provider, ScriptedProvider)
    return provider


def verdict(value: Any, reason: str = "close enough") -> str:
    return json.dumps({"score": value, "reason": reason})


def sales_answer() -> dict[str, Any]:
    spec = QuerySpec(start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31))
    result = SalesAnswer(
        spec=spec,
        value=Decimal("2008648.41"),
        orders=6000,
        description="Revenue, 2019-01-01 to 2019-12-31",
        span=DateRange(dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
    )
    return result.as_dict()


# -- building --------------------------------------------------------------------------------------


def test_name_weight_and_type_defaults() -> None:
    evaluator = build_evaluator({"type": "terms", "all": ["reset button", "3 seconds"], "weight": 2})
    assert (evaluator.name, evaluator.type, evaluator.weight) == ("terms", "terms", 2.0)
    named = build_evaluator({"type": "exact", "name": "same text"})
    assert (named.name, named.type, named.weight) == ("same text", "exact", 1.0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"type": "terms", "all": ["a"], "colour": "red"}, ["'terms'", "unknown option 'colour'"]),
        ({"type": "exact", "name": "same", "weight": 0}, ["'same'", "weight", "greater than 0"]),
        ({"type": "regex", "pattern": "(unclosed"}, ["'regex'", "pattern", "not a valid regular expression"]),
        ({"type": "regex", "pattern": "x", "flags": "iq"}, ["flags", "i, m and s"]),
        ({"type": "numeric", "expected": "lots"}, ["'numeric'", "expected", "not one number"]),
        ({"type": "numeric", "expected": [1, 2]}, ["expected", "pick: all"]),
        (
            {"type": "json_schema", "schema": {"type": "thing"}},
            ["'json_schema'", "schema", "not a valid JSON"],
        ),
        ({"type": "json_schema"}, ["schema", "Field required"]),
        ({"type": "semantic", "retries": -1}, ["'semantic'", "retries"]),
        ({"type": "semantic", "method": "embedding", "judgements": 3}, ["judgements"]),
        ({"type": "semantic", "method": "embedding", "rubric": "be nice"}, ["rubric"]),
        ({"type": "semantic", "method": "vibes"}, ["method"]),
        ({"type": "latency"}, ["max_ms", "ttft_max_ms"]),
        ({"type": "tokens"}, ["max_prompt", "max_completion", "max_total"]),
        ({"type": "tokens", "max_total": 0}, ["max_total"]),
        ({"type": "terms", "min_share": 1.5}, ["min_share"]),
        ({"type": "manual", "instructions": ["a"]}, ["instructions"]),
    ],
)
def test_config_errors_name_the_evaluator_and_the_field(spec: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(EvaluatorError) as caught:
        build_evaluator(spec, judge=judge())
    assert isinstance(caught.value, InvalidInput)
    for word in words:
        assert word in str(caught.value)


def test_a_missing_or_unknown_type_lists_the_known_types() -> None:
    with pytest.raises(EvaluatorError, match="has no type; known types: exact, regex"):
        build_evaluator({"name": "mine"})
    with pytest.raises(EvaluatorError, match="unknown type 'fuzzy'"):
        build_evaluator({"type": "fuzzy"})
    with pytest.raises(EvaluatorError, match="is a mapping"):
        build_evaluator(["exact"])  # type: ignore[arg-type]
    assert set(EVALUATOR_TYPES) == {"exact", "regex", "terms", "numeric", "json_schema", "semantic",
                                    "manual", "latency", "tokens", "figure_check"}  # fmt: skip


def test_parse_spec_checks_without_building() -> None:
    options = parse_spec({"type": "semantic", "model": "qwen2.5-0.5b", "judgements": 3})
    assert isinstance(options, SemanticOptions)
    assert (options.model, options.judgements, options.retries) == ("qwen2.5-0.5b", 3, 2)


def test_semantic_needs_its_judge_or_embedder() -> None:
    with pytest.raises(EvaluatorError, match=r"'semantic'.*judge"):
        build_evaluator({"type": "semantic"})
    with pytest.raises(EvaluatorError, match="embedder"):
        build_evaluator({"type": "semantic", "method": "embedding"}, judge=judge())


def test_a_case_without_what_the_evaluator_needs_is_reported_before_a_run() -> None:
    evaluator = build_evaluator({"type": "exact"})
    with pytest.raises(EvaluatorError, match="case 'c1' has no expected value"):
        evaluator.check(case())
    evaluator.check(case("yes"))
    with pytest.raises(EvaluatorError, match="not a valid regular expression"):
        build_evaluator({"type": "regex"}).check(case("(oops"))
    with pytest.raises(EvaluatorError, match=r"expected .*not one number"):
        build_evaluator({"type": "numeric"}).check(case("many"))


# -- exact, regex, terms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected", "options", "value"),
    [
        ("Laptop", "Laptop", {}, 1.0),
        ("  **laptop.**\n", "Laptop", {}, 1.0),
        ("The   Coffee\nMaker!", "the coffee maker", {}, 1.0),
        ("Laptops", "Laptop", {}, 0.0),
        ("laptop", "Laptop", {"case_sensitive": True}, 0.0),
        ("Laptop.", "Laptop", {"normalize": False}, 0.0),
        ("LAPTOP", "laptop", {"normalize": False}, 1.0),
        ("Desk", ["Chair", "desk"], {}, 1.0),
        ("42", 42, {}, 1.0),
    ],
)
def test_exact(output: str, expected: Any, options: dict[str, Any], value: float) -> None:
    result = score({"type": "exact", **options}, run(output), case(expected))
    assert result.value == value
    assert result.status == "scored"


def test_exact_value_option_wins_over_the_case_and_the_reason_shows_both() -> None:
    result = score({"type": "exact", "value": "Desk"}, run("Chair"), case("Chair"))
    assert result.value == 0.0
    assert "'Desk'" in result.reason and "'Chair'" in result.reason


@pytest.mark.parametrize(
    ("output", "spec", "value"),
    [
        ("Total: 1,234.56 USD", {"pattern": r"\d[\d,]*\.\d{2}"}, 1.0),
        ("no figure", {"pattern": r"\d+"}, 0.0),
        ("LAPTOP wins", {"pattern": "laptop", "flags": "i"}, 1.0),
        ("LAPTOP wins", {"pattern": "laptop"}, 0.0),
        ("a\nb", {"pattern": "^b$", "flags": ["m"]}, 1.0),
        ("a\nb", {"pattern": "a.b", "flags": "s"}, 1.0),
        (" yes \n", {"pattern": "yes|no", "full": True}, 1.0),
        ("yes, and more", {"pattern": "yes|no", "full": True}, 0.0),
    ],
)
def test_regex(output: str, spec: dict[str, Any], value: float) -> None:
    assert score({"type": "regex", **spec}, run(output)).value == value


def test_regex_pattern_from_the_case() -> None:
    assert score({"type": "regex"}, run("order 1234"), case(r"order \d+")).value == 1.0
    failed = score({"type": "regex"}, run("nothing"), case(r"order \d+"))
    assert failed.value == 0.0 and "order" in failed.reason


def test_terms_all_gives_partial_credit_and_names_the_missing() -> None:
    spec = {"type": "terms", "all": ["reset button", "3 seconds", "power light"]}
    result = score(spec, run("Hold the Reset  button for\n3 seconds."))
    assert result.value == pytest.approx(2 / 3)
    assert "found 2 of 3" in result.reason and "'power light'" in result.reason
    assert score(spec, run("Press the reset button, 3 seconds, until the power light blinks")).value == 1.0
    assert score(spec, run("nothing useful")).value == 0.0


def test_terms_any_case_and_words() -> None:
    spec = {"type": "terms", "any": ["refund", "money back"]}
    assert score(spec, run("You get your MONEY BACK.")).value == 1.0
    none = score(spec, run("No."))
    assert none.value == 0.0 and "'refund'" in none.reason
    assert score({**spec, "case_sensitive": True}, run("You get your MONEY BACK.")).value == 0.0
    assert score({"type": "terms", "all": ["cup"]}, run("a cupboard")).value == 1.0
    assert score({"type": "terms", "all": ["cup"], "whole_words": True}, run("a cupboard")).value == 0.0
    assert score({"type": "terms", "all": ["cup"], "whole_words": True}, run("a cup.")).value == 1.0


def test_terms_all_and_any_together_and_min_share() -> None:
    spec = {"type": "terms", "all": ["a1", "b2"], "any": ["yes", "sure"]}
    assert score(spec, run("a1 yes")).value == 0.5
    assert score(spec, run("a1 b2 no")).value == 0.0
    share = {"type": "terms", "all": ["a1", "b2", "c3", "d4"], "min_share": 0.75}
    assert score(share, run("a1 b2 c3")).value == 1.0
    below = score(share, run("a1 b2"))
    assert below.value == 0.0 and "below" in below.reason


def test_terms_from_the_case() -> None:
    assert score({"type": "terms"}, run("Laptop and Desk"), case(["laptop", "desk", "pen"])).value == (
        pytest.approx(2 / 3)
    )
    assert score({"type": "terms"}, run("the Laptop"), case("laptop")).value == 1.0
    with pytest.raises(EvaluatorError, match="all: or any:"):
        score({"type": "terms"}, run("x"), case(42))


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Revenue in 2019: 2,008,648.41.", ["2008648.41"]),
        ("It fell by -3.5%.", ["-3.5"]),
        ("\u22127 and +4.2%", ["-7", "4.2"]),  # a minus sign
        ("No figure here.", []),
        ("There were 2019 orders", ["2019"]),
        ("Revenue of $1,234.56 in 2019", ["1234.56"]),
        ("3,5 and 12,3456", ["3", "5", "12", "3456"]),
        ("from 2010-01-01 to 2023-12-30: 99.90", ["99.90"]),
        ("in 3/2019 and 12/31/2019 it was 7", ["7"]),
        ("Q1 rose 5-3", ["5", "3"]),
        ("1\u202f234\u00a0567.5", ["1234567.5"]),
    ],
)
def test_extract_numbers(text: str, numbers: list[str]) -> None:
    assert extract_numbers(text) == [Decimal(n) for n in numbers]


def test_extract_numbers_keeps_years_when_asked() -> None:
    assert extract_numbers("Revenue in 2019: 12.50", skip_years=False) == [Decimal(2019), Decimal("12.50")]


@pytest.mark.parametrize(
    ("output", "expected", "options", "value"),
    [
        ("Revenue in 2019: 2,008,648.41.", 2008648.41, {}, 1.0),
        ("Revenue in 2019: 2,008,648.41.", "2,008,648.41", {}, 1.0),
        ("Revenue in 2019: 2,008,648.414", "2008648.41", {}, 1.0),  # the same cent
        ("Revenue in 2019: 2,008,648.42.", 2008648.41, {}, 0.0),
        ("Revenue: 2,008,648", 2008648.41, {}, 0.0),
        ("Revenue: 2,008,000", 2008648.41, {"rel_tol": 0.001}, 1.0),
        ("Revenue: 2,008,600", 2008648.41, {"abs_tol": 50}, 1.0),
        ("Revenue: 2,008,500", 2008648.41, {"abs_tol": 50}, 0.0),
        ("Change: -3.5% over 12 months", "-3.5%", {}, 1.0),
        ("Change: 3.5%", "-3.5%", {}, 0.0),
        ("Laptop 10, Desk 20", 20, {"pick": "last"}, 1.0),
        ("Laptop 10, Desk 20", 20, {}, 0.0),
        ("Laptop 10, Desk 20, Pen 5", [5, 10], {"pick": "all"}, 1.0),
        ("Laptop 10, Desk 20", [5, 10], {"pick": "all"}, 0.5),
    ],
)
def test_numeric_on_text(output: str, expected: Any, options: dict[str, Any], value: float) -> None:
    assert score({"type": "numeric", **options}, run(output), case(expected)).value == value


def test_numeric_without_a_number_scores_0_saying_so() -> None:
    result = score({"type": "numeric", "expected": 5}, run("I cannot tell."))
    assert result.value == 0.0 and "no number found" in result.reason


def test_numeric_prefers_the_answers_exact_value() -> None:
    answer = sales_answer()
    execution = run("Revenue in 2019 was about 2 million", answer=answer)
    assert score({"type": "numeric"}, execution, case("2008648.41")).value == 1.0
    assert "answer" in score({"type": "numeric"}, execution, case(2008648.41)).reason
    assert score({"type": "numeric", "source": "text"}, execution, case(2008648.41)).value == 0.0
    assert score({"type": "numeric", "source": "answer"}, run("2008648.41"), case(2008648.41)).value == 0.0


# -- json_schema -----------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"product": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
    "required": ["product", "quantity"],
}


@pytest.mark.parametrize(
    ("output", "value", "reason"),
    [
        ('{"product": "Desk", "quantity": 2}', 1.0, "valid"),
        ('Here you go:\n```json\n{"product": "Desk", "quantity": 2}\n```\nDone.', 1.0, "valid"),
        ('{"product": "Desk", "quantity": 0}', 0.0, "at quantity: 0 is less than the minimum of 1"),
        ('{"product": "Desk"}', 0.0, "'quantity' is a required property"),
        ("Desk, 2", 0.0, "not JSON"),
        ("```json\n{broken\n```", 0.0, "fenced JSON is not valid"),
    ],
)
def test_json_schema(output: str, value: float, reason: str) -> None:
    result = score({"type": "json_schema", "schema": SCHEMA}, run(output))
    assert result.value == value
    assert reason in result.reason


# -- semantic: the judge ---------------------------------------------------------------------------


def test_the_judge_scores_with_the_question_the_expected_the_output_and_the_rubric() -> None:
    provider = judge(verdict(0.8, "Same figure, different words."))
    spec = {"type": "semantic", "rubric": "The figure must match.", "model": "judge-model"}
    evaluator = build_evaluator(spec, judge=provider)
    result = asyncio.run(evaluator.score(case("2,008,648.41"), run("About 2,008,648.41 in 2019.")))
    assert isinstance(result, JudgedScore)
    assert (result.value, result.status) == (0.8, "scored")
    assert "Same figure" in result.reason
    assert [j.attempts for j in result.judgements] == [1]
    (request,) = provider.requests
    prompt = "\n".join(m.content for m in request.messages)
    for part in (QUESTION, "2,008,648.41", "About 2,008,648.41 in 2019.", "The figure must match."):
        assert part in prompt
    assert request.schema is not None and set(request.schema["properties"]) == {"score", "reason"}


def test_the_default_rubric_and_a_structured_expected_answer() -> None:
    provider = judge(verdict(1))
    score({"type": "semantic"}, run("Desk: 2"), case({"product": "Desk", "quantity": 2}), judge=provider)
    prompt = provider.requests[0].messages[-1].content
    assert DEFAULT_RUBRIC in prompt and '"product": "Desk"' in prompt


def test_an_unreadable_judgement_is_asked_again() -> None:
    provider = judge("I think it is fine", verdict(0.6))
    result = score({"type": "semantic"}, run("x"), case("y"), judge=provider)
    assert result.value == 0.6
    assert isinstance(result, JudgedScore) and result.judgements[0].attempts == 2
    assert "does not match the schema" in provider.requests[1].messages[-1].content


def test_an_out_of_range_judgement_is_asked_again() -> None:
    provider = judge(verdict(7), verdict(0.7))
    assert score({"type": "semantic"}, run("x"), case("y"), judge=provider).value == 0.7


@pytest.mark.parametrize("bad", ["not json", verdict(1.5), verdict(-0.1), '{"score": NaN, "reason": "x"}'])
def test_a_judge_that_never_answers_as_asked_is_unscorable(bad: str) -> None:
    provider = judge(bad, bad, bad)
    result = score({"type": "semantic"}, run("x"), case("y"), judge=provider)
    assert (result.status, result.value) == ("unscorable", None)
    assert "the judge gave no usable score" in result.reason
    assert len(provider.requests) == 3  # retries: 2 by default


def test_retries_option() -> None:
    provider = judge("no", "no")
    result = score({"type": "semantic", "retries": 1}, run("x"), case("y"), judge=provider)
    assert result.status == "unscorable" and len(provider.requests) == 2


def test_a_judge_that_does_not_answer_is_unscorable() -> None:
    provider = judge(ModelUnavailable("the judge server is down"))
    result = score({"type": "semantic"}, run("x"), case("y"), judge=provider)
    assert result.status == "unscorable" and "down" in result.reason


def test_several_judgements_score_their_mean_and_keep_each() -> None:
    provider = judge(verdict(1.0, "right"), verdict(0.5, "half"), "garbage", "garbage", "garbage", verdict(0))
    spec = {"type": "semantic", "judgements": 4, "temperature": 0.8}
    result = score(spec, run("x"), case("y"), judge=provider)
    assert isinstance(result, JudgedScore)
    assert result.value == pytest.approx(0.5)
    assert [j.value for j in result.judgements] == [1.0, 0.5, None, 0.0]
    assert result.values == [1.0, 0.5, 0.0]
    assert "mean of 3 judgements (1.00, 0.50, unreadable, 0.00)" in result.reason
    assert all(r.options.temperature == 0.8 for r in provider.requests)


def test_several_unreadable_judgements_are_unscorable() -> None:
    provider = judge(*["garbage"] * 6)
    result = score({"type": "semantic", "judgements": 2}, run("x"), case("y"), judge=provider)
    assert result.status == "unscorable" and "none of 2 judgements" in result.reason
    assert isinstance(result, JudgedScore) and len(result.judgements) == 2


# -- semantic: embeddings ---------------------------------------------------------------------------


def fake_embed(vectors: dict[str, list[float]]) -> Any:
    def embed(texts: list[str]) -> list[list[float]]:
        return [vectors[text] for text in texts]

    return embed


@pytest.mark.parametrize(
    ("expected", "actual", "value"),
    [
        ([1.0, 0.0], [1.0, 0.0], 1.0),
        ([1.0, 0.0], [3.0, 3.0], math.sqrt(0.5)),
        ([1.0, 0.0], [0.0, 2.0], 0.0),
        ([1.0, 0.0], [-1.0, 0.0], 0.0),  # opposite: max(0, cos)
    ],
)
def test_embedding_similarity(expected: list[float], actual: list[float], value: float) -> None:
    embed = fake_embed({"reference": expected, "output": actual})
    result = score({"type": "semantic", "method": "embedding"}, run("output"), case("reference"), embed=embed)
    assert result.value == pytest.approx(value)
    assert "cosine similarity" in result.reason


def test_embedding_edge_cases() -> None:
    zero = fake_embed({"reference": [1.0, 0.0], "output": [0.0, 0.0]})
    spec = {"type": "semantic", "method": "embedding"}
    assert score(spec, run("output"), case("reference"), embed=zero).status == "unscorable"
    given = fake_embed({"given": [1.0, 0.0], "output": [1.0, 0.0]})
    assert score({**spec, "expected": "given"}, run("output"), case(), embed=given).value == 1.0
    with pytest.raises(EvaluatorError, match="no expected answer"):
        build_evaluator(spec, embed=given).check(case())


# -- manual, latency, tokens -------------------------------------------------------------------------


def test_manual_is_pending_even_for_a_failed_run() -> None:
    result = score({"type": "manual", "instructions": "Is the tone friendly?"}, run("hi"))
    assert result == Score.pending("Is the tone friendly?")
    assert score({"type": "manual"}, run("", error="ModelTimeout: no token")).status == "pending"


@pytest.mark.parametrize(
    ("spec", "fields", "value"),
    [
        ({"max_ms": 500}, {"latency_ms": 499.0}, 1.0),
        ({"max_ms": 500}, {"latency_ms": 500.0}, 1.0),
        ({"max_ms": 500}, {"latency_ms": 750.0}, 0.0),
        ({"max_ms": 500, "soft": True}, {"latency_ms": 750.0}, 0.5),
        ({"max_ms": 500, "soft": True}, {"latency_ms": 1500.0}, 0.0),
        ({"ttft_max_ms": 100}, {"ttft_ms": 80.0}, 1.0),
        ({"ttft_max_ms": 100}, {"ttft_ms": 120.0}, 0.0),
        ({"max_ms": 500, "ttft_max_ms": 100, "soft": True}, {"latency_ms": 400.0, "ttft_ms": 150.0}, 0.5),
    ],
)
def test_latency(spec: dict[str, Any], fields: dict[str, Any], value: float) -> None:
    assert score({"type": "latency", **spec}, run("x", **fields)).value == pytest.approx(value)


def test_latency_without_a_first_token_time_is_unscorable() -> None:
    result = score({"type": "latency", "ttft_max_ms": 100}, run("x"))
    assert result.status == "unscorable" and "first token" in result.reason


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ({"max_completion": 50}, 1.0),
        ({"max_completion": 49}, 0.0),
        ({"max_prompt": 200, "max_completion": 100}, 1.0),
        ({"max_total": 250}, 1.0),
        ({"max_total": 249}, 0.0),
        ({"max_prompt": 199}, 0.0),
    ],
)
def test_tokens(spec: dict[str, Any], value: float) -> None:
    result = score({"type": "tokens", **spec}, run("x", prompt_tokens=200, completion_tokens=50))
    assert result.value == value
    assert ("over the budget" if value == 0 else "within the budget") in result.reason


def test_tokens_without_counts_are_unscorable() -> None:
    assert score({"type": "tokens", "max_total": 10}, run("x", prompt_tokens=5)).status == "unscorable"


# -- figure_check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict_", "value"),
    [("shown", 1.0), ("empty", 1.0), (None, 1.0), ("numbers not in the answer: 3.5 billion", 0.0)],
)
def test_figure_check_reads_the_pipelines_verdict(verdict_: str | None, value: float) -> None:
    result = score({"type": "figure_check"}, run("text", figure_check=verdict_))
    assert result.value == value
    if value == 0.0:
        assert "3.5 billion" in result.reason


def test_figure_check_checks_the_output_when_the_pipeline_did_not() -> None:
    answer = sales_answer()
    good = f"{SENTENCE}\n\nIn 2019 the stores made 2,008,648.41, as asked for 2019-12-31."
    assert score({"type": "figure_check"}, run(good, answer=answer)).value == 1.0
    bad = score({"type": "figure_check"}, run(f"{SENTENCE}\n\nThat is about $3.5 billion.", answer=answer))
    assert bad.value == 0.0 and "3.5 billion" in bad.reason
    # a number of the question is allowed
    asked = Case(id="c1", input="Revenue of the top 5 in 2019?")
    assert score({"type": "figure_check"}, run(f"{SENTENCE} Top 5.", answer=answer), asked).value == 1.0


# -- failed runs and combine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "exact", "value": "x"},
        {"type": "terms", "all": ["x"]},
        {"type": "latency", "max_ms": 1000},
        {"type": "figure_check"},
        {"type": "semantic"},
    ],
)
def test_a_failed_run_scores_0_with_the_error(spec: dict[str, Any]) -> None:
    provider = judge()
    result = score(spec, run("x", error="ModelTimeout: no token in 30 s"), case("x"), judge=provider)
    assert result.value == 0.0 and "ModelTimeout" in result.reason
    assert provider.requests == []  # the judge is not asked


def evaluator(name: str, weight: float = 1.0, kind: str = "exact") -> Evaluator:
    extra: dict[str, Any] = {"max_ms": 1} if kind == "latency" else {}
    return build_evaluator({"type": kind, "name": name, "weight": weight, **extra})


def test_combine_is_the_weighted_mean_of_the_scored() -> None:
    result = combine([(evaluator("a", 3), Score(1.0, "")), (evaluator("b"), Score(0.0, ""))])
    assert result.value == pytest.approx(0.75) and result.status == "scored"
    assert "a 1.00 x3" in result.reason and "b 0.00" in result.reason


def test_combine_any_unscorable_makes_it_unscorable() -> None:
    result = combine(
        [
            (evaluator("a"), Score(1.0, "")),
            (evaluator("judge"), Score.unscorable("no reply")),
            (evaluator("person", kind="manual"), Score.pending()),
        ]
    )
    assert result.status == "unscorable" and "judge" in result.reason


def test_combine_leaves_pending_out_and_says_so() -> None:
    scores = [(evaluator("a"), Score(0.5, "")), (evaluator("person", 5, "manual"), Score.pending())]
    provisional = combine(scores)
    assert provisional.value == 0.5 and "provisional: pending person" in provisional.reason
    assert combine([(evaluator("person", kind="manual"), Score.pending())]).status == "pending"
    given = combine([*scores[:1], (scores[1][0], Score(1.0, "a person's score"))])
    assert given.value == pytest.approx((0.5 + 5) / 6)
    with pytest.raises(ValueError):
        combine([])
