"""The whole chat pipeline on the REAL bundled model (SmolLM2-135M, llama.cpp in process), with
Qdrant local-mode memory and documents in a temporary folder and a real SQLite database.

The model's words are not asserted (a 135M model's are not reliable, which is the point of the
design); what is asserted is that the reply streams, the exact figures and the recalled context
arrive in ``Sources`` and in the prompt, and every step ran.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from chatdash import sales
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.llm import Message, create
from chatdash.memory import ChatMemory, DocumentStore, Remembered, VectorStore
from chatdash.pipeline import Delta, Done, Event, RunContext, Sources, load_pipeline
from chatdash.sales.answer import format_figure
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames

pytestmark = pytest.mark.timeout(180)


def test_chat_pipeline_with_the_bundled_model(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, llm_context=512, llm_base_url=None, llm_model_path=None, qdrant_url=None
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    upgrade(engine)
    load_frames(engine, [generate_frame(5_000, 5)], replace=True)
    store = VectorStore.open(settings)
    try:
        ChatMemory(store, min_score=-1.0).remember(
            "alice",
            [Remembered("old-chat", "m1", "user", "I look after laptop sales for the Berlin office.")],
        )
        DocumentStore(store).add_text(
            "handbook.md",
            "# Sales reports\n\nRevenue figures are reported per calendar year, net of returns.\n",
        )
        provider = create("llamacpp", settings)
        ctx = RunContext(
            owner="alice",
            message="What was the laptop revenue in 2019?",
            provider=provider,
            history=[Message.user("Hello"), Message.assistant("Hello! How can I help?")],
            chat_id="new-chat",
            engine=engine,
            memory=store,
            settings=settings.model_copy(update={"memory_min_score": -1.0}),
            llm_options={"max_tokens": 24, "temperature": 0.0, "seed": 1},
        )

        async def collect() -> list[Event]:
            return [event async for event in load_pipeline("chat").run(ctx)]

        events = asyncio.run(collect())
    finally:
        store.close()
        engine.dispose()

    sources, done = events[0], events[-1]
    assert isinstance(sources, Sources) and isinstance(done, Done)
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert deltas and all(isinstance(e, Delta) for e in events[1:-1])
    assert done.completion is not None and 1 <= done.completion.usage.completion_tokens <= 24
    # The reply is the database's sentence; the model's words follow only if the figure check passed.
    answer = sources.sales
    assert answer is not None
    check = done.spans[-1].attributes["figure_check"]
    shown = "\n\n" + done.completion.text.strip() if check == "shown" else ""
    assert "".join(deltas) == answer.sentence() + shown
    assert done.completion.provider == "llamacpp"

    expected = sales.key_metrics(
        make_engine(f"sqlite:///{tmp_path / 'sales.db'}"),
        sales.SalesFilter(dt.date(2019, 1, 1), dt.date(2019, 12, 31), products=("Laptop",)),
    )
    assert answer.value == expected.total_revenue
    assert answer.description == "Revenue, 2019-01-01 to 2019-12-31, product Laptop"
    assert [m.text for m in sources.memories] == ["I look after laptop sales for the Berlin office."]
    assert sources.documents and "calendar year" in sources.documents[0].text
    assert [(s.name, s.status) for s in done.spans] == [
        ("retrieve", "ok"),
        ("sales_query", "ok"),
        ("answer", "ok"),
        ("template", "ok"),
        ("llm", "ok"),
    ]
    assert done.spans[-1].prompt_tokens is not None and done.spans[-1].prompt_tokens > 0
    assert format_figure(expected.total_revenue) in answer.figures()
