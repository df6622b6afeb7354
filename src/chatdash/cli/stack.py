"""`chatdash stack up|down|status`: the production topology on this machine, without Docker."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from chatdash.cli.common import console, edge
from chatdash.config import get_settings

if TYPE_CHECKING:
    from chatdash.stack import Stack
    from chatdash.stack.supervisor import Status

app = typer.Typer(
    help="The production topology on one machine: nginx, replicas, PostgreSQL, Redis.", no_args_is_help=True
)

OFFSET_HELP = "Added to every port (nginx 8088, web 8000/8002, data API 8001, LM 8080, dashboard 8501...)."
LAST_HELP = "The stack's port offset. Default: the last `up`'s (its options too)."


def _stack(
    port_offset: int | None,
    web_replicas: int = 2,
    rows: int = 100_000,
    scripted_model: bool = False,
    *,
    for_up: bool = False,
) -> Stack:
    """``up``'s stack with these options; for the other commands (``port_offset`` None), the stack the
    last ``up`` in this VAR_DIR started, with its options."""
    from chatdash.stack import Stack, StackOptions

    settings = get_settings()
    last = Stack.last_options(settings.var_dir)
    if not for_up and port_offset in (None, last.port_offset):
        return Stack(settings, last)
    options = StackOptions(
        var_dir=settings.var_dir,
        port_offset=port_offset or 0,
        web_replicas=web_replicas,
        rows=rows,
        scripted_model=scripted_model,
    )
    return Stack(settings, options)


def _print(statuses: list[Status], entry: str) -> bool:
    table = Table("component", "pid", "address", "health", "ready")
    for row in statuses:
        colour = "green" if row.healthy else "red"
        table.add_row(row.name, str(row.pid or "-"), row.url, f"[{colour}]{row.health}[/]", row.ready or "-")
    console.print(table)
    healthy = all(row.healthy for row in statuses)
    line = (
        f"chatdash: {entry}  (dashboard: {entry}dashboard/)" if healthy else "some components are not healthy"
    )
    console.print(line, soft_wrap=True, highlight=False)
    return healthy


@app.command("up")
@edge
def up(
    port_offset: int = typer.Option(0, min=0, max=50_000, help=OFFSET_HELP),
    web_replicas: int = typer.Option(2, min=1, max=8, help="Web (ui) replicas behind nginx."),
    rows: int = typer.Option(100_000, min=0, help="Synthetic orders loaded into an empty database."),
    scripted_model: bool = typer.Option(
        False, "--scripted-model", help="Capacity runs only: a scripted stand-in instead of the LM service."
    ),
    timeout: float = typer.Option(240.0, min=1, help="Seconds each component may take to answer."),
) -> None:
    """Start whatever is not running yet (a stopped or killed part comes back) and wait until all answer."""
    stack = _stack(port_offset, web_replicas, rows, scripted_model, for_up=True)
    statuses = stack.up(lambda line: console.print(line, highlight=False), timeout=timeout)
    if not _print(statuses, stack.topology.entry_url):
        raise typer.Exit(1)


@app.command("status")
@edge
def status(
    port_offset: int | None = typer.Option(None, min=0, max=50_000, help=LAST_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list."),
) -> None:
    """Each component's process and health; exit 1 when one is down or unhealthy."""
    stack = _stack(port_offset)
    statuses = stack.status()
    if as_json:
        rows = [
            {
                **{k: getattr(s, k) for k in ("name", "pid", "running", "url", "health", "ready")},
                "healthy": s.healthy,
            }
            for s in statuses
        ]
        print(json.dumps(rows))
        healthy = all(s.healthy for s in statuses)
    else:
        healthy = _print(statuses, stack.topology.entry_url)
    if not healthy:
        raise typer.Exit(1)


@app.command("down")
@edge
def down(port_offset: int | None = typer.Option(None, min=0, max=50_000, help=LAST_HELP)) -> None:
    """Stop what `up` started (and only that); data under VAR_DIR is kept."""
    _stack(port_offset).down(lambda line: console.print(line, highlight=False))
    console.print("stack stopped")


@app.command("stop")
@edge
def stop(
    name: str = typer.Argument(..., help="A component, as `status` names it (web-1, lm, postgres...)."),
    port_offset: int | None = typer.Option(None, min=0, max=50_000, help=LAST_HELP),
) -> None:
    """Stop one component that `up` started; `up` starts it again."""
    stack = _stack(port_offset)
    names = [component.name for component in stack.topology.components]
    if name not in names:
        raise typer.BadParameter(f"expected one of {', '.join(names)}", param_hint="NAME")
    if not stack.stop(name):
        console.print(f"{name}: not started by this stack")
        raise typer.Exit(1)
    console.print(f"{name}: stopped")
