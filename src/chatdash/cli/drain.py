"""``DrainingServer``: uvicorn's server, with SIGTERM meaning "finish what you are doing, then stop".

uvicorn stops listening the moment it gets SIGTERM, so a load balancer's next health check meets a
closed port, and the replies being written are cut at the app's shutdown. Here the first SIGTERM runs
the app's drain instead, while the server keeps answering (``ChatService.drain``: ``/readyz`` 503, new
replies 503 + Retry-After, the running ones get their grace period), and only then does the server stop
as uvicorn stops it: no new connections, the open requests get ``FLUSH_SECONDS``, the app's shutdown.
Another signal during the drain (a second SIGTERM, Ctrl-C) stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5
"""uvicorn's ``timeout_graceful_shutdown``: once the drain is over (at once on Ctrl-C), how long the
requests still open (a stream sending its last event, a download) may take before they are cancelled and
the app's shutdown saves any reply still running ``stopped``. A SIGTERM'd process exits within about
``CHATDASH_SHUTDOWN_GRACE_SECONDS`` + this: keep the orchestrator's kill timeout above the sum."""


class DrainingServer(uvicorn.Server):
    """See the module docstring; ``drain`` is the app's (it returns when the replies have ended)."""

    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self._drain_requested = False

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first_term = sig == signal.SIGTERM and not self._drain_requested and not self.should_exit
        if first_term and self._loop is not None:
            # In a signal handler: only schedule the drain on the event loop this signal interrupted.
            self._drain_requested = True
            self._loop.call_soon_threadsafe(self._start_drain)
            return
        super().handle_exit(sig, frame)

    def _start_drain(self) -> None:
        self._drain_task = asyncio.ensure_future(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        try:
            await self._drain()
        except Exception:  # whatever failed, the server must still stop
            log.exception("the drain failed; stopping now")
        finally:
            super().handle_exit(signal.SIGTERM, None)
