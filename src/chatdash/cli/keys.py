"""`chatdash keys create|list|revoke`: API keys for `POST /api/chat` and the data API.

A key belongs to a user (``--user``, created without a password if missing: it can only use keys
until someone signs up under that name in the web UI). The plaintext key is printed once, at
creation; only its hash is stored.
"""

from __future__ import annotations

import typer
from rich.table import Table

from chatdash.chat import keys as api_keys
from chatdash.chat import users
from chatdash.cli.common import console, edge, engine
from chatdash.errors import NotFound

app = typer.Typer(help="API keys (Bearer tokens) for the HTTP APIs.", no_args_is_help=True)


@app.command("create")
@edge
def create(
    name: str = typer.Argument(..., help="What the key is for, e.g. 'reporting script'."),
    user: str = typer.Option("admin", help="Username the key acts as (created if missing)."),
) -> None:
    """Create a key and print it once: store it now, it cannot be shown again."""
    db = engine()
    owner = users.get_user_by_name(db, user) or users.open_user(db, user)
    new = api_keys.create_key(db, owner.id, name)
    console.print(
        f"created key {new.key.id} ({new.key.prefix}…) for {owner.username}: store it now, "
        "it is not shown again",
        highlight=False,
    )
    print(new.token)


@app.command("list")
@edge
def list_(user: str | None = typer.Option(None, help="Only this user's keys.")) -> None:
    """Every key (or one user's): id, name, owner, prefix, created, last used, revoked."""
    db = engine()
    owner_id = None
    if user is not None:
        owner = users.get_user_by_name(db, user)
        if owner is None:
            raise NotFound(f"no user {user!r}")
        owner_id = owner.id
    table = Table("id", "name", "user", "prefix", "created", "last used", "revoked")
    names: dict[int, str] = {}
    for key in api_keys.list_keys(db, owner_id):
        if key.user_id not in names:
            found = users.get_user(db, key.user_id)
            names[key.user_id] = found.username if found else "?"
        table.add_row(
            str(key.id),
            key.name,
            names[key.user_id],
            key.prefix + "…",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
@edge
def revoke(key_id: int = typer.Argument(..., help="The key's id (see `chatdash keys list`).")) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    key = api_keys.revoke_key(engine(), key_id)
    console.print(f"revoked key {key.id} ({key.name})", highlight=False)
