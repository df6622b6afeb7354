"""`chatdash dashboard`: serve the Streamlit sales dashboard.

The process becomes `streamlit run` (``exec``, through ``chatdash.dashboard.launch`` so that Ctrl-C
is a clean stop), so SIGTERM from a supervisor and the exit status behave as Streamlit's own; there
is no parent left to forward signals. Headless, no usage
statistics, no file watcher: a server, not a development session.
"""

from __future__ import annotations

import os
import re
import sys

import typer

from chatdash.cli.common import console, edge
from chatdash.config import get_settings
from chatdash.dashboard import SERVER_PATH

_BASE_PATH = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")


def base_path_of(value: str) -> str:
    """``'/dashboard/'`` -> ``'dashboard'`` (Streamlit's ``server.baseUrlPath``); ``''`` or ``'/'``: none."""
    cleaned = value.strip().strip("/")
    if cleaned and not _BASE_PATH.match(cleaned):
        raise typer.BadParameter(f"{value!r} is not a URL path like /dashboard")
    return cleaned


def streamlit_command(host: str, port: int, base_path: str) -> list[str]:
    """The `python -m streamlit run` command line for the dashboard's server."""
    return [
        sys.executable,
        "-m",
        "chatdash.dashboard.launch",  # `streamlit run`, with Ctrl-C a clean stop
        "run",
        str(SERVER_PATH),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.baseUrlPath",
        base_path,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def url_of(host: str, port: int, base_path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"{base_path}/" if base_path else "")


@edge
def dashboard(
    port: int = typer.Option(8501, min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    base_path: str = typer.Option(
        "", help="URL prefix when served behind a proxy, e.g. /dashboard (nginx); default: none."
    ),
) -> None:
    """Serve the sales dashboard (Streamlit); prints its URL, Ctrl-C stops it."""
    get_settings()  # a wrong CHATDASH_ setting stops here with its message, not in the page
    prefix = base_path_of(base_path)
    url = url_of(host, port, prefix)
    console.print(
        f"dashboard: {url}  (health check: {url}_stcore/health; Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    command = streamlit_command(host, port, prefix)
    os.execv(command[0], command)
