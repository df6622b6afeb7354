"""The `chatdash` command: one Typer app, one sub-app per part of the product."""

from __future__ import annotations

import typer

from chatdash.cli import bench, dashboard, data, docs, evals, keys, lm, prompts, serve, stack, traces, users
from chatdash.cli.common import console, edge, engine
from chatdash.cli.data import load_with_progress, summary_line
from chatdash.db.engine import redacted_url
from chatdash.db.migrate import upgrade
from chatdash.prompts import Pushed, install_shipped
from chatdash.sales import count_orders, generate

app = typer.Typer(
    name="chatdash",
    help="Self-hosted AI stack for your company's data.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.add_typer(bench.app, name="bench")
app.add_typer(lm.app, name="lm")
app.add_typer(docs.app, name="docs")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(prompts.app, name="prompts")
app.add_typer(traces.app, name="traces")
app.add_typer(evals.app, name="eval")
app.add_typer(stack.app, name="stack")
app.command("dashboard")(dashboard.dashboard)
app.command("serve")(serve.serve)


@app.command()
@edge
def init(
    rows: int = typer.Option(100_000, min=0, help="Synthetic orders to load if sales_data is empty."),
    seed: int = typer.Option(42, help="Seed for the synthetic orders."),
) -> None:
    """Migrate the database, push the shipped prompts and load sample sales data if there is none (safe
    to re-run: unchanged prompts make no new version)."""
    db = engine()
    upgrade(db)
    console.print(prompts_line(install_shipped(db)), highlight=False)
    existing = count_orders(db)
    if existing or rows == 0:
        console.print(f"ready: {redacted_url(db)} migrated, {existing:,} orders in sales_data")
        return
    summary = load_with_progress(db, generate(rows, seed), replace=True, total=rows, label="sample data")
    console.print("ready: " + summary_line(summary, db))


def prompts_line(pushed: list[Pushed]) -> str:
    """``prompts: chat-system v1 (new, production), sales-query-fallback v1`` for ``init``'s output."""
    parts = []
    for item in pushed:
        notes = [*(["new"] if item.created else []), *(x for x in item.labelled if x != "latest")]
        parts.append(
            f"{item.version.name} v{item.version.version}" + (f" ({', '.join(notes)})" if notes else "")
        )
    return "prompts: " + (", ".join(parts) or "none shipped")


def main() -> None:
    app(prog_name="chatdash")
