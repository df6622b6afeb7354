"""Scenario files: what the test bed runs, in YAML, checked whole before anything runs.

An evaluation scenario (the PEEL method) names a pipeline (a shipped one such as ``chat``, or its
steps inline: the same engine that serves users), the case-independent context (shared variables, a
documents folder), evaluators with weights, the pass threshold, assertions over repeats, a repeat
count and its test cases (inline, or from a CSV/JSONL file beside it)::

    name: support-answers
    pipeline: chat                    # or: {inputs: [...], steps: [{type: llm, ...}, ...]}
    repeat: 5
    threshold: 0.7                    # an execution passes at this combined score
    evaluators:                       # may be left out when every case lists its own
      - {type: terms, all: ["reset button", "3 seconds"], weight: 2}
      - {type: semantic, rubric: "Is the answer polite and correct?"}
    assertions:
      - {below: 0.3, at_most: 0.2}    # at most 20 % of executions below 0.3
    context:
      documents: manuals/             # indexed into a collection of this run, removed after it
    vars: {product: "Router X"}       # inputs every case gets
    cases:
      - {id: reset, input: "How do I reset my router?", expected: "Hold the reset button 3 seconds"}
      - id: lights                    # scored by the scenario's evaluators and by its own
        input: What do the lights mean?
        evaluators: [{type: regex, pattern: "green|amber"}]
    cases_file: more-cases.jsonl      # or .csv: columns id, input, expected, then variables

A mistake is a ``ScenarioError`` naming the file and the line, before any model is asked.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chatdash.errors import InvalidInput
from chatdash.evals.generators import GENERATORS
from chatdash.evals.types import Case
from chatdash.pipeline import pipeline_table


class ScenarioError(InvalidInput):
    """A scenario file that cannot be run as written: the message names the file and the line."""


class Assertion(BaseModel):
    """ "At most ``at_most`` of the executions score below ``below``", decided with its confidence bound."""

    model_config = ConfigDict(extra="forbid")

    below: float = Field(ge=0.0, le=1.0)
    at_most: float = Field(ge=0.0, le=1.0)

    def __str__(self) -> str:
        return f"at most {self.at_most:.0%} of executions below {self.below:g}"


class Context(BaseModel):
    """Case-independent context: a folder of documents indexed for this run only."""

    model_config = ConfigDict(extra="forbid")

    documents: str | None = None


class EvaluatorSpec(BaseModel):
    """An evaluator's table: its ``type`` and its options (checked by ``chatdash.evals.evaluators``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)


class CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, min_length=1, max_length=200)
    input: str = Field(min_length=1)
    expected: Any = None
    vars: dict[str, Any] = Field(default_factory=dict)
    pinned: dict[str, Any] = Field(default_factory=dict)
    evaluators: list[EvaluatorSpec] = Field(default_factory=list)
    """The case's own evaluators, scored in addition to the scenario's."""


class ScenarioSpec(BaseModel):
    """The file as written (``Scenario`` is what runs)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    pipeline: str | dict[str, Any] = "chat"
    repeat: int = Field(1, ge=1, le=1000)
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    evaluators: list[EvaluatorSpec] = Field(default_factory=list)
    """Every case's evaluators; may be empty only when every case lists its own (``_scored``)."""
    assertions: list[Assertion] = Field(default_factory=list)
    context: Context = Field(default_factory=Context)
    vars: dict[str, Any] = Field(default_factory=dict)
    pinned: dict[str, Any] = Field(default_factory=dict)
    cases: list[CaseSpec] = Field(default_factory=list)
    cases_file: str | None = None
    generate: str | None = None
    """A built-in case generator (``sales``: questions whose expected answers are computed from the
    loaded database when the run starts)."""

    @model_validator(mode="after")
    def _has_cases(self) -> ScenarioSpec:
        if self.generate is not None and self.generate not in GENERATORS:
            raise ValueError(f"generate: no generator {self.generate!r} (known: {', '.join(GENERATORS)})")
        if not self.cases and self.cases_file is None and self.generate is None:
            raise ValueError("no test cases: give cases, a cases_file or a generate")
        return self

    @model_validator(mode="after")
    def _scored(self) -> ScenarioSpec:
        # Without scenario-level evaluators every case must bring its own; cases from a file or a
        # generator cannot, so they need the scenario's.
        if self.evaluators:
            return self
        if self.cases_file is not None or self.generate is not None:
            source = "cases_file" if self.cases_file is not None else "generate"
            raise ValueError(f"evaluators: none given; cases from {source} are scored by the scenario's")
        bare = [c.id or f"case-{n}" for n, c in enumerate(self.cases, start=1) if not c.evaluators]
        if bare:
            listed = ", ".join(bare[:3]) + (f" and {len(bare) - 3} more" if len(bare) > 3 else "")
            raise ValueError(
                "evaluators: none given; give the scenario's evaluators, or every case its own "
                f"(without any: {listed})"
            )
        return self


class Scenario:
    """A checked scenario: its spec, where it came from, and its test cases (ids unique)."""

    def __init__(self, spec: ScenarioSpec, source: Path | None, cases: list[Case]) -> None:
        self.spec = spec
        self.source = source
        self.cases = cases

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def evaluators(self) -> list[dict[str, Any]]:
        """Each evaluator's table as written (``type`` and its options)."""
        return [spec.model_dump() for spec in self.spec.evaluators]

    @property
    def folder(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def pipeline_table(self) -> dict[str, Any]:
        """The pipeline as the engine's dict (``Pipeline.from_dict``): a shipped file read, or inline."""
        if isinstance(self.spec.pipeline, dict):
            return dict(self.spec.pipeline)
        table, _ = pipeline_table(self.spec.pipeline)
        return table


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in ``path``; ``ScenarioError`` names the file and the line of the first mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_scenario(text, path)


def parse_scenario(text: str, path: Path | None = None) -> Scenario:
    where = str(path) if path else "<scenario>"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}{line}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario is a mapping (name, pipeline, evaluators, cases ...)")
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [part for part in error["loc"] if not isinstance(part, str) or part not in _UNION_TAGS]
        field = ".".join(str(part) for part in loc) or "the file"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ScenarioError(f"{where}, line {_line(node, loc)}: {field}: {message}{more}") from None
    cases = [_case(spec, number, c) for number, c in enumerate(spec.cases, start=1)]
    if spec.cases_file:
        base = path.parent if path else Path.cwd()
        from_file = read_cases(base / spec.cases_file)
        cases += [_case(spec, len(cases) + n, c) for n, c in enumerate(from_file, start=1)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ScenarioError(f"{where}: the case id {case.id!r} is used twice; ids must be unique")
        seen.add(case.id)
    return Scenario(spec, path, cases)


_UNION_TAGS = {"str", "dict[str,any]"}


def _case(spec: ScenarioSpec, number: int, case: CaseSpec) -> Case:
    return Case(
        id=case.id or f"case-{number}",
        input=case.input,
        vars={**spec.vars, **case.vars},
        expected=case.expected,
        pinned={**spec.pinned, **case.pinned},
        evaluators=tuple(evaluator.model_dump() for evaluator in case.evaluators),
    )


def read_cases(path: Path) -> list[CaseSpec]:
    """Cases from a JSONL file (one object per line: id, input, expected, vars) or a CSV file (columns
    id, input, expected; any other column is a variable)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix == ".jsonl":
        for line, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                try:
                    rows.append((line, json.loads(raw)))
                except ValueError as exc:
                    raise ScenarioError(f"{path}, line {line}: not JSON ({exc})") from None
    elif path.suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        rows = [(line, dict(row)) for line, row in enumerate(reader, start=2)]
    else:
        raise ScenarioError(f"{path}: cases come from a .jsonl or a .csv file")
    cases = []
    for line, row in rows:
        if not isinstance(row, dict):
            raise ScenarioError(f"{path}, line {line}: a case is an object with input (and id, expected)")
        known = {"id", "input", "expected", "vars", "pinned"}
        extra = {k: v for k, v in row.items() if k not in known}
        body = {k: v for k, v in row.items() if k in known}
        if path.suffix == ".csv":
            body["vars"] = extra
        elif extra:
            raise ScenarioError(f"{path}, line {line}: unknown key(s) {', '.join(sorted(extra))}")
        try:
            spec = CaseSpec.model_validate(body)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            raise ScenarioError(f"{path}, line {line}: {field}: {error['msg']}") from None
        cases.append(spec)
    return cases


def _line(node: yaml.Node | None, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest node of ``loc`` that the file has (the line of the key)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
