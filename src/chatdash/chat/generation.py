"""Replies owned by the server, not by the request that asked for them.

A reply runs as an ``asyncio`` task registered under its message id. Its text is saved to the
repository (the database, or the data API) every ``PERSIST_EVERY`` seconds, in the background, so a
page reloaded mid-reply shows the partial text and a slow database never holds up the stream; any
number of readers can ``follow`` it (each gets the text so far, then the new deltas), and leaving
does not stop it. ``stop`` cancels the task, which closes the model's stream (the model really
stops) and saves what was written with status ``stopped``.

Each reply is leased to this process (see ``SqlRepository``): its saves and a heartbeat every third of
the lease keep it ours, so if the process dies every reader sees the reply ``stopped`` one lease later
and may retry it. A partial save that fails is skipped (the next one carries the text); the final save
is retried until the database is back, for up to ``FINAL_SAVE_RETRY_SECONDS``.

The registry is per process: with several replicas a reader on another replica follows the saved
text instead of the live deltas (``ChatService.follow`` reads it again every second).

Shutting down (``chatdash serve`` on SIGTERM) first drains: ``admit`` refuses new replies with
``ShuttingDown`` (503 + Retry-After) and ``drain`` gives the running ones a grace period to end before
``shutdown`` stops the rest. A reply's task runs in the context of the request that started it, so its
log records carry that request's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import structlog

from chatdash.chat.repository import ChatRepository
from chatdash.chat.responder import ReplyDone, ReplyRequest, Responder
from chatdash.errors import ChatdashError, ShuttingDown, Unavailable
from chatdash.tracing import new_trace_id, run_trace

if TYPE_CHECKING:
    from chatdash.tracing import TraceWriter

log = logging.getLogger(__name__)

PERSIST_EVERY = 0.5
"""Seconds between saves of a streaming reply's partial text."""
CANCEL_EVERY = 0.05
"""Seconds between a stop's cancels of a reply until one is taken (see ``Generations.stop``)."""
DRAIN_POLL_SECONDS = 0.05
"""How often a drain looks whether the replies it waits for have ended."""
FINAL_SAVE_RETRY_SECONDS = 120.0
"""How long a reply's final save is retried while its database (or the data API) is unavailable; after
that the reply's lease runs out and it reads as ``stopped`` with the text last saved."""


@dataclass
class Generation:
    """One reply being written: its text so far and, once over, how it ended."""

    message_id: int
    chat_id: str
    user_id: int
    trace_id: str | None = None
    """The reply's trace (None with tracing off)."""
    parts: list[str] = field(default_factory=list)
    status: str = "streaming"
    error: BaseException | None = None
    done: ReplyDone | None = None
    task: asyncio.Task[None] | None = None
    stopping: bool = False
    ending: bool = False
    """The reply's task is saving how it ended (a stop's cancel taken, or an error)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def finished(self) -> bool:
        return self.status != "streaming"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self) -> AsyncIterator[str]:
        """The text so far as one delta, then each new delta until the reply ends."""
        sent = 0
        while True:
            changed = self._changed
            if len(self.parts) > sent:
                chunk, sent = "".join(self.parts[sent:]), len(self.parts)
                yield chunk
                continue
            if self.finished:
                return
            await changed.wait()

    async def started(self, timeout: float) -> None:
        """Until the first delta arrives or the reply ends, at most ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.parts and not self.finished:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):  # not wait_for, which may drop a cancel on 3.11
                    await self._changed.wait()

    async def wait(self) -> None:
        """Until the reply has ended (completed, stopped or failed)."""
        while not self.finished:
            await self._changed.wait()


class Generations:
    """The replies this process is writing, by message id."""

    def __init__(
        self,
        repository: ChatRepository,
        responder: Responder,
        *,
        persist_every: float = PERSIST_EVERY,
        lease: float = 15.0,
        final_save_retry: float = FINAL_SAVE_RETRY_SECONDS,
        traces: TraceWriter | None = None,
    ) -> None:
        self.repository = repository
        self.responder = responder
        self.traces = traces
        self.persist_every = persist_every
        self.lease = lease
        self.final_save_retry = final_save_retry
        self.closing = False
        self.draining = False
        self._admitting = 0
        self._running: dict[int, Generation] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    def get(self, message_id: int) -> Generation | None:
        return self._running.get(message_id)

    @property
    def running(self) -> int:
        """How many replies this process is writing now."""
        return sum(1 for g in self._running.values() if not g.finished)

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Around storing a turn whose reply starts here: ``ShuttingDown`` while the process drains; a drain
        waits for the replies admitted before it as for the running ones."""
        if self.draining:
            raise ShuttingDown("this server is shutting down and starts no new reply; send it again")
        self._admitting += 1
        try:
            yield
        finally:
            self._admitting -= 1

    async def drain(self, grace: float) -> tuple[int, int]:
        """Start no new reply (``admit``) and give the replies running here, and those admitted, up to
        ``grace`` seconds to end; then stop the rest as ``shutdown`` does (each saved ``stopped``).
        Returns how many ended on their own and how many were stopped."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        seen = set(self._running)
        while (self._running or self._admitting) and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
            seen.update(self._running)
        left = len(self._running)
        if left:
            await self.shutdown()
        return len(seen) - left, left

    def running_in(self, user_id: int, chat_id: str) -> bool:
        return any(
            g.chat_id == chat_id and g.user_id == user_id and not g.finished for g in self._running.values()
        )

    def start(self, request: ReplyRequest, message_id: int) -> Generation:
        gen = Generation(message_id, request.chat_id, request.user_id)
        gen.trace_id = new_trace_id() if self.traces is not None else None
        self._running[message_id] = gen
        gen.task = asyncio.create_task(self._run(gen, request), name=f"reply-{message_id}")
        if self._heartbeat is None or self._heartbeat.done():
            # serves every reply: not in the context (the request id) of the one that started it
            unbound = contextvars.copy_context()
            unbound.run(structlog.contextvars.clear_contextvars)
            self._heartbeat = asyncio.create_task(self._renew_leases(), name="reply-leases", context=unbound)
        return gen

    async def stop(self, message_id: int) -> bool:
        """Cancel a running reply and wait until its partial text is saved; False if none runs here.

        A cancel can be lost: one that lands while the reply awaits a worker thread (a partial save, a
        pipeline step) is swallowed by anyio's shielded scope, and the reply then runs to its end. So
        the reply is cancelled again every ``CANCEL_EVERY`` seconds until it is ending (``gen.ending``);
        after that, further cancels (a double click, a delete, shutdown, a stopper
        whose client left) would only cut its final save short, so stoppers just wait, with
        ``asyncio.wait``, which never passes their own cancellation on to the reply."""
        gen = self._running.get(message_id)
        if gen is None or gen.task is None or gen.finished:
            return False
        gen.stopping, writing = True, gen.done is None  # done: the model has finished writing it
        while not gen.ending and not gen.task.done():
            gen.task.cancel()
            await asyncio.wait({gen.task}, timeout=CANCEL_EVERY)
        await asyncio.wait({gen.task})
        if writing and gen.status == "complete":
            log.warning("reply %s: stopped while the model wrote it, but it ran to its end", message_id)
        return True

    async def shutdown(self) -> None:
        """Stop every reply (process exit): each keeps its text with status ``stopped`` (one try each:
        a reply whose save fails reads as ``stopped`` anyway when its lease expires)."""
        self.closing = True
        for message_id in list(self._running):
            await self.stop(message_id)
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    async def _renew_leases(self) -> None:
        """While replies run here, renew their leases every third of the lease, in one call. A failed
        renewal is logged and tried again: the replies go on, and their leases expire only if it keeps
        failing (then readers elsewhere see them ``stopped``)."""
        failing = False
        while self._running:
            await asyncio.sleep(self.lease / 3)
            replies = [(g.user_id, g.chat_id, g.message_id) for g in self._running.values() if not g.finished]
            try:
                await anyio.to_thread.run_sync(self.repository.renew_leases, replies)
            except ChatdashError as exc:
                if not failing:
                    log.warning("could not renew the leases of %d replies: %s", len(replies), exc)
                failing = True
            else:
                failing = False

    async def _run(self, gen: Generation, request: ReplyRequest) -> None:
        save = functools.partial(
            self.repository.save_reply, gen.user_id, gen.chat_id, gen.message_id, trace_id=gen.trace_id
        )
        saves = _Saves(save, gen.message_id, self._retry_until)
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        first: float | None = None
        last_save = time.monotonic()
        partial: asyncio.Future[str] | None = None
        try:
            async for item in self.responder.reply(request):
                if isinstance(item, ReplyDone):
                    gen.done = item
                    continue
                if first is None:
                    first = time.perf_counter()
                gen.parts.append(item)
                gen._notify()
                if partial is not None and partial.done():
                    partial.result()  # a save that failed for good (not "unavailable") ends the reply
                    partial = None
                if partial is None and time.monotonic() - last_save >= self.persist_every:
                    # in the background: a slow or unreachable database never holds up the stream
                    last_save = time.monotonic()
                    partial = asyncio.ensure_future(anyio.to_thread.run_sync(saves, gen.text, "streaming"))
            tokens = (gen.done.prompt_tokens, gen.done.completion_tokens) if gen.done else None
            sources = gen.done.sources if gen.done else None
            answer = gen.done.answer if gen.done else None
            await anyio.to_thread.run_sync(
                functools.partial(saves, gen.text, "complete", tokens=tokens, sources=sources, answer=answer)
            )
            gen.status = "complete"
        except asyncio.CancelledError:
            await _end(gen, saves, "stopped")
        except ChatdashError as exc:
            gen.error = exc
            await _end(gen, saves, "error", error=str(exc) or type(exc).__name__)
        except Exception as exc:  # an unexpected bug must still leave a record, not a stuck "streaming"
            gen.error = exc
            log.exception("reply %s failed with an internal error", gen.message_id)
            await _end(gen, saves, "error", error=f"internal error: {type(exc).__name__}")
        finally:
            if partial is not None:
                partial.add_done_callback(_retrieved)
            self._running.pop(gen.message_id, None)
            gen._notify()
            self._trace(gen, request, started, clock, first)

    def _trace(
        self, gen: Generation, request: ReplyRequest, started: dt.datetime, clock: float, first: float | None
    ) -> None:
        """Hand the reply's trace to the background writer (which drops rather than waits when full)."""
        if self.traces is None or gen.trace_id is None:
            return
        try:
            self.traces.record(
                run_trace(
                    trace_id=gen.trace_id,
                    source=request.source,
                    pipeline=getattr(self.responder, "pipeline", type(self.responder).__name__),
                    user_id=gen.user_id,
                    chat_id=gen.chat_id,
                    message_id=gen.message_id,
                    input=request.history[-1].content if request.history else "",
                    output=gen.text,
                    status=gen.status,
                    error=(str(gen.error) or type(gen.error).__name__) if gen.error else None,
                    started_at=started,
                    latency_ms=(time.perf_counter() - clock) * 1000,
                    ttft_ms=(first - clock) * 1000 if first is not None else None,
                    spans=request.spans,
                )
            )
        except Exception:  # a trace is an aid: its failure must never touch the reply
            log.exception("reply %s: its trace could not be recorded", gen.message_id)

    def _retry_until(self) -> float:
        """The ``time.monotonic`` until which a final save failing now is retried (none when closing)."""
        return time.monotonic() + (0.0 if self.closing else self.final_save_retry)


class _Saves:
    """A reply's saves, one at a time, none after the one that ended it: a stop cancels the reply while
    a partial save may still be running in a worker thread, and that save must not land last.

    Runs in worker threads. A partial save that finds the store unavailable is skipped; the final one
    is tried again (backing off to 2 s) until ``retry_until()``, then given up with a log line."""

    def __init__(self, save: Callable[..., None], message_id: int, retry_until: Callable[[], float]) -> None:
        self.save = save
        self.message_id = message_id
        self.retry_until = retry_until
        self.lock = threading.Lock()
        self.ended: str | None = None

    def __call__(self, text: str, status: str, **details: Any) -> str:
        """Save ``text`` with ``status`` unless the reply has ended; the status it has in the store."""
        with self.lock:
            if self.ended is not None:
                return self.ended
            if status == "streaming":
                try:
                    self.save(text, status, **details)
                except Unavailable as exc:
                    log.warning("reply %s: partial save skipped: %s", self.message_id, exc)
                return status
            self._save_final(text, status, details)
            self.ended = status
            return status

    def _save_final(self, text: str, status: str, details: dict[str, Any]) -> None:
        deadline, pause = self.retry_until(), 0.25
        while True:
            try:
                self.save(text, status, **details)
                return
            except Unavailable as exc:
                deadline = min(deadline, self.retry_until())  # a shutdown since gives up now
                if time.monotonic() + pause > deadline:
                    log.error(
                        "reply %s ended %s but could not be saved (given up): %s",
                        self.message_id,
                        status,
                        exc,
                    )
                    return
                log.warning(
                    "reply %s ended %s; saving again in %.2f s: %s", self.message_id, status, pause, exc
                )
                time.sleep(pause)
                pause = min(pause * 2, 2.0)


def _retrieved(partial: asyncio.Future[str]) -> None:
    """A partial save still running when its reply ended: its failure is logged, not left unretrieved."""
    if not partial.cancelled() and partial.exception() is not None:
        log.warning("a partial save failed after its reply ended: %s", partial.exception())


async def _end(gen: Generation, saves: _Saves, status: str, error: str | None = None) -> None:
    """Save how the reply ended, in a worker thread (after a partial save still running there) and
    shielded: a later cancel (shutdown) neither loses the save nor ends the reply before it has landed;
    then it has ended, whatever happens."""

    def save() -> str:
        try:
            return saves(gen.text, status, error=error)  # a reply that had already ended keeps its end
        except ChatdashError as exc:  # e.g. the data API is down: logged, readers here are not left waiting
            log.warning("reply %s ended %s but could not be saved: %s", gen.message_id, status, exc)
            return status

    gen.ending = True
    saving = asyncio.ensure_future(anyio.to_thread.run_sync(save))
    ended = status
    try:
        while True:
            try:
                ended = await asyncio.shield(saving)
                break
            except asyncio.CancelledError:
                if saving.done():
                    break
                # a later cancel (a second stop, shutdown): the save goes on, and so does the wait
    finally:
        gen.status = ended
