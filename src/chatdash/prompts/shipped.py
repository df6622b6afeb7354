"""The prompts chatdash ships, as files in ``chatdash/prompts/shipped/``.

``chatdash init`` pushes them (``install_shipped``): an unchanged file makes no new version, and a
prompt new to the registry gets ``production`` on its first version; a later file version is only
pushed (``latest``) and waits for ``chatdash prompts promote``. Before ``init`` has pushed a prompt,
or for a run without a database, the resolver serves the file itself as version 0.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from sqlalchemy import Engine

from chatdash.errors import PromptError, PromptNotFound
from chatdash.prompts.content import PRODUCTION, PromptContent, PromptVersion
from chatdash.prompts.store import Pushed, push_prompt


@lru_cache(maxsize=1)
def shipped_prompts() -> dict[str, PromptContent]:
    """The shipped prompt files by name (each file is named for its prompt)."""
    found: dict[str, PromptContent] = {}
    folder = resources.files("chatdash.prompts").joinpath("shipped")
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".toml"):
            continue
        source = f"chatdash/prompts/shipped/{item.name}"
        content = PromptContent.parse(tomllib.loads(item.read_text(encoding="utf-8")), source)
        if content.name != item.name.removesuffix(".toml"):
            raise PromptError(f"{source}: name {content.name!r} differs from the file's name")
        found[content.name] = content
    return found


def shipped_version(name: str) -> PromptVersion:
    """A shipped prompt as version 0 (not from the registry)."""
    content = shipped_prompts().get(name)
    if content is None:
        raise PromptNotFound(
            f"no prompt {name!r} ships with chatdash (shipped: {', '.join(shipped_prompts())})",
            prompt_exists=False,
        )
    return PromptVersion(
        name=content.name,
        version=0,
        text=content.text,
        messages=content.messages,
        variables=content.variables or (),
        params=dict(content.params),
        content_hash=content.content_hash(),
    )


def install_shipped(engine: Engine) -> list[Pushed]:
    """Push every shipped prompt (idempotent); the first version of a new prompt becomes production."""
    return [push_prompt(engine, content, default_label=PRODUCTION) for content in shipped_prompts().values()]
