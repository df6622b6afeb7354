"""The architecture, read from the source with ``ast``: each building block's public API, and arrows
that point one way (DESIGN.md: config, errors -> db -> sales, llm, memory, prompts, tracing ->
pipeline -> chat, evals -> the dashboard, the CLI, the benchmarks).

Every import is checked wherever it stands: at module level, inside a function (lazy), under
``if TYPE_CHECKING:``, and ``importlib.import_module("chatdash....")`` calls. A building block is
imported as ``from chatdash.<package> import <names in __all__>``, or as a namespace
(``from chatdash import sales``; then every ``sales.<attribute>`` must be in ``__all__``). ``config``,
``errors`` and ``db`` have no curated API: anyone above them may import their submodules.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# What code outside each package may import from it. A change here is a change of a public API:
# make it on purpose, together with the package's __init__.py.
PUBLIC_API: dict[str, set[str]] = {
    "sales": {
        "DIMENSIONS",
        "FILE_COLUMNS",
        "GRANULARITIES",
        "METRICS",
        "CategoryRevenue",
        "DateRange",
        "Dimension",
        "FigureCheck",
        "Metric",
        "Period",
        "Reading",
        "check_figures",
        "dashboard_url",
        "format_figure",
        "read_conversation",
        "read_question",
        "Granularity",
        "KeyMetrics",
        "LoadSummary",
        "Overview",
        "PeriodRevenue",
        "ProductRevenue",
        "QuerySpec",
        "RowCursor",
        "RowsPage",
        "SalesAnswer",
        "SalesFilter",
        "SalesRecord",
        "SalesStats",
        "Vocabulary",
        "answer",
        "auto_granularity",
        "average",
        "bucket",
        "categories",
        "cents_to_decimal",
        "collect_stats",
        "count_orders",
        "date_range",
        "generate",
        "iter_rows",
        "key_metrics",
        "load_frames",
        "load_vocabulary",
        "next_order_id",
        "overview",
        "parse_question",
        "product_names",
        "raw_rows",
        "read_file",
        "revenue_by_category",
        "revenue_over_time",
        "top_products",
        "write_file",
    },
    "llm": {
        "Capabilities",
        "Completion",
        "Embedder",
        "Message",
        "Options",
        "Provider",
        "ProviderStats",
        "Role",
        "Stream",
        "Structured",
        "Usage",
        "create",
        "default_provider_id",
        "get_embedder",
        "get_provider",
        "model_path",  # lazy (loads llama_cpp), like the three below
        "provider_ids",
        "register",
        "running_server",
        "serve",
        "thread_count",
    },
    "memory": {
        "EVERYONE",
        "Added",
        "ChatMemory",
        "DocumentStore",
        "Kept",
        "Passage",
        "Recalled",
        "Remembered",
        "VectorStore",
        "StoredDocument",
        "chat_memory",
        "documents",
        "get_store",
    },
    "pipeline": {
        "Delta",
        "Done",
        "Event",
        "Pipeline",
        "PipelineError",
        "PipelineResult",
        "Rendered",
        "Retrieved",
        "RunContext",
        "SalesResult",
        "Sources",
        "SpanRecord",
        "Step",
        "StepOptions",
        "StepRun",
        "chat_turn",
        "load_pipeline",
        "pipeline_table",
        "register_step",
        "step_types",
        "unregister_step",
    },
    "prompts": {
        "LATEST",
        "PRODUCTION",
        "PromptContent",
        "PromptError",
        "PromptHealth",
        "PromptInfo",
        "PromptMessage",
        "PromptNotFound",
        "PromptRef",
        "PromptVersion",
        "Pushed",
        "Resolver",
        "StaleNotice",
        "compile_template",
        "diff_versions",
        "get_prompt",
        "install_shipped",
        "list_prompts",
        "parse_ref",
        "promote",
        "prompt_health",
        "prompt_versions",
        "push_prompt",
        "read_prompt_file",
        "render_template",
        "resolver_for",
        "shipped_prompts",
        "shipped_version",
    },
    "tracing": {
        "MemoryExporter",
        "Source",
        "SpanRecord",
        "SpanStatus",
        "TraceExporter",
        "TraceRecord",
        "TraceStatus",
        "TraceWriter",
        "get_trace",
        "jsonable",
        "list_traces",
        "new_span_id",
        "new_trace_id",
        "purge_traces",
        "quality",
        "run_trace",
        "write_traces",
        "writer_for",
    },
    "evals": {
        "GENERATORS",
        "AddedCase",
        "Case",
        "Comparison",
        "Estimate",
        "Evaluator",
        "EvaluatorError",
        "Execution",
        "PendingScore",
        "Progress",
        "RunOutcome",
        "RunReport",
        "Runner",
        "Scenario",
        "ScenarioError",
        "Score",
        "add_case_from_trace",
        "added_cases",
        "build_evaluator",
        "combine",
        "compare",
        "compare_many",
        "format_for",
        "give_manual_score",
        "list_added_cases",
        "load_outcome",
        "load_scenario",
        "parse_scenario",
        "parse_variant",
        "pending_manual",
        "print_comparison",
        "queries",
        "remove_case",
        "GateResult",
        "gate_promotion",
        "import_promptfoo",
        "scenario_yaml",
        "summarize",
    },
    # chat/ is being restructured: this set follows its new __init__.py when that lands.
    "chat": {
        "ChatRepository",
        "ChatService",
        "Generation",
        "HttpRepository",
        "ProviderResponder",
        "ReplyDone",
        "ReplyRequest",
        "Responder",
        "SqlRepository",
        "Turn",
        "keys",
        "sessions",
        "users",
    },
}

# The few deep imports allowed past a public API: (importing module or package, imported module or
# package) -> why. Each entry must still be used (test_every_allowed_deep_import_is_still_needed).
ALLOWED_DEEP_IMPORTS: dict[tuple[str, str], str] = {
    ("chatdash.bench.llm", "chatdash.llm.providers.llamacpp"): (
        "the llm benchmark measures this provider itself (with its own SAMPLING) against llama_cpp.server"
    ),
    ("chatdash.bench.generate", "chatdash.sales.generator"): (
        "the row-by-row baseline draws from the generator's own distribution constants"
    ),
    # chatdash.chat.app (create_app) is the chat's second public entry point, kept out of the
    # package root so that importing the chat core never imports FastAPI (see chat/__init__.py).
    ("chatdash.cli.serve", "chatdash.chat.app"): "serves the app the factory assembles",
    ("chatdash.bench.chat", "chatdash.chat.app"): "benchmarks the app the factory assembles",
}

# Levels from DESIGN.md: a module imports only modules of its own level or below.
LEVELS: dict[str, int] = {
    "chatdash": 0,  # the top chatdash/__init__.py
    "config": 0,
    "errors": 0,
    "db": 1,
    "sales": 2,
    "llm": 2,
    "memory": 2,
    "prompts": 2,
    "tracing": 2,
    "pipeline": 3,
    "chat": 4,
    "evals": 4,
    "dashboard": 5,
    "cli": 5,
    "bench": 5,
    "stack": 5,  # `chatdash stack`: processes of the other parts, run by the CLI
}

# Arrows forbidden even where the levels allow them (or spelled out because they matter most):
# (importing module or package, imported module or package).
FORBIDDEN: list[tuple[str, str]] = [
    ("chatdash.chat.web", "chatdash.chat.api"),
    ("chatdash.chat.api", "chatdash.chat.web"),
    *[
        (f"chatdash.{low}", f"chatdash.{high}")
        for low in ("sales", "llm", "memory", "prompts")
        for high in ("pipeline", "chat", "dashboard", "cli")
    ],
    *[("chatdash.pipeline", f"chatdash.{high}") for high in ("chat", "dashboard", "cli")],
]


@dataclass(frozen=True)
class Import:
    """One import statement (or ``import_module`` call) that names a chatdash module."""

    line: int
    text: str
    module: str  # absolute: "chatdash.sales.queries"
    names: tuple[str, ...] | None  # ``from module import names``; None for ``import module``
    bound: tuple[str, ...] = ()  # the local names ``from ... import`` binds (``as`` names included)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    source: str

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def top_package(module: str) -> str:
    """``chatdash.sales.queries`` -> ``sales``; ``chatdash`` -> ``chatdash``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def src_modules() -> list[Module]:
    modules = []
    for path in sorted((SRC / "chatdash").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(Module(".".join(parts), path, path.read_text(encoding="utf-8")))
    return modules


def where(module: Module, line: int) -> str:
    path = module.path.relative_to(SRC.parent) if module.path.is_absolute() else module.path
    return f"{path}:{line}"


def source_of(module: Module, node: ast.AST) -> str:
    text = " ".join((ast.get_source_segment(module.source, node) or "").split())
    return text if len(text) <= 100 else text[:97] + "..."


def imports_of(module: Module, tree: ast.AST | None = None) -> list[Import]:
    """Every chatdash import in the module, wherever it stands; relative ones made absolute."""
    tree = tree or ast.parse(module.source)
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                Import(node.lineno, source_of(module, node), a.name, None)
                for a in node.names
                if within(a.name, "chatdash")
            ]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            if within(name, "chatdash"):
                names = tuple(a.name for a in node.names)
                bound = tuple(a.asname or a.name for a in node.names)
                found.append(Import(node.lineno, source_of(module, node), name, names, bound))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and within(node.args[0].value, "chatdash")
        ):
            found.append(Import(node.lineno, source_of(module, node), node.args[0].value, None))
    return found


def declared_all(package: str) -> set[str]:
    """The literal ``__all__`` of ``chatdash/<package>/__init__.py``, read without importing it."""
    tree = ast.parse((SRC / "chatdash" / package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def allowed_deep(importer: str, target: str) -> bool:
    return any(within(importer, a) and within(target, b) for a, b in ALLOWED_DEEP_IMPORTS)


def api_violations(module: Module, public: dict[str, set[str]]) -> list[str]:
    """Imports of a curated package, from outside it, that do not go through its ``__all__``."""
    tree = ast.parse(module.source)
    home = top_package(module.name)
    problems = []
    namespaces: dict[str, str] = {}  # ``from chatdash import sales [as s]``: local name -> package
    for imp in imports_of(module, tree):
        if imp.module == "chatdash":  # the package as a namespace: its attributes are checked below
            namespaces |= {
                b: n for n, b in zip(imp.names or (), imp.bound, strict=True) if n in public and n != home
            }
            continue
        package = top_package(imp.module)
        if package not in public or package == home:
            continue
        if imp.module == f"chatdash.{package}" and imp.names is not None:
            bad = [
                n
                for n in imp.names
                if n not in public[package] and not allowed_deep(module.name, f"{imp.module}.{n}")
            ]
            if not bad:
                continue
            why = f"{', '.join(bad)} not in chatdash.{package}.__all__"
        elif allowed_deep(module.name, imp.module):
            continue
        elif imp.names is None:
            why = f"write `from chatdash.{package} import <names>`"
        else:
            why = f"reaches past chatdash.{package}'s public API"
        problems.append(f"{where(module, imp.line)}: `{imp.text}`: {why}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in namespaces
            and node.attr not in public[namespaces[node.value.id]]
        ):
            package = namespaces[node.value.id]
            problems.append(
                f"{where(module, node.lineno)}: `{node.value.id}.{node.attr}`: "
                f"{node.attr} not in chatdash.{package}.__all__"
            )
    return problems


def targets(imp: Import) -> list[str]:
    """The modules an import may load: the one named, and ``module.name`` for each imported name
    (a name may be a submodule; for level and prefix rules a non-module name is harmless)."""
    if imp.module == "chatdash":
        return [f"chatdash.{n}" if n in LEVELS else "chatdash" for n in imp.names or ()] or ["chatdash"]
    return [imp.module, *(f"{imp.module}.{n}" for n in imp.names or ())]


def arrow_violations(module: Module) -> list[str]:
    home = top_package(module.name)
    if home not in LEVELS:
        return [f"{where(module, 1)}: chatdash.{home} has no level in LEVELS"]
    problems = []
    for imp in imports_of(module):
        for target in targets(imp):
            package = top_package(target)
            if package not in LEVELS:
                problems.append(f"{where(module, imp.line)}: `{imp.text}`: chatdash.{package} has no level")
            elif LEVELS[package] > LEVELS[home]:
                problems.append(
                    f"{where(module, imp.line)}: `{imp.text}`: {home} (level {LEVELS[home]}) "
                    f"imports {package} (level {LEVELS[package]})"
                )
            problems += [
                f"{where(module, imp.line)}: `{imp.text}`: {low} must not import {high}"
                for low, high in FORBIDDEN
                if within(module.name, low) and within(target, high)
            ]
    return sorted(set(problems))


# --- the tree as it is -------------------------------------------------------------------------------


@pytest.mark.parametrize("package", sorted(PUBLIC_API))
def test_public_api(package: str) -> None:
    module = importlib.import_module(f"chatdash.{package}")
    declared = list(module.__all__)
    assert len(declared) == len(set(declared)), f"chatdash.{package}.__all__ repeats a name"
    assert set(declared) == PUBLIC_API[package], (
        f"chatdash.{package}'s public API changed: added {sorted(set(declared) - PUBLIC_API[package])}, "
        f"removed {sorted(PUBLIC_API[package] - set(declared))}; if that is deliberate, update PUBLIC_API"
    )
    assert [name for name in declared if not hasattr(module, name)] == []


def test_importing_the_building_blocks_does_not_load_llama_cpp() -> None:
    code = (
        "import sys, chatdash.llm, chatdash.sales, chatdash.memory, chatdash.pipeline;"
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False", (
        "a lazy name of chatdash.llm (model_path, serve, ...) is imported eagerly"
    )


def test_callers_use_only_the_public_api() -> None:
    public = {package: declared_all(package) for package in PUBLIC_API}
    problems = [p for module in src_modules() for p in api_violations(module, public)]
    assert problems == [], (
        "Outside its package, import a building block only as `from chatdash.<package> import <name>` "
        "with names in its __all__. Export what is missing (the package's __init__.py and PUBLIC_API "
        "here), or, for a deep import that is truly needed, add it with its reason to "
        "ALLOWED_DEEP_IMPORTS.\n" + "\n".join(problems)
    )


def test_every_allowed_deep_import_is_still_needed() -> None:
    used = {
        (a, b)
        for module in src_modules()
        for imp in imports_of(module)
        for target in targets(imp)
        for a, b in ALLOWED_DEEP_IMPORTS
        if within(module.name, a) and within(target, b)
    }
    assert set(ALLOWED_DEEP_IMPORTS) - used == set(), "remove these entries from ALLOWED_DEEP_IMPORTS"


def test_every_top_level_module_has_a_level() -> None:
    names = {path.stem for path in (SRC / "chatdash").iterdir() if path.suffix == ".py" or path.is_dir()}
    names -= {"__init__", "__pycache__"}
    assert names - set(LEVELS) == set(), "give each new package its level in LEVELS (and in DESIGN.md)"


def test_arrows_point_one_way() -> None:
    problems = [p for module in src_modules() for p in arrow_violations(module)]
    assert problems == [], (
        "Arrows point down (DESIGN.md): a module imports only its own level or lower (LEVELS), and "
        "never what FORBIDDEN names. Move what both sides need down a level, or pass it in from "
        "above (a parameter, a protocol, a registry).\n" + "\n".join(problems)
    )


# --- the checks themselves catch what they are for ---------------------------------------------------


def fake(name: str, source: str, package: bool = False) -> Module:
    return Module(name, Path(name.replace(".", "/") + ("/__init__.py" if package else ".py")), source)


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("chatdash.dashboard.x", "from chatdash.sales import overview, SalesFilter", 0),
        ("chatdash.dashboard.x", "from chatdash.sales.queries import overview", 1),
        ("chatdash.cli.x", "def f():\n    from chatdash.llm import gguf\n", 1),
        ("chatdash.cli.x", "if TYPE_CHECKING:\n    import chatdash.memory.store\n", 1),
        ("chatdash.cli.x", "importlib.import_module('chatdash.llm.gguf')", 1),
        ("chatdash.dashboard.x", "from chatdash import sales\nsales.overview(e)\nsales.queries.x(e)", 1),
        ("chatdash.pipeline.steps.x", "from ...memory.store import VectorStore", 1),
        ("chatdash.sales.x", "from chatdash.sales.queries import overview", 0),  # inside its package
        ("chatdash.bench.llm", "from chatdash.llm.providers.llamacpp import SAMPLING", 0),  # allowed
    ],
)
def test_the_api_check_catches_deep_imports(name: str, source: str, expected: int) -> None:
    problems = api_violations(fake(name, source), PUBLIC_API)
    assert len(problems) == expected, problems
    assert all(f"{name.replace('.', '/')}.py:" in p for p in problems)


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("chatdash.memory.chat", "from chatdash.llm import Role", 0),  # same level
        ("chatdash.cli.x", "from chatdash.bench import llm", 0),
        ("chatdash.sales.x", "def f():\n    from chatdash.chat import ChatService\n", 2),  # level + rule
        ("chatdash.db.x", "from chatdash import sales", 1),
        ("chatdash.chat.web.pages", "from chatdash.chat.api.deps import ServiceDep", 1),
        ("chatdash.chat.api.app", "from chatdash.chat import web", 1),
        ("chatdash.pipeline.steps.x", "from ...chat import ChatService", 2),
        ("chatdash.llm.x", "from chatdash.nowhere import x", 1),
    ],
)
def test_the_arrow_check_catches_upward_imports(name: str, source: str, expected: int) -> None:
    assert len(arrow_violations(fake(name, source))) == expected, arrow_violations(fake(name, source))
