"""`chatdash bench evals`: what the test bed's runner costs per execution, and (``--full``) a sales-qa
run with the bundled model.

*Runner overhead*: a scenario whose pipeline is one ``llm`` step (inline), ``cases`` cases repeated to
``executions`` executions, run by ``Runner.run`` at ``concurrency`` over a temporary SQLite database,
each execution scored (terms, latency) and stored, with the trace writer on as ``chatdash eval run``
has it by default, against the ``scripted`` provider (microseconds of its own). The provider is
wrapped to time its own work (every step of its reply stream); *overhead per execution* = (the run's
wall time - the provider's time) / executions. The *baseline*, in the same round: the same
executions as bare pipeline runs (``chat_turn`` + ``Pipeline.run`` at the same concurrency: no
scoring, no storage, no trace), timed the same way. Each figure is the median over ``rounds``
rounds; ``speedup`` is baseline / ours as in every benchmark, so far below 1 here: the runner is not
a faster way to the same result but a cost on top of the pipeline, and ``added_ms`` says how much.
Targets: under 2 ms overhead per execution, 1,000 executions in under 5 s (reported, not asserted).
On SQLite most of the runner's cost is writing: one transaction per execution (stored as it finishes,
so an interrupted run resumes) and the trace writer's batches, all contending for SQLite's one writer;
``untraced_median_ms`` is the same run with the trace writer off.

*Full* (``full=True``): ``scenarios/sales-qa.yaml`` (when it exists) on ``full_rows`` generated orders,
its first ``full_cases`` generated questions (0: all) once each with the configured model (the
bundled one by default): wall time, latency per execution and the scores.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from chatdash.bench.timing import machine
from chatdash.config import Settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.evals import GENERATORS, Runner, Scenario, load_scenario, parse_scenario, summarize
from chatdash.llm import Message, Options, Provider, create, get_provider
from chatdash.pipeline import Pipeline, chat_turn
from chatdash.sales import generate, load_frames
from chatdash.tracing import TraceWriter

TARGET_MS = 2.0
TARGET_WALL_S = 5.0
SALES_QA = Path("scenarios") / "sales-qa.yaml"


def scenario(cases: int) -> Scenario:
    """The overhead scenario: one llm step, two cheap evaluators, ``cases`` distinct messages."""
    lines = "".join(f"  - {{id: c{n}, input: 'Benchmark message number {n}'}}\n" for n in range(cases))
    return parse_scenario(
        "name: bench-evals\n"
        "pipeline: {steps: [{type: llm, system: 'You are the benchmark.'}]}\n"
        "evaluators: [{type: terms, all: [benchmark]}, {type: latency, max_ms: 60000}]\n"
        f"cases:\n{lines}"
    )


class TimedProvider(Provider):
    """Another provider, with the time spent in its own reply streams added up in ``seconds``."""

    id = "timed"

    def __init__(self, inner: Provider) -> None:
        super().__init__(model=inner.model, context_window=inner.context_window)
        self.inner = inner
        self.capabilities = inner.capabilities
        self.seconds = 0.0
        self.calls = 0

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self.inner.count_tokens(messages)

    async def _generate(
        self, messages: list[Message], options: Options, schema: dict[str, Any] | None
    ) -> AsyncIterator[Any]:
        self.calls += 1
        chunks = self.inner._generate(messages, options, schema)
        while True:
            started = time.perf_counter()
            try:
                item = await anext(chunks)
            except StopAsyncIteration:
                return
            finally:
                self.seconds += time.perf_counter() - started
            yield item


async def _runner_round(
    plan: Scenario, engine: Any, settings: Settings, repeat: int, concurrency: int, traced: bool
) -> dict[str, Any]:
    provider = TimedProvider(create("scripted"))  # echoes the message: "You said: Benchmark ..."
    traces = TraceWriter(engine, buffer=10_000, retention_days=30) if traced else None
    runner = Runner(
        plan, engine=engine, settings=settings, provider=provider, traces=traces, concurrency=concurrency
    )
    started = time.perf_counter()
    outcome = await runner.run(repeat=repeat)
    if traces is not None:
        await asyncio.to_thread(traces.close, 60)  # every trace written: part of what a run costs
    wall = time.perf_counter() - started
    n = len(outcome.executions)
    if n != repeat * len(plan.cases) or any(e.status != "scored" for e in outcome.executions):
        raise RuntimeError(f"the benchmark run did not score every execution: {outcome.run_id}")
    latencies = [e.latency_ms for e in outcome.executions]
    return {
        "wall_s": wall,
        "overhead_ms": (wall - provider.seconds) * 1000 / n,
        "provider_ms": provider.seconds * 1000 / n,
        "latency_median_ms": statistics.median(latencies),
        "latency_p95_ms": _p95(latencies),
    }


async def _baseline_round(
    plan: Scenario, settings: Settings, repeat: int, concurrency: int
) -> dict[str, Any]:
    """The same pipeline runs, called directly: what the runner's scoring, storage and traces add to."""
    provider = TimedProvider(create("scripted"))
    pipeline = Pipeline.from_dict(plan.pipeline_table(), source="bench baseline")
    gate = asyncio.Semaphore(concurrency)

    async def one(message: str) -> None:
        async with gate:
            ctx = chat_turn(
                user_id="bench",
                chat_id=None,
                history=[Message.user(message)],
                provider=provider,
                engine=None,
                memory=None,
                settings=settings,
            )
            async for _ in pipeline.run(ctx):
                pass

    messages = [case.input for _ in range(repeat) for case in plan.cases]
    started = time.perf_counter()
    await asyncio.gather(*(one(m) for m in messages))
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "overhead_ms": (wall - provider.seconds) * 1000 / len(messages),
        "provider_ms": provider.seconds * 1000 / len(messages),
    }


def run(
    settings: Settings,
    *,
    executions: int = 1000,
    concurrency: int = 8,
    cases: int = 100,
    rounds: int = 3,
    full: bool = False,
    full_rows: int = 100_000,
    full_cases: int = 30,
) -> dict[str, Any]:
    """The whole benchmark (see the module docstring); one JSON-able mapping."""
    cases = max(1, min(cases, executions))
    repeat = max(1, executions // cases)
    plan = scenario(cases)
    traced: list[dict[str, Any]] = []
    untraced: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chatdash-bench-evals-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'evals.db'}"
        engine = make_engine(url)
        try:
            upgrade(engine)
            config = settings.model_copy(update={"database_url": url})
            asyncio.run(_runner_round(plan, engine, config, 1, concurrency, True))  # warm-up
            for _ in range(rounds):
                traced.append(asyncio.run(_runner_round(plan, engine, config, repeat, concurrency, True)))
                untraced.append(asyncio.run(_runner_round(plan, engine, config, repeat, concurrency, False)))
                bare.append(asyncio.run(_baseline_round(plan, config, repeat, concurrency)))
            sales = _sales_qa(settings, Path(tmp), full_rows, full_cases) if full else None
        finally:
            engine.dispose()
    ours, baseline = round(_median(traced, "overhead_ms"), 3), round(_median(bare, "overhead_ms"), 3)
    wall = _median(traced, "wall_s")
    return {
        "name": "evals",
        "backend": f"SQLite, scripted provider, concurrency {concurrency}, tracing on",
        "executions": repeat * cases,
        "cases": cases,
        "concurrency": concurrency,
        "rounds": rounds,
        "median_ms": ours,
        "baseline_median_ms": baseline,
        "speedup": round(baseline / max(ours, 1e-9), 4),
        "added_ms": round(ours - baseline, 3),
        "untraced_median_ms": round(_median(untraced, "overhead_ms"), 3),
        "provider_ms": round(_median(traced, "provider_ms"), 4),
        "wall_s": round(wall, 3),
        "untraced_wall_s": round(_median(untraced, "wall_s"), 3),
        "baseline_wall_s": round(_median(bare, "wall_s"), 3),
        "latency_median_ms": round(_median(traced, "latency_median_ms"), 3),
        "latency_p95_ms": round(_median(traced, "latency_p95_ms"), 3),
        "runs_ms": [round(r["overhead_ms"], 3) for r in traced],
        "baseline_runs_ms": [round(r["overhead_ms"], 3) for r in bare],
        "target_ms": TARGET_MS,
        "target_wall_s": TARGET_WALL_S,
        "met_overhead": ours < TARGET_MS,
        "met_wall": wall < TARGET_WALL_S,
        "sales_qa": sales,
        "machine": machine(),
    }


def _sales_qa(settings: Settings, tmp: Path, rows: int, limit: int) -> dict[str, Any]:
    """``scenarios/sales-qa.yaml`` with the configured model, on ``rows`` generated orders."""
    path = SALES_QA if SALES_QA.exists() else Path(__file__).resolve().parents[3] / SALES_QA
    if not path.exists():
        return {"skipped": f"{SALES_QA} not found (run from the repository's root)"}
    url = f"sqlite:///{tmp / 'sales.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        load_frames(engine, generate(rows, 42), replace=True)
        loaded = load_scenario(path)
        generated = GENERATORS[loaded.spec.generate](engine) if loaded.spec.generate else []
        chosen = (loaded.cases + generated)[: limit or None]
        plan = Scenario(loaded.spec.model_copy(update={"generate": None}), loaded.source, chosen)
        config = settings.model_copy(update={"database_url": url})
        provider = get_provider(config)
        runner = Runner(plan, engine=engine, settings=config, provider=provider)
        started = time.perf_counter()
        outcome = asyncio.run(runner.run(repeat=1))
        wall = time.perf_counter() - started
    finally:
        engine.dispose()
    summary = summarize(outcome.scores(), threshold=loaded.spec.threshold)
    latencies = [e.latency_ms for e in outcome.executions]
    return {
        "scenario": str(path),
        "model": provider.model,
        "rows": rows,
        "cases": len(chosen),
        "wall_s": round(wall, 2),
        "latency_median_ms": round(statistics.median(latencies), 1),
        "latency_p95_ms": round(_p95(latencies), 1),
        "mean_score": round(summary.mean.value, 3),
        "mean_score_ci": [round(summary.mean.low, 3), round(summary.mean.high, 3)],
        "pass_rate": round(summary.pass_rate.value, 3),
        "threshold": loaded.spec.threshold,
        "errors": sum(1 for e in outcome.executions if e.error),
        "unscored": summary.unscored,
    }


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rounds))


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]
