"""A promptfoo config read as a chatdash scenario: its tests become cases, their asserts evaluators.

promptfoo (``promptfooconfig.yaml``) runs prompt templates against providers, with assertions per
test; chatdash runs a user's message through a whole pipeline. So each promptfoo test becomes a case
whose ``input`` is the first prompt rendered with the test's ``vars`` (in Jinja2's sandbox, as
registry prompts are; the vars are kept as the case's), ``defaultTest``'s asserts become the
scenario's evaluators and a test's own asserts the case's (``Case.evaluators``). ``tests`` may be a
list, a file (``file://tests.yaml`` or a ``.csv`` whose columns are vars and ``__expected``
assertions), or a list of both.

================================ =============================================================
promptfoo assert                 chatdash evaluator
================================ =============================================================
``equals``                       ``exact`` (case-sensitive, not normalized: promptfoo compares
                                 the strings as they are)
``contains`` / ``icontains``     ``terms`` ``all: [value]`` (``case_sensitive`` for contains)
``contains-all`` / ``-any``      ``terms`` ``all`` (``min_share: 1``: pass/fail, as promptfoo's) /
(and the ``i`` forms)            ``any``
``regex``                        ``regex``
``similar``                      ``semantic`` ``method: embedding`` with the value as ``expected``
``llm-rubric``                   ``semantic`` with the value as ``rubric``
``is-json``                      ``json_schema`` (the value as the schema, else ``{}``)
``latency``                      ``latency`` ``max_ms: threshold``
================================ =============================================================

``weight`` is kept (weight 0 is not: chatdash weights are above 0) and ``metric`` becomes the
evaluator's ``name``. Everything else is listed in the notes rather than guessed at: ``not-``
assertions, ``javascript``/``python`` and other types ("not imported: TYPE (n cases)"), ``cost``
(chatdash budgets tokens: ``{type: tokens}``), a ``similar``/``llm-rubric`` threshold (chatdash
keeps the score itself), a test's own ``threshold`` (chatdash's is the scenario's:
``defaultTest.threshold`` when given, else 1.0, promptfoo's "every assertion passes"),
``providers`` (the scenario runs on chatdash's configured model; compare models with
``--variant model=NAME``) and prompts after the first.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from chatdash.errors import PromptError
from chatdash.evals.evaluators import EvaluatorError, parse_spec
from chatdash.evals.scenario import ScenarioError, parse_scenario
from chatdash.prompts import render_template

_TERMS = {
    "contains": ("all", True),
    "icontains": ("all", False),
    "contains-all": ("all", True),
    "icontains-all": ("all", False),
    "contains-any": ("any", True),
    "icontains-any": ("any", False),
}
_TOP = {"description", "prompts", "providers", "defaultTest", "tests", "evaluateOptions"}
_TEST = {"description", "vars", "assert", "threshold"}
_CSV_TYPE = re.compile(
    r"^(?P<type>[a-z][a-z0-9-]*)(?:\((?P<threshold>[\d.]+)\))?(?::\s?(?P<value>.*))?$", re.S
)
_CSV_TYPES = {
    "equals", "contains", "icontains", "contains-all", "icontains-all", "contains-any", "icontains-any",
    "regex", "similar", "llm-rubric", "grade", "is-json", "contains-json", "javascript", "fn", "python",
    "starts-with", "levenshtein", "rouge-n", "bleu", "factuality", "model-graded-closedqa", "is-sql",
    "is-xml", "webhook", "answer-relevance", "perplexity", "latency", "cost",
}  # fmt: skip
"""Types an ``__expected`` cell may start with (``type: value``); any other text means ``equals``."""


class _Notes:
    """What was not imported: once-off notes, and notes counted by the cases they concern."""

    def __init__(self) -> None:
        self.general: list[str] = []
        self.counted: Counter[str] = Counter()

    def add(self, note: str, cases: int = 0) -> None:
        if cases:
            self.counted[note] += cases
        elif note not in self.general:
            self.general.append(note)

    def lines(self) -> list[str]:
        counted = [f"{note} ({n} case{'s' if n != 1 else ''})" for note, n in self.counted.items()]
        return self.general + counted


def import_promptfoo(path: str | Path, *, name: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The scenario (a mapping ``parse_scenario`` accepts, checked) read from the promptfoo config in
    ``path``, and notes on what was not imported. ``name`` defaults to the config's description (or
    its folder's name) made into a scenario name. ``ScenarioError`` names the file and the test for
    a config that cannot be read (a prompt variable a test does not give, no prompt, no test)."""
    path = Path(path)
    config = _read_yaml(path)
    if not isinstance(config, dict):
        raise ScenarioError(f"{path}: a promptfoo config is a mapping (prompts, providers, tests ...)")
    notes = _Notes()
    for key in config:
        if key not in _TOP:
            notes.add(f"ignored: the config's {key}")
    if config.get("providers"):
        notes.add(
            f"providers ignored ({_providers(config['providers'])}): the scenario runs on chatdash's "
            "configured model; compare models with --variant model=NAME"
        )
    prompt = _prompt(config.get("prompts"), path, notes)
    default = config.get("defaultTest") or {}
    if not isinstance(default, dict):
        raise ScenarioError(f"{path}: defaultTest: a mapping (vars, assert, threshold) is needed")
    tests = _tests(config.get("tests"), path, notes)
    if not tests:
        raise ScenarioError(f"{path}: tests: no tests to import")
    for key in default:
        if key not in ("vars", "assert", "threshold"):
            notes.add(f"ignored: defaultTest's {key}")
    threshold = default.get("threshold", 1.0)
    shared_vars = dict(default.get("vars") or {})
    cases: list[dict[str, Any]] = []
    for number, test in enumerate(tests, start=1):
        cases += _cases(test, number, prompt, shared_vars, threshold, notes)
    evaluators = [
        spec
        for item in _asserts(default.get("assert"), "defaultTest")
        if (spec := _evaluator(item, shared_vars, notes, len(cases))) is not None
    ]
    _unique_ids(cases)
    options = config.get("evaluateOptions") or {}
    for key in options if isinstance(options, dict) else []:
        if key != "repeat":
            notes.add(f"ignored: evaluateOptions.{key} (the runner takes --concurrency and --timeout)")
    data: dict[str, Any] = {
        "name": name or _slug(str(config.get("description") or path.resolve().parent.name), "promptfoo"),
        "description": str(config.get("description") or f"imported from promptfoo ({path.name})"),
        "pipeline": "chat",
        "repeat": int(options.get("repeat", 1)) if isinstance(options, dict) else 1,
        "threshold": float(threshold),
        "evaluators": evaluators,
        "cases": cases,
    }
    kinds = {e["type"] for e in evaluators} | {e["type"] for c in cases for e in c.get("evaluators", [])}
    if "semantic" in kinds and "threshold" not in default:
        notes.add(
            "threshold 1.0: promptfoo passes a test when every assertion passes; semantic scores are "
            "graded, so lower the scenario's threshold if that is too strict"
        )
    try:
        parse_scenario(scenario_yaml(data))  # what the file will hold must load
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: the imported scenario is not valid: {exc}") from None
    return data, notes.lines()


def scenario_yaml(data: Mapping[str, Any], notes: Sequence[str] = (), source: str | None = None) -> str:
    """The scenario as a YAML file, headed by where it came from and the notes as comments."""
    head = [f"# Imported from {source} by `chatdash eval import-promptfoo`."] if source else []
    head += [f"# note: {note}" for note in notes]
    body = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
    return "\n".join([*head, body]) if head else body


# -- reading ---------------------------------------------------------------------------------------


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _file(ref: str, config: Path) -> Path:
    return config.parent / ref.removeprefix("file://")


def _providers(providers: Any) -> str:
    items = providers if isinstance(providers, list) else [providers]
    return ", ".join(str(p.get("id", "?")) if isinstance(p, dict) else str(p) for p in items)


def _prompt(prompts: Any, config: Path, notes: _Notes) -> str | list[dict[str, Any]]:
    """The first prompt: a template text, or chat messages (role, content)."""
    found: list[str | list[dict[str, Any]]] = []
    for item in prompts if isinstance(prompts, list) else [prompts] if prompts else []:
        text = (item.get("raw") or item.get("id")) if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise ScenarioError(f"{config}: prompts: a prompt is a text, file://PATH or {{raw: ...}}")
        if text.startswith("file://"):
            found += _prompt_file(_file(text, config))
        else:
            found.append(_chat(text) or text)
    if not found:
        raise ScenarioError(f"{config}: prompts: no prompt to render the tests with")
    if len(found) > 1:
        notes.add(
            f"only the first of {len(found)} prompts is imported: the others are other versions of the "
            "message (push them to the registry and compare them with --variant prompt=NAME@N)"
        )
    return found[0]


def _prompt_file(path: Path) -> list[str | list[dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix in (".json", ".yaml", ".yml"):
        messages = yaml.safe_load(text)
        if _is_chat(messages):
            return [messages]
        raise ScenarioError(f"{path}: a prompt file in {path.suffix} is a list of {{role, content}} messages")
    if path.suffix not in (".txt", ".md", ".j2", ".prompt", ".njk"):
        raise ScenarioError(
            f"{path}: prompts from {path.suffix or 'such'} files are not imported (text only)"
        )
    return [part.strip() for part in re.split(r"^---$", text, flags=re.M) if part.strip()]


def _chat(text: str) -> list[dict[str, Any]] | None:
    if not text.lstrip().startswith("["):
        return None
    try:
        messages = json.loads(text)
    except ValueError:
        return None
    return messages if _is_chat(messages) else None


def _is_chat(value: Any) -> bool:
    return (
        isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value) and bool(value)
    )


def _tests(tests: Any, config: Path, notes: _Notes) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in tests if isinstance(tests, list) else [tests] if tests else []:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, str):
            found += _tests_file(_file(item, config), notes)
        else:
            raise ScenarioError(
                f"{config}: tests: a test is a mapping (vars, assert) or a file, not {item!r}"
            )
    return found


def _tests_file(path: Path, notes: _Notes) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        try:
            rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from None
        for column in rows[0] if rows else {}:
            if column.startswith("__") and column != "__description" and not column.startswith("__expected"):
                notes.add(f"ignored: the CSV column {column}")
        return [_csv_test(row) for row in rows]
    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ScenarioError(f"{path}: tests come from a .yaml, .json or .csv file")
    tests = _read_yaml(path)
    if not isinstance(tests, list) or not all(isinstance(t, dict) for t in tests):
        raise ScenarioError(f"{path}: a tests file is a list of tests (vars, assert)")
    return tests


def _csv_test(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row: its columns are vars; ``__expected``, ``__expected2`` ... cells are assertions
    (``contains: text``, ``similar(0.8): text``, ``is-json``; any other text: ``equals``)."""
    test: dict[str, Any] = {"vars": {}, "assert": []}
    for column, cell in row.items():
        if column.startswith("__expected"):
            if cell:
                test["assert"].append(_csv_assert(cell))
        elif column == "__description":
            test["description"] = cell
        elif not column.startswith("__"):
            test["vars"][column] = cell
    return test


def _csv_assert(cell: str) -> dict[str, Any]:
    match = _CSV_TYPE.match(cell.strip())
    kind = match.group("type") if match else None
    if match is None or (kind not in _CSV_TYPES and not (kind or "").startswith("not-")):
        return {"type": "equals", "value": cell}
    assertion: dict[str, Any] = {"type": {"grade": "llm-rubric", "fn": "javascript"}.get(kind or "", kind)}
    if match.group("value") is not None:
        assertion["value"] = match.group("value")
    if match.group("threshold"):
        assertion["threshold"] = float(match.group("threshold"))
    return assertion


# -- mapping ---------------------------------------------------------------------------------------


def _cases(
    test: dict[str, Any],
    number: int,
    prompt: str | list[dict[str, Any]],
    shared: dict[str, Any],
    threshold: Any,
    notes: _Notes,
) -> list[dict[str, Any]]:
    """One case per combination of the test's list-valued vars (promptfoo runs each combination)."""
    label = str(test.get("description") or f"test {number}")
    for key in test:
        if key not in _TEST:
            notes.add(f"ignored: a test's {key}", 1)
    if "threshold" in test and test["threshold"] != threshold:
        notes.add(f"a test's own threshold not imported: the scenario's ({float(threshold)}) applies", 1)
    given = {**shared, **(test.get("vars") or {})}
    lists = {k: v for k, v in given.items() if isinstance(v, list)}
    combinations = [dict(zip(lists, values, strict=True)) for values in itertools.product(*lists.values())]
    cases = []
    for n, combination in enumerate(combinations, start=1):
        variables = {**given, **combination}
        where = f"test {label!r}"
        case: dict[str, Any] = {
            "id": _slug(label, f"test-{number}") + (f"-{n}" if len(combinations) > 1 else ""),
            "input": _input(prompt, variables, where, notes),
        }
        if variables:
            case["vars"] = variables
        own = [
            spec
            for item in _asserts(test.get("assert"), where)
            if (spec := _evaluator(item, variables, notes, 1)) is not None
        ]
        if own:
            case["evaluators"] = own
        cases.append(case)
    return cases


def _input(prompt: str | list[dict[str, Any]], variables: dict[str, Any], where: str, notes: _Notes) -> str:
    if isinstance(prompt, str):
        text = _render(prompt, variables, where)
    else:
        users = [m for m in prompt if m.get("role", "user") == "user"]
        if not users:
            raise ScenarioError(f"{where}: the prompt has no user message to send")
        if len(prompt) > 1:
            notes.add(
                "only the prompt's last user message is imported (its system message and earlier turns "
                "are not: the pipeline gives its own system prompt)",
                1,
            )
        text = _render(str(users[-1]["content"]), variables, where)
    if not text.strip():
        raise ScenarioError(f"{where}: the prompt renders empty: no message to send")
    return text


def _render(template: str, variables: Mapping[str, Any], where: str) -> str:
    try:
        return render_template(template, variables, where)
    except PromptError as exc:
        raise ScenarioError(str(exc)) from None


def _asserts(value: Any, where: str) -> list[dict[str, Any]]:
    items = value or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and "type" in i for i in items):
        raise ScenarioError(f"{where}: assert: a list of {{type: ..., value: ...}} mappings is needed")
    return items


def _evaluator(
    assertion: dict[str, Any], variables: Mapping[str, Any], notes: _Notes, cases: int
) -> dict[str, Any] | None:
    """The chatdash evaluator for one promptfoo assertion, or None (and a note) when there is none."""
    kind = str(assertion["type"])
    value = _values(assertion.get("value"), variables)
    threshold = assertion.get("threshold")
    spec: dict[str, Any] | None = None
    if kind == "equals" and isinstance(value, str | int | float) and not isinstance(value, bool):
        spec = {"type": "exact", "value": str(value), "case_sensitive": True, "normalize": False}
    elif kind in _TERMS and value is not None:
        which, case_sensitive = _TERMS[kind]
        terms = _terms(value, split=which == "any")
        spec = {"type": "terms", which: terms, "case_sensitive": case_sensitive}
        if kind.endswith("-all"):
            spec["min_share"] = 1.0
    elif kind == "regex" and isinstance(value, str):
        spec = {"type": "regex", "pattern": value}
    elif kind == "similar" and isinstance(value, str):
        spec = {"type": "semantic", "method": "embedding", "expected": value}
    elif kind == "llm-rubric" and isinstance(value, str):
        spec = {"type": "semantic", "rubric": value}
    elif kind == "is-json" and (value is None or isinstance(value, dict)):
        spec = {"type": "json_schema", "schema": value or {}}
    elif kind == "latency" and isinstance(threshold, int | float) and threshold > 0:
        spec = {"type": "latency", "max_ms": threshold}
    if spec is None:
        _not_imported(kind, notes, cases, _WHY.get(kind))
        return None
    if threshold is not None and kind in ("similar", "llm-rubric"):
        notes.add(f"{kind}: threshold not imported (chatdash keeps the score itself)", cases)
    weight = assertion.get("weight")
    if weight is not None:
        if not isinstance(weight, int | float) or weight <= 0:
            _not_imported(kind, notes, cases, f"weight {weight}: chatdash weights are above 0")
            return None
        spec["weight"] = weight
    if assertion.get("metric"):
        spec["name"] = str(assertion["metric"])[:100]
    try:
        parse_spec(spec)
    except EvaluatorError as exc:
        _not_imported(kind, notes, cases, str(exc))
        return None
    return spec


_WHY = {"cost": "chatdash budgets tokens, not money: {type: tokens, max_total: N}"}


def _not_imported(kind: str, notes: _Notes, cases: int, why: str | None) -> None:
    notes.add(f"not imported: {kind}", cases)
    if why:
        notes.add(f"{kind}: {why}")


def _values(value: Any, variables: Mapping[str, Any]) -> Any:
    """An assertion's value with the test's vars filled in (promptfoo renders them too)."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return _render(value, variables, "an assertion's value")
    if isinstance(value, list):
        return [_values(item, variables) for item in value]
    return value


def _terms(value: Any, *, split: bool) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = value.split(",") if split else [value]
    else:
        items = value if isinstance(value, list) else [value]
    return [str(item).strip() if split else str(item) for item in items if str(item).strip()]


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or fallback


def _unique_ids(cases: list[dict[str, Any]]) -> None:
    """Tests with the same description get ``-2``, ``-3`` ... (case ids are unique in a scenario)."""
    used: set[str] = set()
    for case in cases:
        base, n = case["id"], 2
        while case["id"] in used:
            case["id"], n = f"{base}-{n}", n + 1
        used.add(case["id"])
