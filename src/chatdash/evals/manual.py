"""What people add to the test bed after a run: manual scores, and test cases taken from production.

A ``manual`` evaluator leaves its score pending; ``pending_manual`` lists what waits for a person
(the case's input, the output, the expected answer and the evaluator's instructions), and
``give_manual_score`` stores a person's score (``eval_manual_scores``, one per execution and
evaluator: giving it again replaces it), writes it into the execution's scores and combines them
again with ``combine``, the runner's own rule, so the execution's ``score`` stops being provisional.

``add_case_from_trace`` turns a production trace (a reply a user rated, say) into a test case of a
scenario, named by the scenario's name: the trace's input as the case's input, the expected output a
person wrote. ``added_cases`` returns a scenario's added cases; the runner runs them after the
scenario's own and its generator's, so the next run tests what went wrong in production.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import IntegrityError

from chatdash.db.engine import translate_errors
from chatdash.db.models import Base, EvalCase, EvalExecution, EvalManualScore, EvalRun, Trace
from chatdash.errors import Conflict, InvalidInput, NotFound
from chatdash.evals.evaluators import Evaluator, combine
from chatdash.evals.scenario import Scenario
from chatdash.evals.types import Case, Execution, Score
from chatdash.tracing import jsonable

PENDING_LIKE = '%"status": "pending"%'
"""Matches the stored scores (``json.dumps`` of the runner's entries) holding a pending one: a
database-side first sieve, each match then read whole (a reason's quotes are escaped, so a reason
cannot match it)."""
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A scenario's name as scenario files must write it (``ScenarioSpec.name``)."""
MAX_CASE_ID = 200
MAX_COMMENT = 4_000

_executions = Base.metadata.tables[EvalExecution.__tablename__]
_manual = Base.metadata.tables[EvalManualScore.__tablename__]
_cases = Base.metadata.tables[EvalCase.__tablename__]


@dataclass(frozen=True, slots=True)
class PendingScore:
    """One score a person has to give: an execution's output for one ``manual`` evaluator, with what
    the person needs to judge it (``instructions`` is the evaluator's, or the default reason)."""

    execution_id: int
    evaluator: str
    instructions: str
    run_id: str
    scenario: str
    variant: dict[str, str]
    case_id: str
    repeat: int
    input: str
    output: str
    expected: Any
    error: str | None
    provisional: float | None
    """The execution's combined score without the pending ones (None when nothing else scored)."""
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AddedCase:
    """A case added from production as stored: the ``Case`` a run gets, and where it came from."""

    case: Case
    scenario: str
    trace_id: str | None
    message_id: int | None
    added_by: int | None
    created_at: dt.datetime


# -- manual scores ---------------------------------------------------------------------------------


def pending_manual(
    engine: Engine, *, scenario: str | None = None, run_id: str | None = None, limit: int = 50
) -> list[PendingScore]:
    """Up to ``limit`` scores waiting for a person, the newest run first (then by case and repeat);
    ``scenario`` / ``run_id`` narrow it. An execution with two manual evaluators waits twice."""
    if not 1 <= limit <= 1_000:
        raise InvalidInput(f"limit must be between 1 and 1000, not {limit}")
    e, r = EvalExecution, EvalRun
    stmt = (
        select(e, r.scenario, r.variant)  # on a Connection: the execution's columns, then these two
        .join(r, r.id == e.run_id)
        .where(e.scores.like(PENDING_LIKE))
        .order_by(r.started_at.desc(), r.id, e.case_id, e.repeat)
    )
    if scenario is not None:
        stmt = stmt.where(r.scenario == scenario)
    if run_id is not None:
        stmt = stmt.where(r.id == run_id)
    found: list[PendingScore] = []
    with translate_errors(engine), engine.connect() as conn:
        for row in conn.execute(stmt.execution_options(yield_per=200)):
            for entry in json.loads(row.scores):
                if entry.get("type") != "manual" or entry.get("status") != "pending":
                    continue
                found.append(
                    PendingScore(
                        execution_id=row.id,
                        evaluator=str(entry["evaluator"]),
                        instructions=str(entry.get("reason") or ""),
                        run_id=row.run_id,
                        scenario=row.scenario,
                        variant=json.loads(row.variant),
                        case_id=row.case_id,
                        repeat=row.repeat,
                        input=row.input,
                        output=row.output,
                        expected=json.loads(row.expected) if row.expected else None,
                        error=row.error,
                        provisional=row.score,
                        created_at=row.created_at,
                    )
                )
                if len(found) == limit:
                    return found
    return found


def give_manual_score(
    engine: Engine,
    execution_id: int,
    evaluator: str,
    score: float,
    comment: str | None,
    user_id: int | None,
) -> Score:
    """Store a person's ``score`` (in [0, 1]) of an execution for its manual evaluator ``evaluator``
    and combine the execution's scores again; returns the new combined score (what ``score`` and
    ``status`` of the execution now hold). Giving a score again replaces the earlier one.

    ``NotFound`` for no such execution; ``InvalidInput`` for a score outside [0, 1] or an evaluator
    that is not one of the execution's manual evaluators."""
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InvalidInput(f"a manual score is a number from 0 to 1, not {score!r}")
    if not 0.0 <= score <= 1.0:
        raise InvalidInput(f"a manual score is a number from 0 to 1, not {score:g}")
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment has at most {MAX_COMMENT:,} characters, not {len(text):,}")
    now = dt.datetime.now(dt.UTC)
    e, m = _executions, _manual
    with translate_errors(engine), engine.begin() as conn:
        # FOR UPDATE (PostgreSQL): two people scoring two evaluators of one execution at once must
        # not each write back the scores they read, losing the other's. SQLite serialises writers.
        row = conn.execute(select(e).where(e.c.id == execution_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no execution {execution_id}: it may belong to a run that was deleted")
        entries: list[dict[str, Any]] = json.loads(row.scores)
        entry = next(
            (x for x in entries if x.get("evaluator") == evaluator and x.get("type") == "manual"), None
        )
        if entry is None:
            manual = [str(x.get("evaluator")) for x in entries if x.get("type") == "manual"]
            raise InvalidInput(
                f"execution {execution_id} has no manual evaluator {evaluator!r} "
                f"(its manual evaluators: {', '.join(manual) or 'none'})"
            )
        entry |= {"value": float(score), "status": "scored", "reason": _reason(text)}
        total = combine([(_Stored(x), _score_of(x)) for x in entries])
        status = "error" if row.error else total.status
        conn.execute(
            e.update()
            .where(e.c.id == execution_id)
            .values(scores=json.dumps(entries), score=total.value, status=status)
        )
        given = {"score": float(score), "comment": text, "user_id": user_id, "created_at": now}
        updated = conn.execute(
            m.update().where(m.c.execution_id == execution_id, m.c.evaluator == evaluator).values(**given)
        )
        if updated.rowcount == 0:
            conn.execute(m.insert().values(execution_id=execution_id, evaluator=evaluator, **given))
    return total


def _reason(comment: str | None) -> str:
    return f"a person's score: {comment}" if comment else "a person's score"


def _score_of(entry: dict[str, Any]) -> Score:
    value = entry.get("value")
    return Score(float(value) if value is not None else None, str(entry.get("reason") or ""), entry["status"])


class _Stored(Evaluator):
    """An evaluator as an execution's stored scores name it: its name and weight, all ``combine``
    reads, so that a score given later is combined by the very rule the runner used."""

    def __init__(self, entry: dict[str, Any]) -> None:  # no options: it never scores
        self.type = str(entry.get("type") or "")
        self.name = str(entry["evaluator"])
        self.weight = float(entry.get("weight") or 1.0)

    async def _score(self, case: Case, execution: Execution) -> Score:
        raise NotImplementedError("a stored evaluator only names a score that was given")


# -- cases from production -------------------------------------------------------------------------


def add_case_from_trace(
    engine: Engine,
    scenario: str,
    trace_id: str,
    expected: Any,
    user_id: int | None,
    case_id: str | None = None,
) -> Case:
    """Add the trace's input as a test case of ``scenario`` (a scenario's name; it need not have run
    yet) with the ``expected`` output (text, or any JSON value; None when its evaluators need none).
    The case id defaults to ``prod-`` and the trace id's first 8 digits, so adding one trace twice to
    one scenario is refused.

    ``NotFound`` for no such trace; ``InvalidInput`` for a trace without input, a scenario name a
    scenario file could not have, or a case id that is too long; ``Conflict`` when the scenario
    already has a case with that id."""
    scenario = scenario.strip()
    if not SCENARIO_NAME.match(scenario) or len(scenario) > 100:
        raise InvalidInput(
            f"{scenario!r} cannot be a scenario's name: letters, digits, '_', '.' and '-', "
            "starting with a letter or digit, at most 100 characters"
        )
    wanted = (case_id or "").strip() or f"prod-{trace_id[:8]}"
    if len(wanted) > MAX_CASE_ID:
        raise InvalidInput(f"a case id has at most {MAX_CASE_ID} characters, not {len(wanted)}")
    conflict = Conflict(f"scenario {scenario} already has a case {wanted!r}: give another case id")
    try:
        with translate_errors(engine), engine.begin() as conn:
            trace = conn.execute(
                select(Trace.input, Trace.message_id).where(Trace.id == trace_id)
            ).one_or_none()
            if trace is None:
                raise NotFound(
                    f"no trace {trace_id}: traces go after the retention period, or with their user"
                )
            if not trace.input.strip():
                raise InvalidInput(f"trace {trace_id} has no input: there is no message to make a case of")
            if _has_case(conn, scenario, wanted):
                raise conflict
            conn.execute(
                _cases.insert().values(
                    scenario=scenario,
                    case_id=wanted,
                    input=trace.input,
                    expected=json.dumps(jsonable(expected)) if expected is not None else None,
                    trace_id=trace_id,
                    message_id=trace.message_id,
                    added_by=user_id,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    except IntegrityError:
        with translate_errors(engine), engine.connect() as conn:
            if _has_case(conn, scenario, wanted):  # added by someone else in the meantime
                raise conflict from None
        raise
    return Case(id=wanted, input=trace.input, expected=expected)


def _has_case(conn: Connection, scenario: str, case_id: str) -> bool:
    stmt = select(_cases.c.id).where(_cases.c.scenario == scenario, _cases.c.case_id == case_id)
    return conn.execute(stmt).first() is not None


def added_cases(engine: Engine, scenario: str | Scenario, *, beside: Sequence[Case] = ()) -> list[Case]:
    """The cases added to ``scenario`` from production, oldest first. Given the ``Scenario`` itself,
    each case gets its shared ``vars`` and ``pinned`` outputs, as the file's own cases do; ``beside``
    are the run's other cases: an added case with one of their ids is an ``InvalidInput`` naming it
    (two executions of one case and repeat cannot be stored)."""
    name = scenario if isinstance(scenario, str) else scenario.name
    cases = [added.case for added in list_added_cases(engine, name)]
    if isinstance(scenario, Scenario):
        spec = scenario.spec
        cases = [replace(c, vars={**spec.vars, **c.vars}, pinned={**spec.pinned, **c.pinned}) for c in cases]
    taken = {c.id for c in beside}
    for case in cases:
        if case.id in taken:
            raise InvalidInput(
                f"scenario {name}: the case {case.id!r} added from production has the id of one of the "
                "scenario's own cases; remove it (the Test bed page) and add it again with another id"
            )
    return cases


def list_added_cases(engine: Engine, scenario: str | None = None) -> list[AddedCase]:
    """The cases added from production (of one scenario, or all), oldest first, with their origin."""
    c = EvalCase
    stmt = select(c).order_by(c.scenario, c.created_at, c.id)
    if scenario is not None:
        stmt = stmt.where(c.scenario == scenario)
    with translate_errors(engine), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        AddedCase(
            case=Case(id=r.case_id, input=r.input, expected=json.loads(r.expected) if r.expected else None),
            scenario=r.scenario,
            trace_id=r.trace_id,
            message_id=r.message_id,
            added_by=r.added_by,
            created_at=r.created_at,
        )
        for r in rows
    ]


def remove_case(engine: Engine, scenario: str, case_id: str) -> None:
    """Take a case added from production out of its scenario (runs that have used it keep their
    executions); ``NotFound`` when the scenario has no such added case."""
    with translate_errors(engine), engine.begin() as conn:
        gone = conn.execute(
            delete(EvalCase).where(EvalCase.scenario == scenario, EvalCase.case_id == case_id)
        )
    if gone.rowcount == 0:
        raise NotFound(f"scenario {scenario} has no case {case_id!r} added from production")
