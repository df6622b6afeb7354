"""What every command shares: consoles, settings, the engine, and errors turned into messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from chatdash.config import get_settings
from chatdash.db.engine import get_engine
from chatdash.errors import ChatdashError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, piped or not

P = ParamSpec("P")
R = TypeVar("R")


def edge(command: Callable[P, R]) -> Callable[P, R]:
    """Show chatdash errors as one clear message (exit 1) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ChatdashError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def engine() -> Engine:
    return get_engine(get_settings())
