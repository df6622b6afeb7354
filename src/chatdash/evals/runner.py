"""The runner: a scenario's cases x repeats through the engine that serves users, scored and stored.

Each execution is one chat turn built by ``chatdash.pipeline.chat_turn`` (the case's input as the
user's message, its variables as the pipeline's inputs, its pinned outputs), run by the same
``Pipeline`` a reply runs, and traced like a reply (``source = "eval"``, the run, case and repeat on
the root span). Executions run ``concurrency`` at a time, each within ``timeout`` seconds (a timeout
is that execution's error, scored 0). Every execution is stored as it finishes, unique by (run, case,
repeat), so a run that was interrupted resumes: ``run(run_id=...)`` does only what is missing.
Repeats run one round at a time; when the scenario has assertions and every verdict is already clear
after a round (``stats.should_stop``), the remaining rounds are left out (``early_stop``).

A variant runs the same scenario with other execution parameters: ``prompt=chat-system@staging``
(every step naming that prompt uses the label or version given), ``temperature=0.7``,
``max_tokens=64``, ``seed=1``, ``model=NAME`` (a model of the configured OpenAI-compatible server).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, select, update

from chatdash.config import Settings
from chatdash.db.engine import session_factory, translate_errors
from chatdash.db.models import EvalExecution, EvalRun
from chatdash.errors import ChatdashError, InvalidInput
from chatdash.evals.evaluators import Evaluator, JudgedScore, build_evaluator, combine
from chatdash.evals.generators import GENERATORS
from chatdash.evals.manual import added_cases
from chatdash.evals.scenario import Scenario
from chatdash.evals.stats import should_stop
from chatdash.evals.types import Case, Execution, Score
from chatdash.llm import Message, Provider, get_provider
from chatdash.memory import DocumentStore, VectorStore
from chatdash.pipeline import Delta, Done, Pipeline, Sources, chat_turn
from chatdash.prompts import parse_ref
from chatdash.tracing import SpanRecord, TraceWriter, jsonable, new_trace_id, run_trace

log = logging.getLogger(__name__)

VARIANT_KEYS = ("prompt", "model", "temperature", "max_tokens", "seed")
_LLM_OPTIONS = {"temperature": float, "max_tokens": int, "seed": int}


def parse_variant(items: Sequence[str]) -> dict[str, str]:
    """``["temperature=0.7", "prompt=chat-system@staging"]`` as a mapping; ``InvalidInput`` names what is
    wrong (an unknown key, a value that is not a number)."""
    variant: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise InvalidInput(f"a variant is KEY=VALUE, e.g. temperature=0.7; got {item!r}")
        if key not in VARIANT_KEYS:
            raise InvalidInput(f"unknown variant key {key!r}: use one of {', '.join(VARIANT_KEYS)}")
        if key in _LLM_OPTIONS:
            try:
                _LLM_OPTIONS[key](value)
            except ValueError:
                raise InvalidInput(f"variant {key} must be a number, not {value!r}") from None
        if key == "prompt":
            parse_ref(value)  # PromptError (InvalidInput) names what is wrong
            if "@" not in value:
                raise InvalidInput(
                    f"variant prompt names a label or version: NAME@LABEL or NAME@N, not {value!r}"
                )
        variant[key] = value
    return variant


@dataclass
class Progress:
    """What the runner reports as it goes (the CLI draws it as a bar). After the first execution (run
    alone, before the others start) ``estimate`` holds what the rest will take, measured."""

    total: int
    done: int = 0
    skipped: int = 0
    """Executions a resumed run found already stored."""
    estimate: Estimate | None = None
    stopped_early: int = 0
    """Repeats left out because every assertion's verdict was already clear."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """The remaining executions' time and tokens, from the first one's: ``seconds`` at the run's
    concurrency (a lower bound when the model serves one request at a time)."""

    executions: int
    seconds_each: float
    tokens_each: int
    concurrency: int

    @property
    def seconds(self) -> float:
        return self.executions * self.seconds_each / self.concurrency

    @property
    def tokens(self) -> int:
        return self.executions * self.tokens_each

    def __str__(self) -> str:
        return (
            f"{self.executions} more executions x {self.seconds_each:.1f} s and {self.tokens_each} tokens "
            f"each: about {_duration(self.seconds)} at concurrency {self.concurrency} (up to "
            f"{_duration(self.executions * self.seconds_each)} one at a time), {self.tokens:,} tokens"
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


@dataclass
class RunOutcome:
    """A finished (or interrupted) run: its id and every execution's scores by case, in repeat order."""

    run_id: str
    scenario: str
    variant: dict[str, str]
    executions: list[StoredExecution] = field(default_factory=list)
    interrupted: bool = False

    def scores(self) -> dict[str, list[float]]:
        """Scored executions' combined scores by case (unscorable and pending ones are left out)."""
        by_case: dict[str, list[float]] = {}
        for e in self.executions:
            if e.score is not None:
                by_case.setdefault(e.case_id, []).append(e.score)
        return by_case


@dataclass(frozen=True, slots=True)
class StoredExecution:
    case_id: str
    repeat: int
    input: str
    expected: Any
    output: str
    score: float | None
    status: str
    scores: list[dict[str, Any]]
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    error: str | None
    trace_id: str | None


class Runner:
    """Runs one scenario with one variant. ``judge`` serves the ``semantic`` evaluators (by default the
    run's provider); ``traces`` receives each execution's trace."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        engine: Engine,
        settings: Settings,
        provider: Provider,
        memory: VectorStore | None = None,
        judge: Provider | None = None,
        traces: TraceWriter | None = None,
        variant: Mapping[str, str] | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        early_stop: bool = True,
    ) -> None:
        self.scenario = scenario
        self.engine, self.settings, self.memory, self.traces = engine, settings, memory, traces
        self.variant = dict(variant or {})
        self.provider = self._provider(provider)
        self.judge = judge or self.provider
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.early_stop = early_stop
        self.pipeline = self._pipeline()
        self._embed = memory.embed if memory is not None else None
        self.evaluators: list[Evaluator] = [
            build_evaluator(spec, judge=self.judge, embed=self._embed) for spec in scenario.evaluators
        ]
        # A case's own evaluators (``Case.evaluators``, e.g. an imported promptfoo test's asserts),
        # scored after the scenario's; built here, so a mistake in one stops the run before it starts.
        self.case_evaluators: dict[str, list[Evaluator]] = {}
        self._build_case_evaluators(scenario.cases)
        self.llm_options: dict[str, Any] = {
            key: kind(self.variant[key]) for key, kind in _LLM_OPTIONS.items() if key in self.variant
        }

    # -- set-up --------------------------------------------------------------------------------

    def _provider(self, provider: Provider) -> Provider:
        model = self.variant.get("model")
        if model is None or model == provider.model:
            return provider
        if not self.settings.llm_base_url:
            raise InvalidInput(
                f"variant model={model}: the embedded model serves only {provider.model!r}; "
                "set CHATDASH_LLM_BASE_URL to a server that has the other model"
            )
        return get_provider(self.settings.model_copy(update={"llm_model": model}))

    def _pipeline(self) -> Pipeline:
        table = self.scenario.pipeline_table()
        prompt = self.variant.get("prompt")
        if prompt is not None:
            name = parse_ref(prompt).name
            steps = [dict(step) for step in table.get("steps", [])]
            named = [
                s for s in steps if isinstance(s.get("prompt"), str) and parse_ref(s["prompt"]).name == name
            ]
            if not named:
                raise InvalidInput(f"variant prompt={prompt}: no step of the scenario's pipeline uses {name}")
            for step in named:
                step["prompt"] = prompt
            table = {**table, "steps": steps}
        return Pipeline.from_dict(table, source=f"scenario {self.scenario.name}")

    # -- the run -------------------------------------------------------------------------------

    async def run(
        self,
        *,
        run_id: str | None = None,
        repeat: int | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> RunOutcome:
        """Every case ``repeat`` times (the scenario's count by default); with ``run_id`` of an earlier
        run of this scenario, only what it has not stored yet."""
        repeats = repeat or self.scenario.spec.repeat
        cases = await anyio.to_thread.run_sync(self.cases)
        run_id = await anyio.to_thread.run_sync(self._open_run, run_id, repeats, len(cases))
        done = await anyio.to_thread.run_sync(self._stored_keys, run_id)
        todo = [(case, r) for r in range(repeats) for case in cases if (case.id, r) not in done]
        state = Progress(total=len(cases) * repeats, done=len(done), skipped=len(done))
        owner = f"eval:{run_id}"
        interrupted = False
        try:
            await anyio.to_thread.run_sync(self._index_context, owner)
            gate = asyncio.Semaphore(self.concurrency)

            async def one(case: Case, number: int) -> Execution:
                async with gate:
                    execution = await self._execute(run_id, owner, case, number)
                state.done += 1
                if progress is not None:
                    progress(state)
                return execution

            if progress is not None:
                progress(state)
            if todo:  # the first alone: what it took estimates the rest before they start
                pilot = await one(*todo[0])
                tokens = (pilot.prompt_tokens or 0) + (pilot.completion_tokens or 0)
                state.estimate = Estimate(len(todo) - 1, pilot.latency_ms / 1000, tokens, self.concurrency)
                if progress is not None:
                    progress(state)
            rest = todo[1:]
            for number in range(repeats):  # repeat by repeat, so a clear verdict can stop the rest
                await asyncio.gather(*(one(case, r) for case, r in rest if r == number))
                if (
                    self.early_stop
                    and number + 1 < repeats
                    and await self._verdicts_clear(run_id, repeats - number - 1)
                ):
                    state.stopped_early = repeats - number - 1
                    if progress is not None:
                        progress(state)
                    break
        except (asyncio.CancelledError, KeyboardInterrupt):
            interrupted = True
            raise
        finally:
            with contextlib.suppress(ChatdashError):
                await anyio.to_thread.run_sync(self._drop_context, owner)
            await anyio.to_thread.run_sync(self._close_run, run_id, interrupted)
        return await anyio.to_thread.run_sync(load_outcome, self.engine, run_id)

    def cases(self) -> list[Case]:
        """The scenario's cases, then its generator's (computed from the database now), then those
        added from production (``manual.added_cases``), each checked against every evaluator: a case
        that lacks what one needs stops the run before it starts."""
        cases = list(self.scenario.cases)
        if self.scenario.spec.generate is not None:
            cases += GENERATORS[self.scenario.spec.generate](self.engine)
        cases += added_cases(self.engine, self.scenario, beside=cases)
        self._build_case_evaluators(cases)
        for case in cases:
            for evaluator in self.evaluators_of(case):
                evaluator.check(case)
        return cases

    def evaluators_of(self, case: Case) -> list[Evaluator]:
        """What scores ``case``: the scenario's evaluators, then the case's own."""
        return self.evaluators + self.case_evaluators.get(case.id, [])

    def _build_case_evaluators(self, cases: Sequence[Case]) -> None:
        for case in cases:
            if case.evaluators and case.id not in self.case_evaluators:
                self.case_evaluators[case.id] = [
                    build_evaluator(spec, judge=self.judge, embed=self._embed) for spec in case.evaluators
                ]

    async def _verdicts_clear(self, run_id: str, remaining: int) -> bool:
        """Whether every assertion's verdict is already pass or fail and the remaining repeats could not
        change it (``stats.should_stop``)."""
        assertions = self.scenario.spec.assertions
        if not assertions:
            return False
        outcome = await anyio.to_thread.run_sync(load_outcome, self.engine, run_id)
        scores: dict[str, list[float | None]] = {}
        for e in outcome.executions:
            scores.setdefault(e.case_id, []).append(e.score)
        if not any(v is not None for values in scores.values() for v in values):
            return False
        decisions = [
            should_stop(scores, below=a.below, at_most=a.at_most, remaining_repeats=remaining)
            for a in assertions
        ]
        # Only a clear verdict stops: one that stays inconclusive whatever comes is no reason to stop
        # measuring the mean and the cases' spread.
        return all(d.stop and d.verdict.verdict in ("pass", "fail") for d in decisions)

    async def _execute(self, run_id: str, owner: str, case: Case, number: int) -> Execution:
        spans: list[SpanRecord] = []
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        parts: list[str] = []
        first: float | None = None
        answer: dict[str, Any] | None = None
        done: Done | None = None
        error: str | None = None
        ctx = chat_turn(
            user_id=owner,
            chat_id=None,
            history=[Message.user(case.input)],
            provider=self.provider,
            engine=self.engine,
            memory=self.memory,
            settings=self.settings,
            llm_options=self.llm_options,
            inputs=case.vars,
            pinned=case.pinned,
        )
        try:
            async with asyncio.timeout(self.timeout):
                async for event in self.pipeline.run(ctx, trace=spans):
                    if isinstance(event, Delta):
                        first = first or time.perf_counter()
                        parts.append(event.text)
                    elif isinstance(event, Sources) and event.sales is not None:
                        answer = event.sales.as_dict()
                    elif isinstance(event, Done):
                        done = event
        except TimeoutError:
            error = f"no result within {self.timeout:g} s"
        except ChatdashError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - clock) * 1000
        llm = [s for s in spans if s.kind == "llm" and s.model is not None]
        check = next((s.attributes["figure_check"] for s in spans if "figure_check" in s.attributes), None)
        execution = Execution(
            case_id=case.id,
            repeat=number,
            output="".join(parts),
            latency_ms=latency,
            outputs=jsonable(done.outputs) if done else {},
            answer=answer,
            figure_check=str(check) if check is not None else None,
            ttft_ms=(first - clock) * 1000 if first is not None else None,
            prompt_tokens=sum(s.prompt_tokens or 0 for s in llm) if llm else None,
            completion_tokens=sum(s.completion_tokens or 0 for s in llm) if llm else None,
            error=error,
            trace_id=new_trace_id() if self.traces is not None else None,
        )
        scored = [(e, await self._score(e, case, execution)) for e in self.evaluators_of(case)]
        total = combine(scored)
        await anyio.to_thread.run_sync(self._store, run_id, case, execution, scored, total)
        self._trace(run_id, case, execution, started, spans)
        return execution

    async def _score(self, evaluator: Evaluator, case: Case, execution: Execution) -> Score:
        try:
            return await evaluator.score(case, execution)
        except ChatdashError as exc:  # a judge that is down: this score cannot be given, not 0
            return Score.unscorable(f"{type(exc).__name__}: {exc}")

    # -- storage -------------------------------------------------------------------------------

    def _open_run(self, run_id: str | None, repeats: int, cases: int) -> str:
        spec = self.scenario.spec
        with translate_errors(self.engine), session_factory(self.engine).begin() as session:
            if run_id is not None:
                run = session.get(EvalRun, run_id)
                if run is None or run.scenario != spec.name:
                    raise InvalidInput(f"no run {run_id} of scenario {spec.name} to resume")
                if json.loads(run.variant) != self.variant:
                    raise InvalidInput(f"run {run_id} had the variant {run.variant}; resume it with the same")
                run.status = "running"
                return run_id
            run_id = secrets.token_hex(16)
            settings = {
                "repeat": repeats,
                "threshold": spec.threshold,
                "evaluators": self.scenario.evaluators,
                "assertions": [a.model_dump() for a in spec.assertions],
                "pipeline": self.pipeline.name,
            }
            session.add(
                EvalRun(
                    id=run_id,
                    scenario=spec.name,
                    source=str(self.scenario.source) if self.scenario.source else None,
                    variant=json.dumps(self.variant, sort_keys=True),
                    settings=json.dumps(settings, default=str),
                    status="running",
                    cases=cases,
                    repeat=repeats,
                )
            )
        return run_id

    def _stored_keys(self, run_id: str) -> set[tuple[str, int]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(EvalExecution.case_id, EvalExecution.repeat).where(EvalExecution.run_id == run_id)
            )
            return {(case, repeat) for case, repeat in rows}

    def _store(
        self,
        run_id: str,
        case: Case,
        execution: Execution,
        scored: list[tuple[Evaluator, Score]],
        total: Score,
    ) -> None:
        status = "error" if execution.error else total.status
        with self.engine.begin() as connection:
            connection.execute(
                EvalExecution.__table__.insert().values(  # type: ignore[attr-defined]
                    run_id=run_id,
                    case_id=case.id,
                    repeat=execution.repeat,
                    input=case.input,
                    expected=json.dumps(jsonable(case.expected)),
                    output=execution.output,
                    error=execution.error,
                    score=total.value,
                    status=status,
                    scores=json.dumps(
                        [
                            {
                                "evaluator": e.name,
                                "type": e.type,
                                "weight": e.weight,
                                "value": s.value,
                                "status": s.status,
                                "reason": s.reason,
                            }
                            | ({"judgements": s.values} if isinstance(s, JudgedScore) and s.values else {})
                            for e, s in scored
                        ]
                    ),
                    latency_ms=execution.latency_ms,
                    ttft_ms=execution.ttft_ms,
                    prompt_tokens=execution.prompt_tokens,
                    completion_tokens=execution.completion_tokens,
                    trace_id=execution.trace_id,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )

    def _close_run(self, run_id: str, interrupted: bool) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(EvalRun)
                .where(EvalRun.id == run_id)
                .values(
                    status="interrupted" if interrupted else "complete", finished_at=dt.datetime.now(dt.UTC)
                )
            )

    def _index_context(self, owner: str) -> None:
        folder = self.scenario.spec.context.documents
        if folder is None:
            return
        if self.memory is None:
            raise InvalidInput("this scenario's context has documents: the run needs the vector store")
        DocumentStore(self.memory).add_paths([self.scenario.folder / folder], owner=owner)

    def _drop_context(self, owner: str) -> None:
        if self.memory is None or self.scenario.spec.context.documents is None:
            return
        store = DocumentStore(self.memory)
        for document in store.owned(owner):
            store.remove_id(owner, document.id)

    def _trace(
        self, run_id: str, case: Case, execution: Execution, started: dt.datetime, spans: list[SpanRecord]
    ) -> None:
        if self.traces is None or execution.trace_id is None:
            return
        self.traces.record(
            run_trace(
                trace_id=execution.trace_id,
                source="eval",
                pipeline=self.pipeline.name,
                input=case.input,
                output=execution.output,
                status="error" if execution.error else "complete",
                error=execution.error,
                started_at=started,
                latency_ms=execution.latency_ms,
                ttft_ms=execution.ttft_ms,
                spans=spans,
                attributes={
                    "run": run_id,
                    "scenario": self.scenario.name,
                    "case": case.id,
                    "repeat": execution.repeat,
                },
            )
        )


def load_outcome(engine: Engine, run_id: str) -> RunOutcome:
    """A stored run with its executions (for reports, ``compare`` and resuming)."""
    with engine.connect() as connection:
        run = connection.execute(select(EvalRun).where(EvalRun.id == run_id)).one_or_none()
        if run is None:
            raise InvalidInput(f"no run {run_id}: `chatdash eval report` lists the runs")
        rows = connection.execute(
            select(EvalExecution)
            .where(EvalExecution.run_id == run_id)
            .order_by(EvalExecution.case_id, EvalExecution.repeat)
        ).all()
    return RunOutcome(
        run_id=run.id,
        scenario=run.scenario,
        variant=json.loads(run.variant),
        executions=[
            StoredExecution(
                case_id=r.case_id,
                repeat=r.repeat,
                input=r.input,
                expected=json.loads(r.expected) if r.expected else None,
                output=r.output,
                score=r.score,
                status=r.status,
                scores=json.loads(r.scores),
                latency_ms=r.latency_ms,
                ttft_ms=r.ttft_ms,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                error=r.error,
                trace_id=r.trace_id,
            )
            for r in rows
        ],
        interrupted=run.status == "interrupted",
    )
