"""The evaluators of the test bed: each reads one execution of one case and gives a ``Score`` in [0, 1].

A scenario file lists them as mappings, e.g. ``{type: terms, all: ["reset button", "3 seconds"],
weight: 2}``; ``build_evaluator`` checks one (unknown options are refused, the message names the
evaluator and the field) and returns an ``Evaluator`` with a ``name`` (the ``name:`` given, else its
type), a ``weight`` (> 0, default 1) and ``async score(case, execution)``. ``parse_spec`` only checks.

=============== ==================================================================================
type            scores
=============== ==================================================================================
``exact``       1 when the output equals ``value`` (else ``case.expected``; a list: any of them),
                compared casefolded (``case_sensitive``) with whitespace collapsed and surrounding
                punctuation stripped (``normalize``)
``regex``       1 when ``pattern`` (else ``case.expected``) is found (``full``: the whole output
                matches); ``flags``: any of ``i``, ``m``, ``s``
``terms``       ``all``: the share of the terms found (partial credit); ``any``: 1 when one is found;
                both: the ``all`` share, but 0 when no ``any`` term is found. ``min_share`` makes it
                pass/fail (1 at that share or more, else 0). Without either list the terms are
                ``case.expected`` (a list, or one string) taken as ``all``. Case-insensitive by default
``numeric``     1 when the figure equals ``expected`` (else ``case.expected``); see ``extract_numbers``
``json_schema`` 1 when the output (or the first fenced ``json`` block in it) is JSON valid against
                ``schema``; else 0 with the first error
``semantic``    an LLM judge's score of the output against the expected answer and a ``rubric``,
                or (``method: embedding``) the cosine similarity of their embeddings
``manual``      always pending: the runner queues it for a person
``latency``     ``max_ms`` on the whole run, ``ttft_max_ms`` on the first token: 1 within, else 0;
                ``soft``: 1 within, falling linearly to 0 at twice the budget
``tokens``      ``max_prompt``, ``max_completion``, ``max_total`` budgets: 1 within all, else 0
``figure_check`` 1 when the model's prose was shown (or held back for being empty, or nothing was
                checked), 0 with the reason it was held back; without the pipeline's own verdict but
                with a sales answer, the output is checked here with ``chatdash.sales.check_figures``
=============== ==================================================================================

Decisions a caller must know:

- **A failed run** (``execution.error``) scores 0 on every evaluator, with the error as the reason,
  except ``manual``, which stays pending: a person may still want to see what the user got.
- **Missing measurements** (no time to first token, no token counts) are ``unscorable``, not 0: the
  run did not fail the budget, it was not measured. A judge whose reply cannot be read after its
  retries, or that does not answer (``ModelError``), is ``unscorable`` too, never 0, 1 or NaN.
- **A case without what an evaluator needs** (``exact`` with no ``value`` and no ``expected``) raises
  ``EvaluatorError``: the scenario is wrong, and ``Evaluator.check(case)`` finds it before a run.
- **Numeric defaults**: without ``abs_tol`` or ``rel_tol`` two figures are equal when they round to the
  same cent (half up); with them, when ``|actual - expected| <= max(abs_tol, rel_tol * |expected|)``.
- **Embedding similarity** is mapped to a score as ``max(0, cos)``: unrelated or opposite texts score 0.
- **``combine``**: see its docstring (unscorable wins; a pending manual score leaves the others'
  weighted mean as a provisional score).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal

import jsonschema  # type: ignore[import-untyped]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from chatdash.errors import InvalidInput, ModelError
from chatdash.evals.types import Case, Execution, Score
from chatdash.llm import Message, Provider
from chatdash.sales import FigureCheck, check_figures

Embed = Callable[[list[str]], list[list[float]]]
"""Texts in, one vector per text out (e.g. ``VectorStore.embed``)."""

Scalar = str | int | float


class EvaluatorError(InvalidInput):
    """An evaluator that cannot be used as written in the scenario (the message names the evaluator
    and the field), or a case that lacks what the evaluator needs (e.g. an expected value)."""


# -- options -------------------------------------------------------------------------------------


class _Options(BaseModel):
    """What every evaluator takes. Unknown options are refused, so a misspelt one fails loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: str
    """Which evaluator (each options class narrows it to its one name)."""
    name: str | None = Field(None, min_length=1, max_length=100)
    """How reports name it; default: its type (give names when a scenario has two of one type)."""
    weight: float = Field(1.0, gt=0.0, allow_inf_nan=False)
    """Its share in ``combine``'s weighted mean."""
    key: str | None = Field(None, min_length=1)
    """For cases whose ``expected`` is a mapping (a generator's ``{"value": ..., "terms": [...]}``):
    the field this evaluator reads."""


class ExactOptions(_Options):
    type: Literal["exact"]
    value: Scalar | list[Scalar] | None = None
    case_sensitive: bool = False
    normalize: bool = True
    """Collapse whitespace and strip punctuation around the text before comparing."""


class RegexOptions(_Options):
    type: Literal["regex"]
    pattern: str | None = None
    flags: str = ""
    """Letters ``i`` (ignore case), ``m`` (^ and $ at each line), ``s`` (. matches newlines)."""
    full: bool = False
    """The whole output (stripped) must match, not just a part of it."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value, "")
        return value

    @field_validator("flags", mode="before")
    @classmethod
    def _letters(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            value = "".join(str(letter) for letter in value)
        if isinstance(value, str) and set(value.lower()) - set("ims"):
            raise ValueError(f"{value!r}: use the letters i, m and s only")
        return value.lower() if isinstance(value, str) else value


class TermsOptions(_Options):
    type: Literal["terms"]
    all: list[Annotated[str, Field(min_length=1)]] | None = None
    any: list[Annotated[str, Field(min_length=1)]] | None = None
    case_sensitive: bool = False
    whole_words: bool = False
    """A term must not be part of a longer word ("cup" is not found in "cupboard")."""
    min_share: float | None = Field(None, gt=0.0, le=1.0)


class NumericOptions(_Options):
    type: Literal["numeric"]
    expected: Scalar | list[Scalar] | None = None
    """A number or a numeric string ("2,008,648.41", "-3.5%"); a list only with ``pick: all``."""
    pick: Literal["first", "last", "all"] = "first"
    """Which number of the text is the figure; ``all``: the score is the share of the expected
    figures found among all the numbers of the text (or of the answer)."""
    source: Literal["auto", "answer", "text"] = "auto"
    """``auto``: the sales answer's exact ``value`` when the execution has one, else the text."""
    skip_years: bool = True
    """Plain four-digit integers 1900-2100 are years, not figures, unless the text has no other number."""
    abs_tol: float | None = Field(None, ge=0.0, allow_inf_nan=False)
    rel_tol: float | None = Field(None, ge=0.0, allow_inf_nan=False)

    @field_validator("expected")
    @classmethod
    def _numeric(cls, value: Scalar | list[Scalar] | None) -> Scalar | list[Scalar] | None:
        for item in value if isinstance(value, list) else [] if value is None else [value]:
            _expected_number(item)
        return value

    @model_validator(mode="after")
    def _list_needs_all(self) -> NumericOptions:
        if isinstance(self.expected, list) and self.pick != "all":
            raise ValueError("expected: a list of figures needs pick: all")
        return self


class JsonSchemaOptions(_Options):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.exceptions.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        return value


DEFAULT_RUBRIC = (
    "The actual answer states the same facts and figures as the expected answer and answers the "
    "question; the wording may differ. Anything wrong or missing lowers the score."
)


class SemanticOptions(_Options):
    type: Literal["semantic"]
    method: Literal["judge", "embedding"] = "judge"
    rubric: str | None = Field(None, min_length=1)
    """What the judge looks for (default ``DEFAULT_RUBRIC``); judge method only."""
    expected: str | None = None
    """The reference answer; default: ``case.expected`` (text, or JSON for a structure)."""
    model: str | None = Field(None, min_length=1)
    """The judge model, recorded for the runner to pick the provider; independent of the model tested."""
    retries: int = Field(2, ge=0, le=10)
    """Further attempts when a judge's reply is not JSON, or its score not a number in [0, 1]."""
    judgements: int = Field(1, ge=1, le=20)
    """Judge the same output this many times and score the mean (see ``JudgedScore``)."""
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    """The judge's temperature (default: the provider's); above 0 for judgements that may differ."""
    max_tokens: int = Field(256, ge=16, le=4096)

    @model_validator(mode="after")
    def _judge_only(self) -> SemanticOptions:
        if self.method == "embedding":
            for field in ("rubric", "temperature"):
                if getattr(self, field) is not None:
                    raise ValueError(f"{field}: applies to method judge, not embedding")
            if self.judgements != 1:
                raise ValueError("judgements: an embedding is the same every time; use method judge")
        return self


class ManualOptions(_Options):
    type: Literal["manual"]
    instructions: str | None = None
    """What the person scoring should look for (the pending score's reason)."""


class LatencyOptions(_Options):
    type: Literal["latency"]
    max_ms: float | None = Field(None, gt=0.0, allow_inf_nan=False)
    ttft_max_ms: float | None = Field(None, gt=0.0, allow_inf_nan=False)
    soft: bool = False

    @model_validator(mode="after")
    def _a_budget(self) -> LatencyOptions:
        if self.max_ms is None and self.ttft_max_ms is None:
            raise ValueError("max_ms or ttft_max_ms: give at least one budget")
        return self


class TokensOptions(_Options):
    type: Literal["tokens"]
    max_prompt: int | None = Field(None, ge=1)
    max_completion: int | None = Field(None, ge=1)
    max_total: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _a_budget(self) -> TokensOptions:
        if self.max_prompt is None and self.max_completion is None and self.max_total is None:
            raise ValueError("max_prompt, max_completion or max_total: give at least one budget")
        return self


class FigureCheckOptions(_Options):
    type: Literal["figure_check"]


EvaluatorOptions = Annotated[
    ExactOptions
    | RegexOptions
    | TermsOptions
    | NumericOptions
    | JsonSchemaOptions
    | SemanticOptions
    | ManualOptions
    | LatencyOptions
    | TokensOptions
    | FigureCheckOptions,
    Field(discriminator="type"),
]
"""One evaluator of a scenario file, told apart by ``type`` (a scenario model may embed it)."""

_ADAPTER: TypeAdapter[EvaluatorOptions] = TypeAdapter(EvaluatorOptions)

EVALUATOR_TYPES = (
    "exact",
    "regex",
    "terms",
    "numeric",
    "json_schema",
    "semantic",
    "manual",
    "latency",
    "tokens",
    "figure_check",
)


def parse_spec(spec: Mapping[str, Any]) -> EvaluatorOptions:
    """The checked options of one evaluator; ``EvaluatorError`` naming the evaluator and the field."""
    if not isinstance(spec, Mapping):
        raise EvaluatorError(f"an evaluator is a mapping with a type, not {spec!r}")
    kind, name = spec.get("type"), spec.get("name")
    named = isinstance(name, str) and bool(name)
    if kind not in EVALUATOR_TYPES:
        who = f"evaluator {name!r}" if named else "an evaluator"
        problem = "has no type" if kind is None else f"has an unknown type {kind!r}"
        raise EvaluatorError(f"{who} {problem}; known types: {', '.join(EVALUATOR_TYPES)}")
    where = f"evaluator {name!r} (type {kind})" if named else f"evaluator {kind!r}"
    try:
        return _ADAPTER.validate_python(dict(spec))
    except ValidationError as exc:
        raise EvaluatorError(f"{where}: {_reasons(exc, str(kind))}") from None


def _reasons(exc: ValidationError, kind: str) -> str:
    parts = []
    for error in exc.errors():
        loc = list(error["loc"])
        if loc and loc[0] == kind:  # the discriminated union puts the tag first
            loc = loc[1:]
        field = ".".join(str(part) for part in loc)
        if error["type"] == "extra_forbidden":
            parts.append(f"unknown option {field!r}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


# -- the evaluators ------------------------------------------------------------------------------


class Evaluator(ABC):
    """One configured evaluator. ``score`` never raises for a bad output; it raises ``EvaluatorError``
    for a case that lacks what it needs (``check`` finds that before a run)."""

    counts_errors: ClassVar[bool] = True
    """A failed execution scores 0 (every type but ``manual``)."""

    options: _Options

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.type: str = options.type
        self.name: str = options.name or self.type
        self.weight: float = options.weight

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} weight={self.weight}>"

    def check(self, case: Case) -> None:  # noqa: B027 - most evaluators need nothing of a case
        """``EvaluatorError`` when ``case`` lacks what this evaluator needs (most need nothing)."""

    async def score(self, case: Case, execution: Execution) -> Score:
        self.check(case)
        if execution.error is not None and self.counts_errors:
            return Score(0.0, f"the run failed: {execution.error}")
        return await self._score(case, execution)

    @abstractmethod
    async def _score(self, case: Case, execution: Execution) -> Score: ...

    def expected_of(self, case: Case) -> Any:
        """The case's expected value, or its ``key`` field when the evaluator names one."""
        if self.options.key is None:
            return case.expected
        if not isinstance(case.expected, dict) or self.options.key not in case.expected:
            raise EvaluatorError(
                f"evaluator {self.name!r}: case {case.id!r} has no expected {self.options.key!r} (key:)"
            )
        return case.expected[self.options.key]

    def _needs(self, case: Case, given: Any, what: str) -> Any:
        value = given if given is not None else self.expected_of(case)
        if value is None:
            raise EvaluatorError(
                f"evaluator {self.name!r}: case {case.id!r} has no expected {what} ({what}:)"
            )
        return value


class ExactEvaluator(Evaluator):
    options: ExactOptions

    def check(self, case: Case) -> None:
        self._needs(case, self.options.value, "value")

    async def _score(self, case: Case, execution: Execution) -> Score:
        wanted = self._needs(case, self.options.value, "value")
        choices = [str(item) for item in (wanted if isinstance(wanted, list) else [wanted])]
        got = self._norm(execution.output)
        if any(self._norm(choice) == got for choice in choices):
            return Score(1.0, "the output equals the expected value")
        return Score(0.0, f"expected {_quote(choices[0])}, got {_quote(execution.output)}")

    def _norm(self, text: str) -> str:
        if self.options.normalize:
            text = _strip_punctuation(" ".join(text.split()))
        return text if self.options.case_sensitive else text.casefold()


class RegexEvaluator(Evaluator):
    options: RegexOptions

    def check(self, case: Case) -> None:
        self._pattern(case)

    def _pattern(self, case: Case) -> re.Pattern[str]:
        pattern = self._needs(case, self.options.pattern, "pattern")
        try:
            return _compile(str(pattern), self.options.flags)
        except ValueError as exc:
            raise EvaluatorError(f"evaluator {self.name!r}: case {case.id!r}: {exc}") from None

    async def _score(self, case: Case, execution: Execution) -> Score:
        pattern = self._pattern(case)
        text = execution.output.strip() if self.options.full else execution.output
        found = pattern.fullmatch(text) if self.options.full else pattern.search(text)
        how = "matches" if self.options.full else "is found in"
        if found:
            return Score(1.0, f"/{pattern.pattern}/ {how} the output")
        return Score(
            0.0,
            f"/{pattern.pattern}/ {'does not match' if self.options.full else 'not found in'} "
            f"the output {_quote(execution.output)}",
        )


class TermsEvaluator(Evaluator):
    options: TermsOptions

    def check(self, case: Case) -> None:
        self._terms(case)

    def _terms(self, case: Case) -> tuple[list[str], list[str]]:
        if self.options.all is not None or self.options.any is not None:
            return list(self.options.all or []), list(self.options.any or [])
        expected = self.expected_of(case)
        if isinstance(expected, str) and expected.strip():
            return [expected], []
        if isinstance(expected, list) and expected and all(isinstance(t, str) and t for t in expected):
            return list(expected), []
        raise EvaluatorError(
            f"evaluator {self.name!r}: give all: or any: terms, or an expected list of terms "
            f"(case {case.id!r} has {expected!r})"
        )

    async def _score(self, case: Case, execution: Execution) -> Score:
        every, some = self._terms(case)
        text = " ".join(execution.output.split())
        missing = [term for term in every if not self._found(term, text)]
        reasons, value = [], 1.0
        if every:
            value = (len(every) - len(missing)) / len(every)
            reasons.append(f"found {len(every) - len(missing)} of {len(every)} terms")
            if missing:
                reasons.append("missing: " + ", ".join(_quote(term) for term in missing))
        if some:
            hit = next((term for term in some if self._found(term, text)), None)
            if hit is None:
                value = 0.0
                reasons.append("none of " + ", ".join(_quote(term) for term in some))
            else:
                reasons.append(f"found {_quote(hit)}")
        if self.options.min_share is not None and every:
            passed = value >= self.options.min_share
            value = 1.0 if passed else 0.0
            reasons.append(f"{'at least' if passed else 'below'} the share {self.options.min_share:g}")
        return Score(value, "; ".join(reasons))

    def _found(self, term: str, text: str) -> bool:
        needle = " ".join(term.split())
        flags = 0 if self.options.case_sensitive else re.IGNORECASE
        if self.options.whole_words:
            return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, flags) is not None
        if self.options.case_sensitive:
            return needle in text
        return needle.casefold() in text.casefold()


class NumericEvaluator(Evaluator):
    options: NumericOptions

    def _expected(self, case: Case) -> list[Decimal]:
        wanted = self._needs(case, self.options.expected, "figure")
        items = wanted if isinstance(wanted, list) else [wanted]
        if len(items) > 1 and self.options.pick != "all":
            raise EvaluatorError(
                f"evaluator {self.name!r}: case {case.id!r} expects several figures; use pick: all"
            )
        try:
            return [_expected_number(item) for item in items]
        except ValueError as exc:
            raise EvaluatorError(f"evaluator {self.name!r}: case {case.id!r}: expected {exc}") from None

    def check(self, case: Case) -> None:
        self._expected(case)

    async def _score(self, case: Case, execution: Execution) -> Score:
        expected = self._expected(case)
        found, where = self._figures(execution)
        if not found:
            return Score(0.0, f"no number found in the {where}")
        if self.options.pick == "all":
            hits = [e for e in expected if any(self._equal(n, e) for n in found)]
            missing = [_fmt(e) for e in expected if e not in hits]
            reason = f"found {len(hits)} of {len(expected)} figures in the {where}"
            return Score(
                len(hits) / len(expected), reason + (f"; missing {', '.join(missing)}" if missing else "")
            )
        got = found[0] if self.options.pick == "first" else found[-1]
        if self._equal(got, expected[0]):
            return Score(1.0, f"{_fmt(got)} in the {where} equals the expected {_fmt(expected[0])}")
        return Score(0.0, f"{_fmt(got)} in the {where}, expected {_fmt(expected[0])}")

    def _figures(self, execution: Execution) -> tuple[list[Decimal], str]:
        source = self.options.source
        if source != "text" and execution.answer is not None:
            figures = _answer_figures(execution.answer, every=self.options.pick == "all")
            if figures or source == "answer":
                return figures, "answer"
        if source == "answer":
            return [], "answer (the run has none)"
        return extract_numbers(execution.output, skip_years=self.options.skip_years), "output"

    def _equal(self, got: Decimal, expected: Decimal) -> bool:
        if self.options.abs_tol is None and self.options.rel_tol is None:
            return _cents(got) == _cents(expected)
        tolerance = max(
            Decimal(str(self.options.abs_tol or 0)), Decimal(str(self.options.rel_tol or 0)) * abs(expected)
        )
        return abs(got - expected) <= tolerance


class JsonSchemaEvaluator(Evaluator):
    options: JsonSchemaOptions

    async def _score(self, case: Case, execution: Execution) -> Score:
        try:
            value = _json_in(execution.output)
        except ValueError as exc:
            return Score(0.0, str(exc))
        schema = self.options.schema_
        error = jsonschema.exceptions.best_match(
            jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
        )
        if error is None:
            return Score(1.0, "the JSON is valid against the schema")
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        return Score(0.0, f"at {where}: {error.message}")


@dataclass(frozen=True, slots=True)
class Judgement:
    """One reading of the judge: its ``value`` (None when unreadable after the retries), its reason,
    and how many attempts it took."""

    value: float | None
    reason: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class JudgedScore(Score):
    """A ``semantic`` score with every judgement it is the mean of, for the judge's consistency."""

    judgements: tuple[Judgement, ...] = ()

    @property
    def values(self) -> list[float]:
        return [j.value for j in self.judgements if j.value is not None]


class _Verdict(BaseModel):
    """The judge's reply."""

    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False, description="0 = wrong, 1 = fully right")
    reason: str = Field(description="one sentence: why this score")


_JUDGE_SYSTEM = (
    "You grade an assistant's answer. Compare the actual answer with the expected answer, following "
    "the rubric. Score 1 when the actual answer fully meets the rubric, 0 when it does not meet it at "
    "all, and a number in between for a partly right answer. Give a one-sentence reason."
)


class SemanticEvaluator(Evaluator):
    """The judge (a ``Provider`` from outside, so the judge model is independent of the model under
    test) replies with JSON ``{score, reason}`` through ``Provider.structured``; a reply that is not
    that JSON or has a score outside [0, 1] is sent back with the problem, ``retries`` times. With
    ``judgements: N`` the score is the mean of the readable judgements (all N are in the
    ``JudgedScore``); none readable: unscorable."""

    options: SemanticOptions

    def __init__(self, options: SemanticOptions, *, judge: Provider | None, embed: Embed | None) -> None:
        super().__init__(options)
        where = f"evaluator {self.name!r}"
        if options.method == "judge" and judge is None:
            raise EvaluatorError(f"{where}: model: no judge provider was given for the judge method")
        if options.method == "embedding" and embed is None:
            raise EvaluatorError(f"{where}: method: embedding needs an embedder (the vector memory's)")
        self.judge, self.embed = judge, embed
        self.model = options.model

    def check(self, case: Case) -> None:
        if self.options.method == "embedding":
            self._needs(case, self.options.expected, "answer")

    def _reference(self, case: Case) -> str | None:
        given = self.options.expected if self.options.expected is not None else case.expected
        if given is None or isinstance(given, str):
            return given
        return json.dumps(given, ensure_ascii=False, default=str)

    async def _score(self, case: Case, execution: Execution) -> Score:
        if self.options.method == "embedding":
            return self._similarity(self._needs(case, self._reference(case), "answer"), execution.output)
        messages = self._messages(case, execution)
        judgements = [await self._judge(messages) for _ in range(self.options.judgements)]
        values = [j.value for j in judgements if j.value is not None]
        if not values:
            many = f"none of {len(judgements)} judgements was readable; " if len(judgements) > 1 else ""
            reason = many + judgements[-1].reason
            return JudgedScore(None, reason, "unscorable", judgements=tuple(judgements))
        mean = sum(values) / len(values)
        if len(judgements) == 1:
            reason = f"judge: {mean:.2f}: {judgements[0].reason}"
        else:
            listed = ", ".join("unreadable" if j.value is None else f"{j.value:.2f}" for j in judgements)
            first = next(j.reason for j in judgements if j.value is not None)
            reason = f"mean of {len(values)} judgements ({listed}): {first}"
        return JudgedScore(min(1.0, max(0.0, mean)), reason, judgements=tuple(judgements))

    def _messages(self, case: Case, execution: Execution) -> list[Message]:
        expected = self._reference(case)
        if expected is None:
            expected = "(none given: judge by the rubric)"
        user = (
            f"Question:\n{case.input}\n\n"
            f"Expected answer:\n{expected}\n\n"
            f"Actual answer:\n{execution.output}\n\n"
            f"Rubric:\n{self.options.rubric or DEFAULT_RUBRIC}\n\n"
            'Reply with JSON only: {"score": <a number from 0 to 1>, "reason": "<why, in one sentence>"}.'
        )
        return [Message.system(_JUDGE_SYSTEM), Message.user(user)]

    async def _judge(self, messages: list[Message]) -> Judgement:
        assert self.judge is not None
        attempts = self.options.retries + 1
        overrides: dict[str, Any] = {"max_tokens": self.options.max_tokens}
        if self.options.temperature is not None:
            overrides["temperature"] = self.options.temperature
        try:
            reply = await self.judge.structured(messages, _Verdict, attempts=attempts, **overrides)
        except ModelError as exc:
            return Judgement(None, f"the judge gave no usable score: {exc}", attempts)
        verdict = reply.value
        return Judgement(verdict.score, verdict.reason.strip() or "(no reason given)", reply.attempts)

    def _similarity(self, expected: str, actual: str) -> Score:
        assert self.embed is not None
        try:
            first, second = self.embed([expected, actual])
        except (ModelError, ValueError) as exc:
            return Score.unscorable(f"the embedding failed: {exc}")
        dot = sum(a * b for a, b in zip(first, second, strict=True))
        norm = math.sqrt(sum(a * a for a in first)) * math.sqrt(sum(b * b for b in second))
        if not math.isfinite(dot) or not math.isfinite(norm) or norm == 0.0:
            return Score.unscorable("the embedding gave an empty or invalid vector")
        cosine = dot / norm
        return Score(min(1.0, max(0.0, cosine)), f"cosine similarity {cosine:.3f} of expected and actual")


class ManualEvaluator(Evaluator):
    options: ManualOptions

    counts_errors = False

    async def _score(self, case: Case, execution: Execution) -> Score:
        return Score.pending(self.options.instructions or "waiting for a person's score")


class LatencyEvaluator(Evaluator):
    options: LatencyOptions

    async def _score(self, case: Case, execution: Execution) -> Score:
        parts: list[tuple[float, str]] = []
        if self.options.max_ms is not None:
            parts.append(self._within("latency", execution.latency_ms, self.options.max_ms))
        if self.options.ttft_max_ms is not None:
            if execution.ttft_ms is None:
                return Score.unscorable("no time to first token was recorded for this run")
            parts.append(self._within("time to first token", execution.ttft_ms, self.options.ttft_max_ms))
        return Score(min(value for value, _ in parts), "; ".join(reason for _, reason in parts))

    def _within(self, what: str, ms: float, budget: float) -> tuple[float, str]:
        if ms <= budget:
            return 1.0, f"{what} {ms:.0f} ms within {budget:g} ms"
        value = max(0.0, 1.0 - (ms - budget) / budget) if self.options.soft else 0.0
        return value, f"{what} {ms:.0f} ms over the budget of {budget:g} ms"


class TokensEvaluator(Evaluator):
    options: TokensOptions

    async def _score(self, case: Case, execution: Execution) -> Score:
        prompt, completion = execution.prompt_tokens, execution.completion_tokens
        total = prompt + completion if prompt is not None and completion is not None else None
        over: list[str] = []
        within: list[str] = []
        for what, used, budget in (
            ("prompt", prompt, self.options.max_prompt),
            ("completion", completion, self.options.max_completion),
            ("total", total, self.options.max_total),
        ):
            if budget is None:
                continue
            if used is None:
                return Score.unscorable(f"no {what} token count was recorded for this run")
            (within if used <= budget else over).append(f"{what} {used} tokens (budget {budget})")
        if over:
            return Score(0.0, "over the budget: " + "; ".join(over))
        return Score(1.0, "within the budget: " + "; ".join(within))


class FigureCheckEvaluator(Evaluator):
    options: FigureCheckOptions

    async def _score(self, case: Case, execution: Execution) -> Score:
        verdict = execution.figure_check
        if verdict in ("shown", "empty"):
            return Score(1.0, f"the figure check passed ({verdict})")
        if verdict is not None:
            return Score(0.0, f"the model's words were held back: {verdict}")
        if execution.answer is None:
            return Score(1.0, "nothing to check: no sales answer")
        check = _check_output(execution.output, execution.answer, case.input)
        if check.ok:
            return Score(1.0, "every number in the output is a figure of the answer")
        return Score(0.0, check.reason)


def build_evaluator(
    spec: Mapping[str, Any], *, judge: Provider | None = None, embed: Embed | None = None
) -> Evaluator:
    """The evaluator a scenario's mapping describes. ``judge`` serves ``semantic`` (method judge),
    ``embed`` its embedding method; ``EvaluatorError`` names the evaluator and the field."""
    options = parse_spec(spec)
    if isinstance(options, SemanticOptions):
        return SemanticEvaluator(options, judge=judge, embed=embed)
    classes: dict[type[_Options], Callable[[Any], Evaluator]] = {
        ExactOptions: ExactEvaluator,
        RegexOptions: RegexEvaluator,
        TermsOptions: TermsEvaluator,
        NumericOptions: NumericEvaluator,
        JsonSchemaOptions: JsonSchemaEvaluator,
        ManualOptions: ManualEvaluator,
        LatencyOptions: LatencyEvaluator,
        TokensOptions: TokensEvaluator,
        FigureCheckOptions: FigureCheckEvaluator,
    }
    return classes[type(options)](options)


def combine(scores: Sequence[tuple[Evaluator, Score]]) -> Score:
    """One score for one execution: the weighted mean of the scored evaluators.

    - any ``unscorable`` score makes the result unscorable (naming them): a mean without that
      evaluator would measure something else than the scenario asks, and flatter a variant whose
      answers the judge cannot read;
    - ``pending`` (manual) scores are left out, the reason says so: the result is provisional until
      a person scores, when the runner combines again; only pending scores: the result is pending.
    """
    if not scores:
        raise ValueError("combine needs at least one (evaluator, score) pair")
    unscorable = [e.name for e, s in scores if s.status == "unscorable"]
    if unscorable:
        return Score.unscorable("not scorable by " + ", ".join(unscorable))
    scored = [(e, s) for e, s in scores if s.status == "scored" and s.value is not None]
    pending = [e.name for e, s in scores if s.status == "pending"]
    if not scored:
        return Score.pending("waiting for a person's score: " + ", ".join(pending))
    weight = sum(e.weight for e, _ in scored)
    value = sum(e.weight * (s.value or 0.0) for e, s in scored) / weight
    parts = [f"{e.name} {s.value:.2f}" + (f" x{e.weight:g}" if e.weight != 1 else "") for e, s in scored]
    reason = "weighted mean of " + ", ".join(parts)
    if pending:
        reason += "; provisional: pending " + ", ".join(pending)
    return Score(min(1.0, max(0.0, value)), reason)


# -- numbers -------------------------------------------------------------------------------------

_SEP = "[,\u2009\u202f\u00a0]"
_NUMBER = re.compile(
    rf"""
    (?P<date>(?<![\d/])\d{{4}}[-/]\d{{1,2}}(?:[-/]\d{{1,2}})?(?![\d/])
        | (?<![\d/])\d{{1,2}}/\d{{1,2}}/\d{{4}}(?!\d) | (?<![\d/])\d{{1,2}}/\d{{4}}(?!\d))
    | (?P<num>
        (?:(?<![\w.,\-+\u2212])(?P<sign>[-+\u2212]))?
        (?:[$€£][ \u00a0]?)?
        (?<![^\W\d])(?<![\d.])
        (?P<int>\d{{1,3}}(?:{_SEP}\d{{3}})+(?!\d)|\d+)(?P<frac>\.\d+)?
        (?P<pct>\s?%)?
    )
    """,
    re.VERBOSE,
)


def extract_numbers(text: str, *, skip_years: bool = True) -> list[Decimal]:
    """Every number written in ``text``, in order, as exact ``Decimal``.

    "2,008,648.41" is 2008648.41 ("," and thin or no-break spaces separate thousands; "3,5" is 3 and 5);
    a sign is read ("-3.5%" is -3.5: a percentage is the number written, not a fraction); currency
    signs are skipped; dates ("2019-03-01", "3/2019") are not numbers, nor are digits glued to a
    letter ("Q1"). Scale words ("2 million") are not applied. With ``skip_years``, plain four-digit
    integers from 1900 to 2100 are taken for years and left out, unless the text has no other number.
    """
    numbers: list[tuple[Decimal, bool]] = []
    for match in _NUMBER.finditer(text):
        if match.group("date"):
            continue
        sign, digits, fraction, percent = match.group("sign", "int", "frac", "pct")
        value = Decimal(re.sub(_SEP, "", digits) + (fraction or ""))
        if sign in ("-", "\u2212"):
            value = -value
        year = len(digits) == 4 and not (sign or fraction or percent) and 1900 <= value <= 2100
        numbers.append((value, year))
    if skip_years and any(not year for _, year in numbers):
        return [value for value, year in numbers if not year]
    return [value for value, _ in numbers]


def _expected_number(value: Any) -> Decimal:
    """An expected figure: a number, or a string holding exactly one ("2,008,648.41", "-3.5%")."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return Decimal(str(value))
    if isinstance(value, str):
        found = extract_numbers(value, skip_years=False)
        if len(found) == 1:
            return found[0]
    raise ValueError(f"{value!r} is not one number")


def _answer_figures(answer: Mapping[str, Any], *, every: bool) -> list[Decimal]:
    """The sales answer's exact value; when it has none (a comparison) or ``every``, also its rows'
    values (and, with ``every``, its change and share)."""
    value = _figure(answer.get("value"))
    rows = [f for row in answer.get("rows") or [] if (f := _figure(row.get("value"))) is not None]
    if not every:
        return [value] if value is not None else rows
    extra = []
    for key, parts in (("change", ("absolute", "percent")), ("share", ("part", "whole", "percent"))):
        block = answer.get(key) or {}
        extra += [f for part in parts if (f := _figure(block.get(part))) is not None]
    return ([value] if value is not None else []) + rows + extra


def _figure(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{value:,}"


# -- helpers -------------------------------------------------------------------------------------


def _compile(pattern: str, flags: str) -> re.Pattern[str]:
    bits = 0
    for letter in flags:
        bits |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[letter]
    try:
        return re.compile(pattern, bits)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None


def _strip_punctuation(text: str) -> str:
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or unicodedata.category(text[start]).startswith("P")):
        start += 1
    while end > start and (text[end - 1].isspace() or unicodedata.category(text[end - 1]).startswith("P")):
        end -= 1
    return text[start:end]


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def _json_in(text: str) -> Any:
    """The JSON value of ``text``, or of the first fenced block in it; ``ValueError`` saying why not."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"the output is not JSON ({exc.msg} at character {exc.pos})"
    for block in _FENCE.findall(text):
        try:
            return json.loads(block)
        except json.JSONDecodeError as exc:
            problem = f"the fenced JSON is not valid ({exc.msg} at character {exc.pos})"
    raise ValueError(problem)


def _check_output(output: str, answer: Mapping[str, Any], question: str) -> FigureCheck:
    """``check_figures`` over what is left of ``output`` once the answer's own sentence and notes
    (written from the database, not the model) are taken out."""
    text = output
    for written in [answer.get("sentence"), *(answer.get("notes") or [])]:
        if isinstance(written, str) and written:
            text = text.replace(written, " ")
    figures = [_exact(answer.get("value"))]
    rows = answer.get("rows") or []
    figures += [_exact(row.get("value")) for row in rows]
    for key, parts in (("change", ("absolute", "percent")), ("share", ("part", "whole", "percent"))):
        block = answer.get(key) or {}
        figures += [_exact(block.get(part)) for part in parts]
    period = answer.get("period") or {}
    spec_periods = (answer.get("spec") or {}).get("periods") or []
    days = _dates([period.get("start"), period.get("end"), *(row.get("period") for row in rows)])
    days += _dates(p.get(end) for p in spec_periods for end in ("start", "end"))
    labels = [str(row.get("label")) for row in rows if row.get("label")]
    return check_figures(text, figures=figures, dates=days, periods=labels, question=question)


def _exact(value: Any) -> Decimal | int | None:
    """A figure of ``SalesAnswer.as_dict``: an int stays a count, a string is an exact Decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _figure(value)


def _dates(values: Iterable[Any]) -> list[dt.date]:
    days = []
    for value in values:
        if isinstance(value, str):
            try:
                days.append(dt.date.fromisoformat(value))
            except ValueError:
                continue
    return days


__all__ = [
    "DEFAULT_RUBRIC",
    "EVALUATOR_TYPES",
    "Embed",
    "Evaluator",
    "EvaluatorError",
    "EvaluatorOptions",
    "ExactOptions",
    "FigureCheckOptions",
    "JsonSchemaOptions",
    "JudgedScore",
    "Judgement",
    "LatencyOptions",
    "ManualOptions",
    "NumericOptions",
    "RegexOptions",
    "SemanticOptions",
    "TermsOptions",
    "TokensOptions",
    "build_evaluator",
    "combine",
    "extract_numbers",
    "parse_spec",
]
