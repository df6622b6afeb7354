"""`chatdash users create|list|set-password|promote|delete|sign-out`: the web app's accounts, from the
shell. The rules (usernames, passwords, the first account is admin, the last admin stays) are
``chatdash.chat.users``'s, the same the web sign-up follows.

A password comes from standard input with ``--password-stdin`` (scripts: one line, its line ending
dropped), otherwise from a hidden prompt asked twice.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from chatdash.chat import users
from chatdash.cli.common import console, edge, engine, err_console
from chatdash.config import get_settings
from chatdash.errors import InvalidInput

app = typer.Typer(help="Accounts of the web app.", no_args_is_help=True)

PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (one line) instead of asking."
)


def read_password(from_stdin: bool) -> str:
    """The new password, by the sign-up rules: one line of standard input, or asked (hidden) until it
    keeps the rules and is typed the same twice."""
    if from_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if "\n" in password or "\r" in password:
            raise InvalidInput("--password-stdin reads one line: the password alone")
        return users.check_password(password)
    while True:
        password = str(typer.prompt("Password", hide_input=True))
        try:
            users.check_password(password)
        except InvalidInput as exc:
            err_console.print(f"{exc}; try again", highlight=False)
            continue
        if typer.prompt("Repeat the password", hide_input=True) == password:
            return password
        err_console.print("the two passwords differ; try again", highlight=False)


def _refuse_in_open_mode(what: str) -> None:
    if get_settings().auth == "open":
        raise InvalidInput(
            f"CHATDASH_AUTH=open signs in by name alone, so {what} would lock the account out; "
            "set CHATDASH_AUTH=password first"
        )


@app.command("create")
@edge
def create(
    username: str = typer.Argument(..., help="The new account's name (letters, digits, . @ + - _)."),
    admin: bool = typer.Option(
        False, "--admin", help="Make it an admin (the very first account is one anyway)."
    ),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an account of the web app, with a password (asked twice, or --password-stdin).

    With CHATDASH_AUTH=open the account signs in by name alone and no password is asked. API keys are
    then made for it with `chatdash keys create NAME --user USERNAME`."""
    db = engine()
    username = users.check_username(username)
    if users.get_user_by_name(db, username) is not None:  # before asking for a password in vain
        raise users.username_taken(username)
    password = None
    if get_settings().auth == "password" or password_stdin:
        _refuse_in_open_mode("a password")
        password = read_password(password_stdin)
    user = users.create_user(db, username, password, admin=admin)
    role = "an admin" if user.is_admin else "not an admin"
    console.print(f"created user {user.username} ({role})", highlight=False)


@app.command("list")
@edge
def list_() -> None:
    """Every account: admin, password, created, chats and live (not revoked) API keys.

    An account without a password signs in only with CHATDASH_AUTH=open; otherwise it can only use
    API keys until `chatdash users set-password` gives it one."""
    table = Table("user", "admin", "password", "created", "chats", "live keys")
    for account in users.list_accounts(engine()):
        table.add_row(
            account.username,
            "yes" if account.is_admin else "",
            "yes" if account.has_password else "none",
            f"{account.created_at:%Y-%m-%d %H:%M}",
            str(account.chats),
            str(account.live_keys),
        )
    console.print(table)


@app.command("set-password")
@edge
def set_password(
    username: str = typer.Argument(..., help="The account whose password changes."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set USERNAME's password and end their sessions on every device.

    For a forgotten password, or an account that has none."""
    db = engine()
    _refuse_in_open_mode("a password")
    users.require_user(db, username)  # before asking for a password in vain
    user = users.set_password(db, username, read_password(password_stdin))
    console.print(f"password set for {user.username}; their sessions have ended", highlight=False)


@app.command("promote")
@edge
def promote(
    username: str = typer.Argument(..., help="The account to make an admin."),
    demote: bool = typer.Option(
        False, "--demote", help="Take admin away instead (never from the last admin)."
    ),
) -> None:
    """Make USERNAME an admin (`--demote`: no longer one)."""
    user = users.set_admin(engine(), username, not demote)
    console.print(f"{user.username} is {'an admin' if user.is_admin else 'not an admin'}", highlight=False)


@app.command("sign-out")
@edge
def sign_out(username: str = typer.Argument(..., help="The account whose sessions end.")) -> None:
    """End every session of USERNAME, on every device: the next page asks them to sign in again."""
    db = engine()
    user = users.require_user(db, username)
    users.end_sessions(db, user.id)
    console.print(f"signed out {user.username} everywhere", highlight=False)


@app.command("delete")
@edge
def delete(
    username: str = typer.Argument(..., help="The account to delete."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking first."),
) -> None:
    """Delete USERNAME and everything of theirs (asks first unless --yes).

    Chats, messages, feedback, API keys, sessions and their points in the vector memory go; the rows
    all or nothing; nothing can be undone.

    The vector memory is opened first: with the local store (no CHATDASH_QDRANT_URL) that fails while
    `chatdash serve` holds its folder, and then nothing is deleted."""
    from chatdash.memory import get_store

    db = engine()
    users.require_user(db, username)
    memory = get_store(get_settings())
    question = f"delete {username} and all their chats, messages, feedback, API keys and memory?"
    if not yes and not typer.confirm(question, default=False):
        err_console.print("nothing deleted", highlight=False)
        raise typer.Exit(1)
    deleted = users.delete_user(db, username, memory)
    console.print(f"deleted user {deleted.username}: {deleted.summary()}", highlight=False)
