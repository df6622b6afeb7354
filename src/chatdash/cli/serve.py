"""`chatdash serve`: the chat app and its APIs under uvicorn.

``--role`` picks what this process serves (see ``chatdash.chat.app``), so the published split
deployment (a data API on 8001, a UI on 8000) and the single process run the same code.

Logs go to standard error as JSON lines or readable ones (``chatdash.cli.logs``); uvicorn's access log
is off, the app logs each request itself, with its id. SIGTERM (Kubernetes, ``docker stop``, ``chatdash
stack``) drains first (``chatdash.cli.drain``): ``/readyz`` answers 503 at once, new replies get 503 +
Retry-After, and the replies being written get ``CHATDASH_SHUTDOWN_GRACE_SECONDS`` to finish; then
uvicorn stops as usual. Ctrl-C (SIGINT), or a second SIGTERM, stops at once: running replies are saved
``stopped``.
"""

from __future__ import annotations

import contextlib

import typer

from chatdash.cli.common import console, edge
from chatdash.config import get_settings

ROLE_HELP = "all: everything; db-api: the data API only; ui: the user-facing side."


@edge
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port (8001 is the convention for db-api)."),
    role: str = typer.Option("all", help=ROLE_HELP),
) -> None:
    """Serve the chat app and its APIs (OpenAPI docs at /docs) until interrupted."""
    import uvicorn

    from chatdash.chat.app import KEEP_ALIVE_SECONDS, ROLES, create_app
    from chatdash.cli import logs
    from chatdash.cli.drain import FLUSH_SECONDS, DrainingServer
    from chatdash.db.engine import get_engine
    from chatdash.db.migrate import upgrade

    if role not in ROLES:
        raise typer.BadParameter(f"expected one of {', '.join(ROLES)}", param_hint="--role")
    settings = get_settings()
    settings.check_production(role)  # every problem at once, before the database is touched
    logs.configure(settings)
    upgrade(get_engine(settings))  # the chat tables must exist; safe on every start
    app = create_app(settings, role)  # checked against ROLES above
    console.print(f"chatdash {role}: http://{host}:{port}/  (API docs: /docs; Ctrl-C stops)", highlight=False)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # logging is ours (logs.configure): uvicorn's records end in the same handler
        log_level=settings.log_level.lower(),
        access_log=False,  # the app logs each request itself (chatdash.chat.observe)
        proxy_headers=bool(settings.trusted_proxies),  # the client address is the proxy's word only
        forwarded_allow_ips=settings.trusted_proxies or None,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=FLUSH_SECONDS,
    )
    server = DrainingServer(config, lambda: app.state.chat.drain(settings.shutdown_grace_seconds))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, re-raised by uvicorn once stopped: a clean exit
        server.run()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's own status when it cannot start (the port is taken...)
