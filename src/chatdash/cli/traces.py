"""`chatdash traces list|show`: the recorded traces from the shell, every user's (the shell is the
operator's, like `chatdash users`).

``list`` shows the newest runs with their model, prompt version, tokens and latency; ``show`` one run
and the tree of its steps. ``--json`` prints the same as JSON for scripts (``show --json`` is the
trace as ``GET /api/traces/{id}`` returns it, plus the user's name).
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree
from sqlalchemy import Engine

from chatdash.chat import users
from chatdash.cli.common import console, edge, engine
from chatdash.errors import NotFound
from chatdash.tracing import SpanRecord, TraceRecord, get_trace, list_traces

app = typer.Typer(help="Traces of replies, API calls and test-bed runs.", no_args_is_help=True)

ATTRIBUTES_SHOWN = 160
"""Characters of a step's attributes shown under it in `show` (``--json`` has them all)."""


@app.command("list")
@edge
def list_(
    user: str | None = typer.Option(None, "--user", help="Only this user's traces (a username)."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one array) instead of a table."),
) -> None:
    """The newest traces: when, whose, from where, how they ended, model, prompt version, tokens."""
    db = engine()
    user_id = None
    if user is not None:
        found = users.get_user_by_name(db, user)
        if found is None:
            raise NotFound(f"no user {user!r}; `chatdash users list` shows who there is")
        user_id = found.id
    traces = list_traces(db, user_id=user_id, limit=limit)
    names = _usernames(db, traces)
    if as_json:
        rows = [_without_spans(trace.as_dict()) | {"username": names.get(trace.user_id)} for trace in traces]
        print(json.dumps(rows, indent=2))
        return
    if not traces:
        console.print("no traces yet" + (f" of {user}" if user else ""), highlight=False)
        return
    table = Table("id", "time (UTC)", "user", "source", "status", "latency", "model", "prompt", "tokens")
    for trace in traces:
        table.add_row(
            trace.id,
            f"{trace.started_at:%Y-%m-%d %H:%M:%S}",
            escape(names.get(trace.user_id) or "-"),
            trace.source,
            _status(trace.status),
            _latency(trace.latency_ms),
            escape(trace.model or "-"),
            escape(_prompt(trace.prompt_name, trace.prompt_version)),
            _tokens(trace.prompt_tokens, trace.completion_tokens),
        )
    console.print(table)


@app.command("show")
@edge
def show(
    trace_id: str = typer.Argument(..., help="The trace's id (32 hex digits), as `traces list` shows it."),
    as_json: bool = typer.Option(False, "--json", help="Print the trace and its spans as JSON."),
) -> None:
    """One trace: what came in and out, how it ended, and the tree of its steps."""
    db = engine()
    trace = get_trace(db, trace_id.strip().lower(), user_id=None, admin=True)
    if trace is None:
        raise NotFound(f"no trace {trace_id!r}; `chatdash traces list` shows the recent ones")
    username = _usernames(db, [trace]).get(trace.user_id)
    if as_json:
        print(json.dumps(trace.as_dict() | {"username": username}, indent=2, default=str))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_row("trace", trace.id)
    grid.add_row("time (UTC)", f"{trace.started_at:%Y-%m-%d %H:%M:%S.%f}"[:-3])
    grid.add_row("user", escape(username or "-"))
    grid.add_row("source", f"{trace.source} · {escape(trace.pipeline)}")
    grid.add_row("chat", f"{trace.chat_id or '-'} · message {trace.message_id or '-'}")
    ttft = f" (first token {_latency(trace.ttft_ms)})" if trace.ttft_ms is not None else ""
    grid.add_row("status", f"{_status(trace.status)} in {_latency(trace.latency_ms)}{ttft}")
    if trace.error:
        grid.add_row("error", f"[red]{escape(trace.error)}[/]")
    grid.add_row("model", escape(trace.model or "-"))
    grid.add_row("prompt", escape(_prompt(trace.prompt_name, trace.prompt_version)))
    grid.add_row("tokens", _tokens(trace.prompt_tokens, trace.completion_tokens, words=True))
    if trace.figure_check:
        grid.add_row("figure check", escape(trace.figure_check))
    grid.add_row("input", escape(trace.input))
    grid.add_row("output", escape(trace.output))
    console.print(grid, highlight=False)
    console.print(span_tree(trace), highlight=False)


def span_tree(trace: TraceRecord) -> Tree:
    """The trace's spans as a tree under their parents (a span whose parent is missing hangs at the top)."""
    tree = Tree(f"[bold]steps[/] ({len(trace.spans)})")
    nodes: dict[str | None, Tree] = {None: tree}
    pending = list(trace.spans)
    known = {span.id for span in trace.spans}
    while pending:
        placed = [span for span in pending if span.parent_id in nodes or span.parent_id not in known]
        if not placed:  # a cycle: hang the rest at the top rather than lose them
            placed = pending
        for span in placed:
            parent = nodes.get(span.parent_id, tree)
            nodes[span.id] = parent.add(_span_label(span))
        pending = [span for span in pending if span not in placed]
    return tree


def _span_label(span: SpanRecord) -> str:
    parts = [
        f"[bold]{escape(span.name)}[/] [dim]{escape(span.kind)}[/]",
        _status(span.status),
        _latency(span.latency_ms),
    ]
    if span.model:
        parts.append(escape(span.model))
    if span.prompt_name:
        parts.append(escape(_prompt(span.prompt_name, span.prompt_version)))
    if span.prompt_tokens is not None or span.completion_tokens is not None:
        parts.append(_tokens(span.prompt_tokens, span.completion_tokens, words=True))
    label = "  ".join(parts)
    if span.error:
        label += f"\n[red]{escape(span.error)}[/]"
    if span.attributes:
        shown = json.dumps(span.attributes, default=str, ensure_ascii=False, sort_keys=True)
        if len(shown) > ATTRIBUTES_SHOWN:
            shown = shown[: ATTRIBUTES_SHOWN - 1] + "…"
        label += f"\n[dim]{escape(shown)}[/]"
    return label


def _usernames(db: Engine, traces: list[TraceRecord]) -> dict[int | None, str]:
    names: dict[int | None, str] = {}
    for user_id in {trace.user_id for trace in traces if trace.user_id is not None}:
        user = users.get_user(db, user_id)
        if user is not None:
            names[user_id] = user.username
    return names


def _without_spans(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("spans", None)
    return row


def _status(status: str) -> str:
    colour = {"complete": "green", "ok": "green", "error": "red", "stopped": "yellow"}.get(status)
    return f"[{colour}]{status}[/]" if colour else status


def _latency(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _prompt(name: str | None, version: int | None) -> str:
    if not name:
        return "-"
    return f"{name}@{version}" if version is not None else name


def _tokens(prompt: int | None, completion: int | None, *, words: bool = False) -> str:
    if prompt is None and completion is None:
        return "-"
    said = f"{prompt if prompt is not None else '?'} → {completion if completion is not None else '?'}"
    return f"{said} tokens (prompt → completion)" if words else said
