"""The registry in the database: push (a new immutable version only when the content changed), read
by reference, move labels, list, diff.

``latest`` is kept by ``push`` itself (it always names the newest version) and cannot be moved by
hand. Every write tells this process's resolvers (``on_change``), so a push or a promotion is read at
once here; other processes read it when their cache expires.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatdash.db.engine import session_factory, translate_errors
from chatdash.db.models import Prompt as PromptRow
from chatdash.db.models import PromptLabel as LabelRow
from chatdash.db.models import PromptVersion as VersionRow
from chatdash.errors import Conflict, PromptError, PromptNotFound
from chatdash.prompts.content import (
    LATEST,
    PRODUCTION,
    PromptContent,
    PromptMessage,
    PromptRef,
    PromptVersion,
    check_label,
    check_name,
    parse_ref,
)

on_change: list[Callable[[Engine, str], None]] = []
"""Called with (engine, prompt name) after each push or promotion in this process."""

_ATTEMPTS = 3


@event.listens_for(VersionRow, "before_update")
def _immutable(_mapper: Any, _connection: Any, target: VersionRow) -> None:
    """A stored version never changes (what ran is what the version says): push new content instead."""
    raise PromptError(f"prompt versions are immutable (version {target.version}): push new content instead")


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a push did: the version holding the content, and whether it is new."""

    version: PromptVersion
    created: bool
    labelled: tuple[str, ...] = ()
    """Labels this push moved to the version (``latest`` included when it is new)."""


@dataclass(frozen=True, slots=True)
class PromptInfo:
    """A prompt in ``list_prompts``: how many versions, and which version each label names."""

    name: str
    versions: int
    labels: dict[str, int]
    created_at: dt.datetime
    updated_at: dt.datetime


def push_prompt(
    engine: Engine, content: PromptContent, *, label: str | None = None, default_label: str | None = None
) -> Pushed:
    """Store ``content`` as the prompt's next version, unless a version already holds it (then that one
    is returned, ``created`` False). ``label`` is moved to the version; ``default_label`` only when the
    prompt has no such label yet (``chatdash init``: production for a new prompt, never moved later)."""
    for name in (label, default_label):
        if name is not None:
            _movable(name)
    digest = content.content_hash()
    for attempt in range(_ATTEMPTS):
        try:
            with _session(engine) as session:
                prompt = session.scalar(select(PromptRow).where(PromptRow.name == content.name))
                if prompt is None:
                    prompt = PromptRow(name=content.name)
                    session.add(prompt)
                    session.flush()
                row = session.scalar(
                    select(VersionRow).where(
                        VersionRow.prompt_id == prompt.id, VersionRow.content_hash == digest
                    )
                )
                created = row is None
                moved: list[str] = []
                if row is None:
                    newest = session.scalar(
                        select(func.max(VersionRow.version)).where(VersionRow.prompt_id == prompt.id)
                    )
                    row = VersionRow(
                        prompt_id=prompt.id,
                        version=(newest or 0) + 1,
                        text=content.text,
                        messages=_messages_json(content.messages),
                        variables=json.dumps(list(content.variables or ())),
                        params=json.dumps(content.params, sort_keys=True),
                        content_hash=digest,
                    )
                    session.add(row)
                    session.flush()
                    moved.append(_set_label(session, prompt.id, LATEST, row.id))
                if label is not None:
                    moved.append(_set_label(session, prompt.id, label, row.id))
                if default_label is not None and _label(session, prompt.id, default_label) is None:
                    moved.append(_set_label(session, prompt.id, default_label, row.id))
                result = _version(session, content.name, row)
        except IntegrityError as exc:  # a concurrent push of the same prompt won: read again
            if attempt == _ATTEMPTS - 1:
                raise Conflict(f"prompt {content.name!r} is being pushed concurrently; try again") from exc
            continue
        _changed(engine, content.name)
        return Pushed(result, created, tuple(moved))
    raise AssertionError("unreachable")


def get_prompt(engine: Engine, ref: str | PromptRef) -> PromptVersion:
    """The version ``ref`` names: ``name@label``, ``name@3``, or ``name`` (production, else latest)."""
    parsed = parse_ref(ref)
    with _session(engine) as session:
        prompt = _prompt(session, parsed.name)
        if parsed.version is not None:
            row = session.scalar(
                select(VersionRow).where(
                    VersionRow.prompt_id == prompt.id, VersionRow.version == parsed.version
                )
            )
            if row is None:
                newest = session.scalar(
                    select(func.max(VersionRow.version)).where(VersionRow.prompt_id == prompt.id)
                )
                raise PromptNotFound(f"prompt {parsed.name!r} has no version {parsed.version} (1..{newest})")
            return _version(session, parsed.name, row)
        wanted = [parsed.label] if parsed.label else [PRODUCTION, LATEST]
        for name in wanted:
            found = _label(session, prompt.id, name)
            if found is not None:
                return _version(session, parsed.name, session.get_one(VersionRow, found.version_id))
        labels = ", ".join(f"{k} (v{v})" for k, v in sorted(_labels(session, prompt.id).items())) or "none"
        raise PromptNotFound(f"prompt {parsed.name!r} has no label {wanted[0]!r}; its labels: {labels}")


def promote(engine: Engine, name: str, version: int, label: str) -> PromptVersion:
    """Point ``label`` of prompt ``name`` at ``version`` (creating the label if new)."""
    _movable(label)
    with _session(engine) as session:
        prompt = _prompt(session, check_name(name))
        row = session.scalar(
            select(VersionRow).where(VersionRow.prompt_id == prompt.id, VersionRow.version == version)
        )
        if row is None:
            raise PromptNotFound(f"prompt {name!r} has no version {version}")
        _set_label(session, prompt.id, label, row.id)
        result = _version(session, name, row)
    _changed(engine, name)
    return result


def list_prompts(engine: Engine) -> list[PromptInfo]:
    """Every prompt by name, with its version count and labels."""
    with _session(engine) as session:
        counts = {
            prompt_id: count
            for prompt_id, count in session.execute(
                select(VersionRow.prompt_id, func.count()).group_by(VersionRow.prompt_id)
            )
        }
        infos = []
        for prompt in session.scalars(select(PromptRow).order_by(PromptRow.name)):
            rows = session.scalars(select(LabelRow).where(LabelRow.prompt_id == prompt.id)).all()
            updated = max((r.updated_at for r in rows), default=prompt.created_at)
            infos.append(
                PromptInfo(
                    prompt.name,
                    counts.get(prompt.id, 0),
                    _labels(session, prompt.id),
                    prompt.created_at,
                    updated,
                )
            )
        return infos


def prompt_versions(engine: Engine, name: str) -> list[PromptVersion]:
    """Every version of a prompt, oldest first."""
    with _session(engine) as session:
        prompt = _prompt(session, check_name(name))
        rows = session.scalars(
            select(VersionRow).where(VersionRow.prompt_id == prompt.id).order_by(VersionRow.version)
        )
        return [_version(session, name, row) for row in rows]


def diff_versions(engine: Engine, name: str, old: int, new: int) -> str:
    """A unified diff of two versions' text (messages as ``[role]`` sections); "" when they are equal."""
    first = get_prompt(engine, PromptRef(name, version=old))
    second = get_prompt(engine, PromptRef(name, version=new))
    lines = difflib.unified_diff(
        first.document.splitlines(keepends=True),
        second.document.splitlines(keepends=True),
        fromfile=first.ref,
        tofile=second.ref,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- helpers -------------------------------------------------------------------------------------


@contextmanager
def _session(engine: Engine) -> Iterator[Session]:
    with translate_errors(engine), session_factory(engine).begin() as session:
        yield session


def _changed(engine: Engine, name: str) -> None:
    for listener in list(on_change):
        listener(engine, name)


def _movable(label: str) -> None:
    check_label(label)
    if label == LATEST:
        raise PromptError("the label 'latest' always names the newest version: it cannot be moved")


def _prompt(session: Session, name: str) -> PromptRow:
    prompt = session.scalar(select(PromptRow).where(PromptRow.name == name))
    if prompt is None:
        known = session.scalars(select(PromptRow.name).order_by(PromptRow.name).limit(20)).all()
        raise PromptNotFound(
            f"no prompt {name!r}; the registry has: {', '.join(known) or 'none (run `chatdash init`)'}",
            prompt_exists=False,
        )
    return prompt


def _label(session: Session, prompt_id: int, label: str) -> LabelRow | None:
    return session.get(LabelRow, (prompt_id, label))


def _labels(session: Session, prompt_id: int) -> dict[str, int]:
    query = (
        select(LabelRow.label, VersionRow.version)
        .join(VersionRow, VersionRow.id == LabelRow.version_id)
        .where(LabelRow.prompt_id == prompt_id)
    )
    return {label: version for label, version in session.execute(query)}


def _set_label(session: Session, prompt_id: int, label: str, version_id: int) -> str:
    now = dt.datetime.now(dt.UTC)
    row = _label(session, prompt_id, label)
    if row is None:
        session.add(LabelRow(prompt_id=prompt_id, label=label, version_id=version_id, updated_at=now))
    elif row.version_id != version_id:
        row.version_id, row.updated_at = version_id, now
    session.flush()
    return label


def _messages_json(messages: tuple[PromptMessage, ...] | None) -> str | None:
    return None if messages is None else json.dumps([m.model_dump() for m in messages])


def _version(session: Session, name: str, row: VersionRow) -> PromptVersion:
    labels = sorted(
        label for label, version in _labels(session, row.prompt_id).items() if version == row.version
    )
    messages = None
    if row.messages is not None:
        messages = tuple(PromptMessage.model_validate(m) for m in json.loads(row.messages))
    return PromptVersion(
        name=name,
        version=row.version,
        text=row.text,
        messages=messages,
        variables=tuple(json.loads(row.variables)),
        params=json.loads(row.params),
        content_hash=row.content_hash,
        created_at=row.created_at,
        labels=tuple(labels),
    )
