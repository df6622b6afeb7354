"""`chatdash keys create|list|revoke`: API keys for `POST /api/chat` and the data API.

A key belongs to an existing account (``--user``, or the only admin when there is exactly one), so
the chats made through the API are that person's, in their web UI too; `chatdash users create` makes
accounts. The plaintext key is printed once, at creation; only its hash is stored.
"""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import Engine

from chatdash.chat import keys as api_keys
from chatdash.chat import users
from chatdash.cli.common import console, edge, engine
from chatdash.db.models import User
from chatdash.errors import InvalidInput, NotFound

app = typer.Typer(help="API keys (Bearer tokens) for the HTTP APIs.", no_args_is_help=True)


@app.command("create")
@edge
def create(
    name: str = typer.Argument(..., help="What the key is for, e.g. 'reporting script'."),
    user: str | None = typer.Option(
        None, help="The account the key acts as (an existing one). Default: the only admin, if there is one."
    ),
) -> None:
    """Create a key for an account and print it once: store it now, it cannot be shown again."""
    db = engine()
    owner = users.require_user(db, user) if user is not None else _only_admin(db)
    new = api_keys.create_key(db, owner.id, name)
    console.print(
        f"created key {new.key.id} ({new.key.prefix}…) for {owner.username}: store it now, "
        "it is not shown again",
        highlight=False,
    )
    print(new.token)


def _only_admin(db: Engine) -> User:
    admins = users.admins(db)
    if len(admins) == 1:
        return admins[0]
    if not admins:
        raise NotFound(
            "no admin to own the key: name its user with --user NAME, or create an admin first "
            "with `chatdash users create NAME --admin`"
        )
    names = ", ".join(admin.username for admin in admins)
    raise InvalidInput(f"there are {len(admins)} admins ({names}): name the key's user with --user NAME")


@app.command("list")
@edge
def list_(user: str | None = typer.Option(None, help="Only this user's keys.")) -> None:
    """Every key (or one user's): id, name, owner, prefix, created, last used, revoked."""
    db = engine()
    owner_id = None
    if user is not None:
        owner_id = users.require_user(db, user).id
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
