"""The figure check with the real bundled model: one question of every kind of the question set goes
through the whole chat pipeline (rules, query layer, answer step, SmolLM2 writing commentary). Every
reply leads with the database's sentence, and no reply shows a number that is not in its answer;
the model's words are shown only where they pass. How often they do is printed and written to
``test-artifacts/model_commentary.txt``. ``CHATDASH_TEST_MODEL_QUESTIONS=all`` asks the whole set
(about ten minutes on two cores) instead of one question per kind."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from chatdash.config import Settings
from chatdash.llm import Message, create
from chatdash.pipeline import RunContext, load_pipeline
from chatdash.sales import check_figures
from tests.conftest import Database
from tests.integration.question_set import build

pytestmark = pytest.mark.timeout(600)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_no_shown_reply_carries_a_number_the_answer_lacks(
    loaded: Database, sample_frame: pl.DataFrame, tmp_path: Path
) -> None:
    if loaded.backend != "sqlite":
        pytest.skip("the model's side is the same on both databases; one run of the real model is enough")
    last = sample_frame["order_date"].max()
    assert isinstance(last, dt.date)
    everything = os.environ.get("CHATDASH_TEST_MODEL_QUESTIONS") == "all"
    asked: list[tuple[str, tuple[str, ...]]] = []
    for question in build(last):
        if everything or question.kind not in {kind for kind, _ in asked}:
            asked.append((question.kind, question.messages))
    settings = Settings(var_dir=tmp_path, llm_context=1024, llm_base_url=None, llm_model_path=None)
    provider = create("llamacpp", settings)
    pipeline = load_pipeline("chat")
    lines, shown, answered = [], 0, 0
    for kind, messages in asked:
        *earlier, message = messages
        history = [m for text in earlier for m in (Message.user(text), Message.assistant("(answered)"))]
        ctx = RunContext(
            owner="model-check",
            message=message,
            provider=provider,
            history=history,
            engine=loaded.engine,
            settings=settings,
            llm_options={"temperature": 0.0, "seed": 1},
            max_tokens=32,
        )
        result = asyncio.run(pipeline.complete(ctx))
        sales = result.sources.sales
        if sales is None:  # declined: the reply is the reason alone, and the model was not asked
            assert not any(s.kind == "llm" and "figure_check" in s.attributes for s in result.spans)
            lines.append(f"{kind:32} declined")
            continue
        answered += 1
        assert result.text.startswith(sales.sentence()), (kind, result.text)
        commentary = result.text[len(sales.sentence()) :].strip()
        if sales.notes:
            commentary = commentary.split(")_", 1)[-1].strip()
        verdict = next(s.attributes["figure_check"] for s in result.spans if "figure_check" in s.attributes)
        if verdict == "shown":
            shown += 1
            check = check_figures(
                commentary,
                figures=sales.all_figures(),
                dates=sales.dates(),
                periods=[row.label for row in sales.rows],
                question=message,
            )
            assert check.ok, (kind, commentary, check.reason)
        else:
            assert commentary == "", (kind, commentary)  # dropped words are not in the reply
        lines.append(f"{kind:32} {verdict[:90]}")
    lines.append(f"model commentary shown on {shown} of {answered} answers; dropped on the others")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "model_commentary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert answered >= 25
