"""`chatdash bench answers`: a question in words to the answer's card (reading + every query), on the
benchmark databases `chatdash bench dashboard` builds (the same rows, reused).

Each question is read with the cached vocabulary (as the chat's ``sales_query`` step does) and answered
through the query layer; the figure is what a user would read. Rollup metrics cost the same at any
size; customer metrics (distinct customers, the largest order, customers as a dimension) read the
monthly customer rollup and the edge days' order rows, so they are reported apart.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from chatdash.bench.dashboard import bench_engine, prepare
from chatdash.bench.timing import machine, median, peak_rss_mib, time_runs
from chatdash.sales import METRICS, answer, load_vocabulary, read_conversation

QUESTIONS: tuple[tuple[str, ...], ...] = (
    ("What was the total revenue in 2019?",),
    ("How many orders did Office have last year?",),
    ("and in 2020?",),
    ("Average order value of laptops in March 2020",),
    ("Top 5 products by revenue in 2021",),
    ("Which month of 2022 had the best sales?",),
    ("Revenue by month in 2020",),
    ("units sold per quarter for Electronics between 2015 and 2018",),
    ("Revenue by day of the week in 2019",),
    ("Total sales between June 26, 2011 and July 24, 2011",),
    ("What were sales in the first half of 2016?",),
    ("by how much did revenue change from 2016 to 2017",),
    ("Q1 2020 vs Q1 2021 revenue",),
    ("what percentage of 2012 revenue came from Sundry",),
    ("stationary sales in 2015",),
    ("average unit price of chairs in 2019",),
    ("items per order in 2018",),
    ("how many different customers bought something in 2018?",),
    ("What was the biggest order in 2021?",),
    ("Who are our top 5 customers by revenue in 2022?",),
    ("How much did we sell of Toys in 2019?",),
)
"""Conversations (a follow-up carries its question); the last message is the one timed."""
RAW_METRICS = {m.name for m in METRICS if m.source == "raw"}


def _conversations() -> list[tuple[str, ...]]:
    """Each question with the one before it, so "and in 2020?" is read as the follow-up it is."""
    return [(*QUESTIONS[i - 1], *q) if q[0].startswith("and ") else q for i, q in enumerate(QUESTIONS)]


def run(rows: int, database_url: str | None, var_dir: Path, repeat: int) -> dict[str, Any]:
    engine = bench_engine(rows, database_url, var_dir)
    try:
        built_s = prepare(engine, rows)
        vocabulary = load_vocabulary(engine)
        questions = []
        timed: list[tuple[bool, list[float]]] = []
        for conversation in _conversations():
            reading = read_conversation(conversation, vocabulary)

            def card(conversation: tuple[str, ...] = conversation) -> str:
                found = read_conversation(conversation, vocabulary)
                if found.spec is None:
                    return found.declined or ""
                return answer(engine, found.spec, found.notes).sentence()

            runs = time_runs(card, repeat)
            needs_rows = reading.spec is not None and (
                reading.spec.metric in RAW_METRICS or reading.spec.group_by == "customer"
            )
            timed.append((needs_rows, runs))
            questions.append(
                {
                    "question": conversation[-1],
                    "median_ms": median(runs),
                    "reads_order_rows": needs_rows,
                    "card": card()[:120],
                }
            )
        timings = [t for _, runs in timed for t in runs]
        rollup = [t for needs_rows, runs in timed if not needs_rows for t in runs]
        raw = [t for needs_rows, runs in timed if needs_rows for t in runs]
        return {
            "name": "answers",
            "rows": rows,
            "backend": engine.dialect.name,
            "questions": len(questions),
            "repeat": repeat,
            "median_ms": median(timings),
            "p95_ms": _p95(timings),
            "rollup_p95_ms": _p95(rollup),
            "order_rows_p95_ms": _p95(raw) if raw else None,
            "per_question": questions,
            "build_s": round(built_s, 1) if built_s is not None else None,
            "peak_rss_mib": peak_rss_mib(),
            "machine": machine(),
        }
    finally:
        engine.dispose()


def _p95(runs: list[float]) -> float:
    if len(runs) < 2:
        return round(runs[0], 3) if runs else 0.0
    return round(statistics.quantiles(runs, n=20, method="inclusive")[-1], 3)
