"""Accounts: argon2 password hashes, the first user is admin, and the name-only ``open`` mode.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with older parameters is
upgraded on the next successful sign-in. Wrong username and wrong password give the same error, so the
sign-in form does not reveal which accounts exist.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from chatdash.db.engine import session_factory
from chatdash.db.models import User
from chatdash.errors import AuthError, Conflict, InvalidInput

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[\w.@+-]{1,64}$")
MIN_PASSWORD = 8


def check_username(username: str) -> str:
    """The username stripped, or ``InvalidInput`` saying what a username may contain."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise InvalidInput("a username is 1-64 letters, digits or . @ + - _ (no spaces)")
    return username


def create_user(engine: Engine, username: str, password: str | None) -> User:
    """A new account; ``password=None`` only for ``open`` mode. The very first account is admin."""
    username = check_username(username)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    with session_factory(engine).begin() as session:
        first = session.scalar(select(func.count()).select_from(User)) == 0
        user = User(
            username=username,
            password_hash=_hasher.hash(password) if password is not None else None,
            is_admin=first,
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"the username {username!r} is taken; choose another") from None
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
