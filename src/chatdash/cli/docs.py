"""`chatdash docs ...`: the knowledge base the chat can cite."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from chatdash.cli.common import console, edge
from chatdash.config import get_settings

app = typer.Typer(help="Knowledge-base documents in the vector store.", no_args_is_help=True)


@app.command("add")
@edge
def add(
    paths: list[Path] = typer.Argument(..., help="Markdown, text or PDF files, or folders holding them."),
    owner: str = typer.Option("*", help="User id that owns the documents; * shares them with everyone."),
) -> None:
    """Split files into chunks, embed and store them; adding a changed file again replaces its chunks.
    A folder is added all or nothing, and links in it that lead out of it are skipped."""
    from chatdash.memory import documents

    store = documents(get_settings())
    totals = {"added": 0, "replaced": 0, "unchanged": 0}
    chunks = 0
    added_all, skipped = store.add_paths(paths, owner=owner)
    for link in skipped:
        console.print(
            f"  skipped  {escape(str(link))}  (a link that leads out of its folder)", highlight=False
        )
    for path, added in added_all:
        totals[added.status] += 1
        chunks += added.chunks
        console.print(f"{added.status:>9}  {escape(str(path))}  ({added.chunks} chunks)", highlight=False)
    summary = ", ".join(f"{count} {status}" for status, count in totals.items() if count)
    console.print(f"done: {summary or 'no files'}; {chunks} chunks in {store.store.where}", highlight=False)


@app.command("search")
@edge
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, min=1, help="Passages to show."),
    owner: str = typer.Option("*", help="Search as this user (their documents and the shared ones)."),
) -> None:
    """Show the passages closest to QUERY, as the chat would retrieve them."""
    from chatdash.memory import documents

    passages = documents(get_settings()).search(owner, query, k=k)
    if not passages:
        console.print("no passage above the score floor (CHATDASH_MEMORY_MIN_SCORE)")
    for passage in passages:
        where = f"{Path(passage.source).name}:{passage.start_line}"
        console.print(f"[bold]{passage.score:.3f}[/] {escape(where)}  {escape(passage.heading)}")
        console.print(f"  {escape(passage.text[:300])}", highlight=False)
