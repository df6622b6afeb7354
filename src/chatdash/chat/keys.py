"""API keys: a random token shown once; only its SHA-256 is stored, with a short prefix for display.

SHA-256 (not argon2) is right here: the token carries 256 random bits, so there is nothing to
brute-force, and verifying must be cheap because it runs on every API request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from chatdash.db.engine import session_factory
from chatdash.db.models import ApiKey, User
from chatdash.errors import AuthError, InvalidInput, NotFound

TOKEN_PREFIX = "cd_"
PREFIX_CHARS = 10
"""Characters of the token kept in clear (``cd_`` + 7) so people can tell their keys apart."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``token`` exists only here, it cannot be shown again."""

    key: ApiKey
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(engine: Engine, user_id: int, name: str) -> NewKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key name is 1-100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_factory(engine).begin() as session:
        if session.get(User, user_id) is None:
            raise NotFound(f"no user {user_id}")
        key = ApiKey(user_id=user_id, name=name, prefix=token[:PREFIX_CHARS], token_hash=hash_token(token))
        session.add(key)
    return NewKey(key, token)


def list_keys(engine: Engine, user_id: int | None = None) -> list[ApiKey]:
    """The keys of one user (``None``: everyone's, for the admin CLI), oldest first."""
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    with session_factory(engine)() as session:
        return list(session.scalars(query))


def revoke_key(engine: Engine, key_id: int, user_id: int | None = None) -> ApiKey:
    """Revoke a key (idempotent); with ``user_id`` only that user's own keys."""
    with session_factory(engine).begin() as session:
        key = session.get(ApiKey, key_id)
        if key is None or (user_id is not None and key.user_id != user_id):
            raise NotFound(f"no API key {key_id}")
        if key.revoked_at is None:
            key.revoked_at = dt.datetime.now(dt.UTC)
    return key


LAST_USED_PRECISION = dt.timedelta(seconds=60)


def verify_key(engine: Engine, token: str) -> ApiKey:
    """The live key behind ``token`` (recording its use), or ``AuthError`` saying what is wrong.

    ``last_used_at`` is written at most once per ``LAST_USED_PRECISION``: a write on every request
    serialises all API traffic on SQLite's single writer for a figure people read in minutes.
    """
    if not token:
        raise AuthError(
            "missing API key: send `Authorization: Bearer <key>` (create one: chatdash keys create)"
        )
    now = dt.datetime.now(dt.UTC)
    with session_factory(engine).begin() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.token_hash == hash_token(token)))
        if key is None:
            raise AuthError("invalid API key")
        if key.revoked_at is not None:
            raise AuthError("this API key has been revoked")
        last = key.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)  # SQLite hands back naive datetimes
        if last is None or now - last >= LAST_USED_PRECISION:
            session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
            key.last_used_at = now
    return key
