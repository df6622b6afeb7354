"""`chatdash users sign-out`: account commands for operators (the rest of `users` comes with the
accounts work)."""

from __future__ import annotations

import typer

from chatdash.chat import users
from chatdash.cli.common import console, edge, engine
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
