"""`chatdash data ...`: generate, load and inspect the sales data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from chatdash.cli.common import console, edge, engine
from chatdash.db.engine import redacted_url
from chatdash.db.migrate import upgrade
from chatdash.sales import (
    LoadSummary,
    collect_stats,
    generate,
    load_frames,
    next_order_id,
    read_file,
    write_file,
)

app = typer.Typer(help="Sales data: generate, load, inspect.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _tracked(frames: Iterable[pl.DataFrame], progress: Progress, task: int) -> Iterator[pl.DataFrame]:
    for frame in frames:
        yield frame
        progress.advance(task, frame.height)  # type: ignore[arg-type]
    progress.update(task, description="indexes and rollups")  # type: ignore[arg-type]


def load_with_progress(
    db: Engine,
    frames: Iterable[pl.DataFrame],
    *,
    replace: bool,
    total: int | None,
    label: str,
    source: Path | None = None,
) -> LoadSummary:
    """Load frames (read from the file ``source``, if any) into the database behind a progress bar."""
    with _progress() as progress:
        task = progress.add_task(label, total=total)
        return load_frames(db, _tracked(frames, progress, task), replace=replace, source=source)


def summary_line(summary: LoadSummary, db: Engine) -> str:
    span = f"{summary.date_range.start} .. {summary.date_range.end}" if summary.date_range else "no dates"
    return (
        f"{summary.mode}: {summary.rows:,} rows into {redacted_url(db)} in {summary.seconds:.1f} s "
        f"({span}; rollup {summary.rollup_rows:,} day x product rows)"
    )


@app.command("generate")
@edge
def generate_command(
    rows: int = typer.Option(100_000, min=0, help="Number of orders."),
    seed: int = typer.Option(42, help="Same seed, same rows."),
    out: Path | None = typer.Option(None, help="Write a .csv or .parquet file instead of loading."),
    replace: bool = typer.Option(
        True,
        "--replace/--append",
        help="Into the database: replace the table's rows (default) or append with new order ids.",
    ),
) -> None:
    """Synthetic orders with the published distributions, to a file or into the database."""
    if out is not None:
        with _progress() as progress:
            task = progress.add_task(f"writing {out.name}", total=rows)
            written = write_file(_tracked(generate(rows, seed), progress, task), out)
        size = out.stat().st_size / 1e6
        console.print(f"wrote {written:,} rows to {out} ({size:.1f} MB, seed {seed})")
        return
    db = engine()
    upgrade(db)
    first = 1 if replace else next_order_id(db)
    summary = load_with_progress(
        db,
        generate(rows, seed, first_order_id=first),
        replace=replace,
        total=rows,
        label="generating",
    )
    console.print(summary_line(summary, db))


@app.command("load")
@edge
def load_command(
    file: Path = typer.Argument(..., help="A .csv or .parquet file with the sales_data columns."),
    replace: bool = typer.Option(
        False,
        "--replace/--append",
        help="Replace the table's rows, or append (default; order ids must be new).",
    ),
) -> None:
    """Bulk-load a CSV/Parquet file into sales_data (all of it or, on any bad row, nothing)."""
    frames = read_file(file)  # checks the file's header and row lengths before the database is touched
    db = engine()
    upgrade(db)
    summary = load_with_progress(
        db, frames, replace=replace, total=None, label=f"loading {file.name}", source=file
    )
    console.print(summary_line(summary, db))


@app.command("stats")
@edge
def stats_command() -> None:
    """What the database holds: rows, dates, categories, revenue, rollup health."""
    db = engine()
    info = collect_stats(db)
    table = Table(show_header=False, box=None)
    span = f"{info.date_range.start} .. {info.date_range.end}" if info.date_range else "-"
    rollup = (
        "in step"
        if info.rollup_in_step
        else (
            f"OUT OF STEP: counts {info.rollup_orders:,} orders; run `chatdash data generate` or "
            "`data load --replace` to rebuild"
        )
    )
    for name, value in [
        ("database", info.database),
        ("schema revision", info.revision or "none (run `chatdash init`)"),
        ("rows (orders)", f"{info.rows:,}"),
        ("dates", span),
        ("categories", ", ".join(info.categories) or "-"),
        ("total revenue", f"{info.metrics.total_revenue:,}"),
        ("average order value", f"{info.metrics.average_order_value or 0:,}"),
        ("top category", info.metrics.top_category or "-"),
        ("daily rollup", f"{info.rollup_rows:,} rows, {rollup}"),
    ]:
        table.add_row(f"[bold]{name}", value)
    console.print(table)
