"""`chatdash users sign-out|delete`: account commands for operators (the rest of `users` comes with the
accounts work)."""

from __future__ import annotations

import typer

from chatdash.chat import users
from chatdash.cli.common import console, edge, engine, err_console
from chatdash.config import get_settings
from chatdash.errors import NotFound

app = typer.Typer(help="Accounts of the web app.", no_args_is_help=True)


@app.command("sign-out")
@edge
def sign_out(username: str = typer.Argument(..., help="The account whose sessions end.")) -> None:
    """End every session of USERNAME, on every device: the next page asks them to sign in again."""
    db = engine()
    user = users.get_user_by_name(db, username)
    if user is None:
        raise NotFound(f"no user {username!r}; `chatdash keys list` shows who has keys")
    users.end_sessions(db, user.id)
    console.print(f"signed out {username} everywhere", highlight=False)


@app.command("delete")
@edge
def delete(
    username: str = typer.Argument(..., help="The account to delete."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking first."),
) -> None:
    """Delete USERNAME and everything of theirs: chats, messages, feedback, API keys, sessions and their
    points in the vector memory. The rows go all or nothing; nothing can be undone.

    The vector memory is opened first: with the local store (no CHATDASH_QDRANT_URL) that fails while
    `chatdash serve` holds its folder, and then nothing is deleted."""
    from chatdash.memory import get_store

    db = engine()
    if users.get_user_by_name(db, username) is None:
        raise NotFound(f"no user {username!r}; `chatdash keys list` shows who has keys")
    memory = get_store(get_settings())
    question = f"delete {username} and all their chats, messages, feedback, API keys and memory?"
    if not yes and not typer.confirm(question, default=False):
        err_console.print("nothing deleted", highlight=False)
        raise typer.Exit(1)
    deleted = users.delete_user(db, username, memory)
    console.print(f"deleted user {deleted.username}: {deleted.summary()}", highlight=False)
