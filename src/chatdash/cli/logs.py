"""The process's logging, set up once by the command that serves (``chatdash serve``).

Every record goes through the standard library's ``logging`` (chatdash's modules, uvicorn, the libraries)
to one handler on standard error, whose formatter is structlog's ``ProcessorFormatter``: it adds the
time, the level, the logger's name, the fields a record carries (``extra=``: the request line's
``method``, ``path``, ``status``...) and the request id bound while a request runs (structlog's
contextvars, see ``chatdash.chat.observe``), then renders a JSON object per line
(``CHATDASH_LOG_FORMAT=json``) or a readable line (``console``). structlog's own loggers, should a module
use one, end in the same handler. Library code never configures logging: only this entry point does.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from chatdash.config import Settings

CHATTY = ("httpx", "httpcore", "openai", "urllib3", "qdrant_client", "multipart")
"""Libraries that log every request they make at INFO: quiet unless ``CHATDASH_LOG_LEVEL=DEBUG``."""


def log_format(settings: Settings, stream: TextIO | None = None) -> str:
    """``CHATDASH_LOG_FORMAT``, or unset: ``console`` for a person at a terminal in development, ``json``
    for everything else (production, containers, a file, a log collector)."""
    if settings.log_format:
        return settings.log_format
    stream = stream or sys.stderr
    tty = getattr(stream, "isatty", lambda: False)()
    return "console" if tty and settings.environment == "development" else "json"


def configure(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (standard error) at ``CHATDASH_LOG_LEVEL``, rendered in the
    format of ``log_format``; replaces the root logger's handlers. Returns the handler (tests read it)."""
    stream = stream or sys.stderr
    fmt = log_format(settings, stream)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        _drop_colored_copy,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)  # the traceback as one string field
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=getattr(stream, "isatty", lambda: False)())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    quiet = logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler


def _drop_colored_copy(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """uvicorn adds a copy of some messages with terminal colour codes (``color_message``): not a field."""
    event.pop("color_message", None)
    return event
