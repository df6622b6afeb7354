"""`chatdash prompts list|show|push|promote|diff`: the prompt registry from the shell.

A push of unchanged content makes no new version (it says which version already holds it); a
promotion points a label at a version, and running apps pick it up within
``CHATDASH_PROMPT_CACHE_SECONDS``, without a restart. ``promote --gate SCENARIO`` first runs the
scenario with the label's current version and with the new one, and moves the label only when the new
one is not significantly worse (``chatdash.evals.gate``); otherwise it exits 1 saying why.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chatdash.cli.common import console, edge, engine, err_console
from chatdash.config import get_settings
from chatdash.errors import ChatdashError
from chatdash.evals import GateResult, gate_promotion, load_scenario, print_comparison
from chatdash.llm import get_provider
from chatdash.memory import get_store
from chatdash.prompts import (
    PromptNotFound,
    diff_versions,
    get_prompt,
    list_prompts,
    promote,
    push_prompt,
    read_prompt_file,
)
from chatdash.tracing import writer_for

app = typer.Typer(help="The prompt registry: versions and labels.", no_args_is_help=True)


@app.command("list")
@edge
def list_() -> None:
    """Every prompt: its versions and where each label points."""
    table = Table("name", "versions", "labels", "updated")
    for info in list_prompts(engine()):
        labels = ", ".join(f"{label} → v{version}" for label, version in sorted(info.labels.items()))
        table.add_row(info.name, str(info.versions), labels, f"{info.updated_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("show")
@edge
def show(
    ref: str = typer.Argument(..., help="NAME, NAME@LABEL or NAME@VERSION (NAME: production, else latest)."),
) -> None:
    """One version: its labels, variables, parameters and text."""
    version = get_prompt(engine(), ref)
    created = f"{version.created_at:%Y-%m-%d %H:%M:%S}" if version.created_at else "?"
    table = Table.grid(padding=(0, 2))
    table.add_row("prompt", f"{version.name} v{version.version}")
    table.add_row("labels", ", ".join(version.labels) or "none")
    table.add_row("created", created)
    table.add_row("variables", ", ".join(version.variables) or "none")
    table.add_row("params", json.dumps(dict(version.params), sort_keys=True) if version.params else "none")
    table.add_row("hash", version.content_hash[:12])
    console.print(table, highlight=False)
    console.rule(style="dim")
    print(version.document)


@app.command("push")
@edge
def push(
    file: Path = typer.Argument(
        ..., help="A prompt file (.toml: name, text or messages, variables, params)."
    ),
    label: str | None = typer.Option(None, help="Also point this label (e.g. staging) at the version."),
) -> None:
    """Store a prompt file as a new version; unchanged content makes none."""
    pushed = push_prompt(engine(), read_prompt_file(file), label=label)
    version = pushed.version
    if pushed.created:
        moved = f" ({', '.join(pushed.labelled)})" if pushed.labelled else ""
        console.print(f"pushed {version.name} v{version.version}{moved}", highlight=False)
    else:
        moved = f"; {', '.join(pushed.labelled)} → v{version.version}" if pushed.labelled else ""
        console.print(f"{version.name}: unchanged, the same as v{version.version}{moved}", highlight=False)


@app.command("promote")
@edge
def promote_(
    name: str = typer.Argument(..., help="The prompt's name."),
    version: int = typer.Argument(..., min=1, help="The version the label should point at."),
    label: str = typer.Argument(..., help="The label, e.g. production or staging."),
    gate: Path | None = typer.Option(
        None, help="A scenario: move the label only when VERSION does not score significantly worse."
    ),
    repeat: int | None = typer.Option(
        None, min=1, max=1000, help="With --gate: executions per case and version (default: the file's)."
    ),
    min_effect: float = typer.Option(
        0.0, min=0.0, max=1.0, help="With --gate: a significant drop of the mean score up to this passes."
    ),
) -> None:
    """Point a label at a version; running apps use it within CHATDASH_PROMPT_CACHE_SECONDS."""
    db = engine()
    if gate is not None:
        result = _gate(gate, name, version, label, repeat, min_effect)
        if result.comparison is not None:
            print_comparison(console, f"{name} v{version} (B) vs v{result.current} (A)", result.comparison)
        if not result.promote:
            err_console.print(f"[red]{escape(result.reason)}", highlight=False)
            raise typer.Exit(1)
        console.print(result.reason, highlight=False)
    try:
        before: int | None = get_prompt(db, f"{name}@{label}").version
    except PromptNotFound:
        before = None
    promoted = promote(db, name, version, label)
    was = f" (was v{before})" if before is not None and before != version else ""
    console.print(f"{promoted.name}: {label} → v{promoted.version}{was}", highlight=False)


def _gate(
    scenario: Path, name: str, version: int, label: str, repeat: int | None, effect: float
) -> GateResult:
    loaded = load_scenario(scenario)  # checked whole before anything runs
    settings = get_settings()
    try:
        memory = get_store(settings)
    except ChatdashError:
        if loaded.spec.context.documents:
            raise
        memory = None
    db = engine()
    traces = writer_for(db, settings)
    run = gate_promotion(
        loaded,
        name=name,
        version=version,
        label=label,
        engine=db,
        settings=settings,
        provider=get_provider(settings),
        repeat=repeat,
        min_effect=effect,
        memory=memory,
        traces=traces,
        say=lambda line: console.print(line, highlight=False),
    )
    try:
        return asyncio.run(run)
    finally:
        if traces is not None:
            traces.close()


@app.command("diff")
@edge
def diff(
    name: str = typer.Argument(..., help="The prompt's name."),
    old: int = typer.Argument(..., min=1, help="The older version."),
    new: int = typer.Argument(..., min=1, help="The newer version."),
) -> None:
    """A unified diff of two versions' text."""
    text = diff_versions(engine(), name, old, new)
    if not text:
        console.print(f"{name}: v{old} and v{new} have the same text", highlight=False)
        return
    print(text, end="")
