"""Rendering prompt templates in Jinja2's immutable sandbox.

Templates are configuration (a pipeline file, a registry version); what users and the data supply
(the message, figures, recalled text) only enters as *variables*, which are values, never compiled,
so ``{{ 7*7 }}`` typed by a user stays those characters. The sandbox refuses private attributes
(``''.__class__.__mro__``) and methods that change their object; with ``StrictUndefined`` a
variable that is not given is an error naming it rather than an empty string in the prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from chatdash.errors import PromptError

_environment = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@lru_cache(maxsize=512)
def compile_template(source: str) -> Template:
    """The compiled template (cached by its text: versions are immutable, so the text is the key)."""
    try:
        return _environment.from_string(source)
    except TemplateSyntaxError as exc:
        raise PromptError(f"template does not compile: {exc.message} (line {exc.lineno})") from None


def template_variables(source: str) -> set[str]:
    """The names a template reads from its variables (not those it sets itself)."""
    try:
        return set(meta.find_undeclared_variables(_environment.parse(source)))
    except TemplateSyntaxError as exc:
        raise PromptError(f"template does not compile: {exc.message} (line {exc.lineno})") from None


def render_template(source: str, variables: Mapping[str, Any], where: str) -> str:
    """``source`` rendered with ``variables``; ``PromptError`` (naming ``where``) for a missing variable
    or anything the sandbox refuses."""
    template = compile_template(source)
    try:
        return template.render(dict(variables))
    except SecurityError as exc:
        raise PromptError(f"{where}: the template sandbox refused it: {exc}") from None
    except UndefinedError as exc:
        raise PromptError(f"{where}: a variable is missing: {exc.message}") from None
    except TemplateError as exc:
        raise PromptError(f"{where}: cannot be rendered: {exc.message}") from None
