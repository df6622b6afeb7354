"""The prompt registry: named prompts with numbered immutable versions and labels, rendered in
Jinja2's sandbox.

Typical use::

    from chatdash.prompts import get_prompt, promote, push_prompt, read_prompt_file, resolver_for

    pushed = push_prompt(engine, read_prompt_file(Path("chat-system.toml")))   # v2, or the same v1
    promote(engine, "chat-system", pushed.version.version, "production")
    version = resolver_for(engine, settings.prompt_cache_seconds).get("chat-system@production")
    system = version.render({"figures": "...", "sales": None, "documents": [], "memories": []})

References: ``name@label``, ``name@3``, or ``name`` (production, else latest). ``latest`` always names
the newest version. Variables are data: nothing a user types is ever compiled as a template. Errors:
``PromptError`` (a template that does not compile, a missing variable, a sandbox refusal) and
``PromptNotFound`` (unknown name, version or label), both from ``chatdash.errors``.
"""

from chatdash.errors import PromptError, PromptNotFound
from chatdash.prompts.content import (
    LATEST,
    PRODUCTION,
    PromptContent,
    PromptMessage,
    PromptRef,
    PromptVersion,
    parse_ref,
    read_prompt_file,
)
from chatdash.prompts.render import compile_template, render_template
from chatdash.prompts.resolver import PromptHealth, Resolver, StaleNotice, prompt_health, resolver_for
from chatdash.prompts.shipped import install_shipped, shipped_prompts, shipped_version
from chatdash.prompts.store import (
    PromptInfo,
    Pushed,
    diff_versions,
    get_prompt,
    list_prompts,
    promote,
    prompt_versions,
    push_prompt,
)

__all__ = [
    "LATEST",
    "PRODUCTION",
    "PromptContent",
    "PromptError",
    "PromptHealth",
    "PromptInfo",
    "PromptMessage",
    "PromptNotFound",
    "PromptRef",
    "PromptVersion",
    "Pushed",
    "Resolver",
    "StaleNotice",
    "compile_template",
    "diff_versions",
    "get_prompt",
    "install_shipped",
    "list_prompts",
    "parse_ref",
    "promote",
    "prompt_health",
    "prompt_versions",
    "push_prompt",
    "read_prompt_file",
    "render_template",
    "resolver_for",
    "shipped_prompts",
    "shipped_version",
]
