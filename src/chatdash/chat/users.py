"""Accounts: argon2 password hashes, the first user is admin, the name-only ``open`` mode, deletion.

The rules for usernames and passwords live here (``check_username``, ``check_password``): the web
sign-up and the ``chatdash users`` commands both go through them.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with older parameters is
upgraded on the next successful sign-in. Wrong username and wrong password give the same error, so the
sign-in form does not reveal which accounts exist.

A session holds the user id and the account's ``session_version``. A new account starts at a random
version: SQLite hands a deleted account's id to the next one created, and a cookie of the deleted
account must not sign anyone into the new one.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from chatdash.db.engine import session_factory, translate_errors
from chatdash.db.models import ApiKey, Chat, ChatMessage, Feedback, User
from chatdash.errors import AuthError, Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from chatdash.memory import VectorStore

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[\w.@+-]{1,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_FIRST_VERSIONS = 2**30
"""New accounts draw their first session version below this (headroom for sign-outs in a 32-bit column)."""


def check_username(username: str) -> str:
    """The username stripped, or ``InvalidInput`` saying what a username may contain."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise InvalidInput("a username is 1-64 letters, digits or . @ + - _ (no spaces)")
    return username


def check_password(password: str) -> str:
    """The password unchanged, or ``InvalidInput`` saying the rule it breaks (it is never stripped)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters")
    return password


def username_taken(username: str) -> Conflict:
    return Conflict(f"the username {username!r} is taken; choose another")


def create_user(engine: Engine, username: str, password: str | None, *, admin: bool = False) -> User:
    """A new account; ``password=None`` only for ``open`` mode (and the split deployment's data API).
    The very first account is admin whatever ``admin`` says."""
    username = check_username(username)
    if password is not None:
        check_password(password)
    with session_factory(engine).begin() as session:
        first = session.scalar(select(func.count()).select_from(User)) == 0
        user = User(
            username=username,
            password_hash=_hasher.hash(password) if password is not None else None,
            is_admin=first or admin,
            session_version=secrets.randbelow(_FIRST_VERSIONS),
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise username_taken(username) from None
    return user


def authenticate(engine: Engine, username: str, password: str) -> User:
    """The account these credentials open, or ``AuthError`` (same message whatever was wrong)."""
    failure = AuthError("wrong username or password")
    with session_factory(engine).begin() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None or user.password_hash is None:
            _hasher.hash(password)  # spend the same time as a real check
            raise failure
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise failure from None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
    return user


def open_user(engine: Engine, username: str) -> User:
    """``CHATDASH_AUTH=open``: the account with this name, created on first use (no password)."""
    username = check_username(username)
    existing = get_user_by_name(engine, username)
    if existing is not None:
        if existing.password_hash is not None:
            raise AuthError(f"{username!r} has a password; sign in with it")
        return existing
    try:
        return create_user(engine, username, None)
    except Conflict:  # created by a concurrent request in between
        user = get_user_by_name(engine, username)
        assert user is not None
        return user


def get_user(engine: Engine, user_id: int) -> User | None:
    with session_factory(engine)() as session:
        return session.get(User, user_id)


def end_sessions(engine: Engine, user_id: int) -> None:
    """End every session of the user (on every device): each carries the version it was signed in with."""
    with session_factory(engine).begin() as session:
        session.execute(
            update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
        )


def get_user_by_name(engine: Engine, username: str) -> User | None:
    with session_factory(engine)() as session:
        return session.scalar(select(User).where(User.username == username.strip()))


def _no_user(username: str) -> NotFound:
    return NotFound(f"no user {username!r}; create one with `chatdash users create {username.strip()}`")


def require_user(engine: Engine, username: str) -> User:
    """The account with this name, or ``NotFound`` saying how to make it."""
    user = get_user_by_name(engine, username)
    if user is None:
        raise _no_user(username)
    return user


def set_password(engine: Engine, username: str, password: str) -> User:
    """Give the account a new password (the sign-up rules) and end its sessions on every device: a
    password is reset because the old one was lost or known to someone else."""
    check_password(password)
    password_hash = _hasher.hash(password)
    with session_factory(engine).begin() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise _no_user(username)
        user.password_hash = password_hash
        user.session_version += 1
    return user


def set_admin(engine: Engine, username: str, admin: bool) -> User:
    """Make the account an admin, or (``admin=False``) no longer one. The last admin cannot be demoted:
    keys are created for the only admin by default, and admin pages need someone to open them."""
    with session_factory(engine).begin() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise _no_user(username)
        if user.is_admin and not admin:
            others = session.scalar(
                select(func.count()).select_from(User).where(User.is_admin, User.id != user.id)
            )
            if not others:
                raise Conflict(f"{user.username} is the only admin; promote another user first")
        user.is_admin = admin
    return user


def admins(engine: Engine) -> list[User]:
    """The admin accounts, oldest first."""
    with session_factory(engine)() as session:
        return list(session.scalars(select(User).where(User.is_admin).order_by(User.id)))


@dataclass(frozen=True, slots=True)
class Account:
    """One line of ``chatdash users list``: an account and how much it holds."""

    username: str
    is_admin: bool
    has_password: bool
    created_at: dt.datetime
    chats: int
    live_keys: int


def list_accounts(engine: Engine) -> list[Account]:
    """Every account, oldest first, with its number of chats and of API keys not revoked."""
    chats = select(func.count()).select_from(Chat).where(Chat.user_id == User.id).scalar_subquery()
    keys = (
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == User.id, ApiKey.revoked_at.is_(None))
        .scalar_subquery()
    )
    query = select(User, chats, keys).order_by(User.id)
    with session_factory(engine)() as session:
        return [
            Account(user.username, user.is_admin, user.password_hash is not None, user.created_at, n, k)
            for user, n, k in session.execute(query)
        ]


def ensure_user(engine: Engine, username: str) -> int:
    """The id of the account with this name, created without a password if there is none: the data API
    of the split deployment keeps its chats under the names the ui's service key acts for."""
    username = check_username(username)
    existing = get_user_by_name(engine, username)
    if existing is not None:
        return existing.id
    try:
        return create_user(engine, username, None).id
    except Conflict:  # created by a concurrent request in between
        user = get_user_by_name(engine, username)
        assert user is not None
        return user.id


@dataclass(frozen=True, slots=True)
class DeletedUser:
    """What deleting an account removed (rows, and points of the vector memory)."""

    username: str
    chats: int
    messages: int
    feedback: int
    keys: int
    memory_points: int

    def summary(self) -> str:
        counts = [
            (self.chats, "chat"),
            (self.messages, "message"),
            (self.feedback, "feedback rating"),
            (self.keys, "API key"),
            (self.memory_points, "memory point"),
        ]
        return ", ".join(f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in counts)


def delete_user(engine: Engine, username: str, memory: VectorStore | None) -> DeletedUser:
    """Delete the account and everything of it: chats, messages, feedback (given by the user, and on
    their replies), API keys, the account itself (so every session ends) and, with ``memory``, every
    point the user owns in the vector memory (chat memory and their own documents).

    The rows go in one transaction, all or nothing. The memory is cleared first: a store that cannot be
    opened or reached fails before any row is touched, and a failure after it leaves the account to
    delete again. It is swept once more after the rows, for a message a reply still running in a
    server stored in between. ``NotFound`` for an unknown username.
    """
    user = require_user(engine, username)
    owner = str(user.id)
    points = memory.forget_user(owner) if memory is not None else 0
    chats = select(Chat.id).where(Chat.user_id == user.id)
    messages = select(ChatMessage.id).where(ChatMessage.chat_id.in_(chats))
    # Each table explicitly, children first, rather than through ON DELETE CASCADE: the counts are
    # reported, and nothing depends on a connection having SQLite's foreign_keys pragma on.
    statements = {
        "feedback": delete(Feedback).where(
            or_(Feedback.user_id == user.id, Feedback.message_id.in_(messages))
        ),
        "messages": delete(ChatMessage).where(ChatMessage.chat_id.in_(chats)),
        "chats": delete(Chat).where(Chat.user_id == user.id),
        "keys": delete(ApiKey).where(ApiKey.user_id == user.id),
        "user": delete(User).where(User.id == user.id),
    }
    with translate_errors(engine), engine.begin() as connection:
        removed = {name: connection.execute(statement).rowcount for name, statement in statements.items()}
        if removed["user"] != 1:
            raise NotFound(f"no user {username!r} any more: it was deleted meanwhile")
    if memory is not None:
        points += memory.forget_user(owner)
    return DeletedUser(
        user.username, removed["chats"], removed["messages"], removed["feedback"], removed["keys"], points
    )
