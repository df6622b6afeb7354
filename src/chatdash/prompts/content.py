"""What a prompt is: content to push (``PromptContent``, usually read from a TOML file), the stored
immutable ``PromptVersion`` that renders it, and references such as ``chat-system@production``.

A prompt file::

    name = "chat-system"
    variables = ["figures", "sales"]   # optional: the names the template reads, found when left out
    text = \"\"\"You are ... {{ figures }}\"\"\"
    # or, instead of text, chat messages (each content is a template):
    # [[messages]]
    # role = "system"
    # content = "..."
    [params]                            # optional model parameters, stored with the version
    temperature = 0.2

The content hash covers text or messages, variables and params: pushing content that is already a
version of the prompt makes no new version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from chatdash.errors import PromptError
from chatdash.prompts.render import render_template, template_variables

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
LATEST = "latest"
PRODUCTION = "production"


class PromptMessage(BaseModel):
    """One chat message of a prompt: a role and its content (a template before rendering)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class PromptContent(BaseModel):
    """A prompt's content as pushed: checked (name, templates compile, every variable a template reads
    is declared) before anything is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    text: str | None = None
    messages: tuple[PromptMessage, ...] | None = None
    variables: tuple[str, ...] | None = None
    """Declared variables; None: the names the templates read."""
    params: dict[str, Any] = {}
    """Model parameters stored with the version (temperature, max_tokens ...)."""

    @model_validator(mode="after")
    def _valid(self) -> PromptContent:
        try:
            return self._checked()
        except PromptError as exc:  # pydantic reports ValueErrors with the others
            raise ValueError(str(exc)) from None

    def _checked(self) -> PromptContent:
        check_name(self.name)
        if (self.text is None) == (self.messages is None):
            raise ValueError("give the prompt either text or messages (not both)")
        if self.messages is not None and not self.messages:
            raise ValueError("messages is empty")
        used: set[str] = set()
        for source in self.templates():
            used |= template_variables(source)
        if self.variables is None:
            object.__setattr__(self, "variables", tuple(sorted(used)))
        elif undeclared := used - set(self.variables):
            raise ValueError(
                f"the template reads {', '.join(sorted(undeclared))}, which variables does not declare"
            )
        else:
            object.__setattr__(self, "variables", tuple(sorted(set(self.variables))))
        try:
            json.dumps(self.params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params must be plain JSON values: {exc}") from None
        return self

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str = "the prompt") -> PromptContent:
        """Content from a mapping; ``PromptError`` naming ``source`` and every problem."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            reasons = []
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    message = "unknown key (allowed: name, text, messages, variables, params)"
                reasons.append(f"{where}: {message}" if where else message)
            raise PromptError(f"{source}: {'; '.join(reasons)}") from None

    def templates(self) -> list[str]:
        return [self.text] if self.text is not None else [m.content for m in self.messages or ()]

    def content_hash(self) -> str:
        return content_hash(self.text, self.messages, self.variables or (), self.params)


def content_hash(
    text: str | None,
    messages: tuple[PromptMessage, ...] | None,
    variables: tuple[str, ...],
    params: Mapping[str, Any],
) -> str:
    body = {
        "text": text,
        "messages": [m.model_dump() for m in messages] if messages is not None else None,
        "variables": sorted(variables),
        "params": params,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_prompt_file(path: Path) -> PromptContent:
    """A prompt file (TOML, see the module docstring); ``PromptError`` names the file and the problem."""
    if path.suffix != ".toml":
        raise PromptError(f"{path}: expected a .toml prompt file (name, text or messages, variables, params)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PromptError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: not valid TOML ({exc})") from None
    return PromptContent.parse(data, str(path))


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise PromptError(
            f"prompt name {name!r}: use 1-100 lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def check_label(label: str) -> str:
    if not LABEL.match(label):
        raise PromptError(
            f"label {label!r}: use 1-64 lower-case letters, digits, '_' or '-', starting with a letter "
            "(a number would read as a version)"
        )
    return label


@dataclass(frozen=True, slots=True)
class PromptRef:
    """``name``, ``name@label`` or ``name@3``. No label and no version: ``production``, else ``latest``."""

    name: str
    label: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.label}" if self.label else self.name


def parse_ref(ref: str | PromptRef) -> PromptRef:
    """``PromptRef`` of ``ref``; ``PromptError`` for one that cannot be a prompt reference."""
    if isinstance(ref, PromptRef):
        return ref
    name, at, after = ref.strip().partition("@")
    check_name(name)
    if not at:
        return PromptRef(name)
    if after.isdigit() and int(after) >= 1:
        return PromptRef(name, version=int(after))
    return PromptRef(name, label=check_label(after))


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a prompt, as read from the registry (``version`` 0: a shipped file that
    is not in the registry yet). ``labels`` are those pointing at it when it was read."""

    name: str
    version: int
    text: str | None
    messages: tuple[PromptMessage, ...] | None
    variables: tuple[str, ...]
    params: Mapping[str, Any]
    content_hash: str
    created_at: dt.datetime | None = None
    labels: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def document(self) -> str:
        """The text, or the messages as ``[role]`` sections: what ``show`` prints and ``diff`` compares."""
        if self.text is not None:
            return self.text
        return "\n".join(f"[{m.role}]\n{m.content}" for m in self.messages or ())

    def render(self, variables: Mapping[str, Any]) -> str:
        """The text rendered with ``variables``; a messages prompt is an error (``render_messages``)."""
        if self.text is None:
            raise PromptError(f"{self.ref} is chat messages, not text: render it as messages")
        self._check_given(variables)
        return render_template(self.text, variables, self.ref)

    def render_messages(self, variables: Mapping[str, Any]) -> list[PromptMessage]:
        """The messages rendered with ``variables``; a text prompt is one system message."""
        if self.text is not None:
            return [PromptMessage(role="system", content=self.render(variables))]
        self._check_given(variables)
        return [
            PromptMessage(role=m.role, content=render_template(m.content, variables, self.ref))
            for m in self.messages or ()
        ]

    def _check_given(self, variables: Mapping[str, Any]) -> None:
        missing = [name for name in self.variables if name not in variables]
        if missing:
            raise PromptError(
                f"{self.ref} needs the variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}, "
                f"which {'were' if len(missing) > 1 else 'was'} not given"
            )
