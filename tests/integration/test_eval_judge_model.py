"""The ``semantic`` evaluator with the REAL bundled model (SmolLM2-135M-Instruct) as its judge.

A 135M model is a poor judge, so its verdict is not asserted; what is asserted is what the test bed
promises whatever the judge: a score in [0, 1] with a reason, or ``unscorable`` — never NaN, never an
exception.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from chatdash.config import Settings
from chatdash.evals.evaluators import JudgedScore, build_evaluator
from chatdash.evals.types import Case, Execution
from chatdash.llm import create

pytestmark = pytest.mark.timeout(180)


def test_the_bundled_model_as_judge_gives_a_valid_score_or_none() -> None:
    judge = create("llamacpp", Settings(llm_context=2048, llm_base_url=None, llm_model_path=None))
    spec = {"type": "semantic", "judgements": 2, "retries": 1, "temperature": 0.0, "max_tokens": 96}
    evaluator = build_evaluator(spec, judge=judge)
    case = Case(id="revenue", input="What was the revenue in 2019?", expected="2,008,648.41")
    execution = Execution(case_id="revenue", repeat=0, output="Revenue in 2019: 2,008,648.41.", latency_ms=1)

    result = asyncio.run(evaluator.score(case, execution))

    assert isinstance(result, JudgedScore) and len(result.judgements) == 2
    assert result.reason
    if result.status == "scored":
        assert result.value is not None and math.isfinite(result.value) and 0.0 <= result.value <= 1.0
    else:
        assert result.status == "unscorable" and result.value is None
    for judgement in result.judgements:
        assert judgement.value is None or (math.isfinite(judgement.value) and 0 <= judgement.value <= 1)
