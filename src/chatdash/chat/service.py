"""``ChatService``: what the pages, the APIs and the CLI call to chat.

It binds the database (users, API keys), a ``ChatRepository`` for chats and messages (the same
database, or the data API over HTTP in the split deployment: see ``chatdash.chat.repository``), a
``Responder`` and the registry of running replies. ``send`` stores the user's message and an empty
``streaming`` reply in one transaction, then starts the reply on the server and returns at once; callers
``follow`` it (streaming), ``wait`` for it, ``stop`` it or ``retry`` it. A failed model call leaves
both messages stored, the reply with status ``error`` and the error text, so the failure is visible
and retryable.

The repository, ``users`` and ``keys`` are reached through methods so callers hold one object; every
method takes the acting ``user_id`` first. Input rules (a message's length, a title, a rating) are
applied here, once, whichever edge the input came through (a page, an API, the data API, the CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator, Sequence

import anyio.to_thread
from sqlalchemy import Engine

from chatdash.chat import export, keys, users
from chatdash.chat.generation import Generation, Generations
from chatdash.chat.knowledge import Knowledge
from chatdash.chat.repository import (
    ChatRepository,
    SearchHit,
    SqlRepository,
    Turn,
    check_rating,
    check_text,
    clean_comment,
    clean_title,
)
from chatdash.chat.responder import ReplyRequest, Responder, default_responder
from chatdash.config import Settings
from chatdash.db.models import ApiKey, Chat, ChatMessage, Feedback, User
from chatdash.errors import Conflict, InvalidInput
from chatdash.llm import Message
from chatdash.tracing import Source, writer_for

log = logging.getLogger(__name__)

SEARCH_CHARS = 200
"""The longest search a user may type."""
STORE_POLL_SECONDS = 1.0
"""How often a reply written by another process is read again while someone follows it."""


class ChatService:
    """The chat core over one database; one instance per process (it owns the running replies)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        responder: Responder | None = None,
        *,
        repository: ChatRepository | None = None,
    ) -> None:
        self.engine = engine  # users and API keys, and the grounding steps' sales data
        self.settings = settings
        lease = dt.timedelta(seconds=settings.chat_reply_lease_seconds)
        if repository is None:
            repository = SqlRepository(engine, lease=lease)
        self.repository: ChatRepository = repository
        if responder is None:
            responder = default_responder(engine, settings)
        self.responder = responder
        self.traces = writer_for(engine, settings)
        self.generations = Generations(
            self.repository, responder, lease=lease.total_seconds(), traces=self.traces
        )
        self.knowledge = Knowledge(settings)  # what the chat remembers: the memory page and API
        self._starting: set[tuple[int, str | None]] = set()

    # -- users and keys ---------------------------------------------------------------------------
    def sign_up(self, username: str, password: str | None) -> User:
        return users.create_user(self.engine, username, password)

    def sign_in(self, username: str, password: str | None = None) -> User:
        """``open`` mode: the name is enough; otherwise the password must match."""
        if self.settings.auth == "open":
            return users.open_user(self.engine, username)
        return users.authenticate(self.engine, username, password or "")

    def user(self, user_id: int) -> User | None:
        return users.get_user(self.engine, user_id)

    def end_sessions(self, user_id: int) -> None:
        users.end_sessions(self.engine, user_id)

    def create_key(self, user_id: int, name: str) -> keys.NewKey:
        return keys.create_key(self.engine, user_id, name)

    def list_keys(self, user_id: int | None) -> list[ApiKey]:
        return keys.list_keys(self.engine, user_id)

    def revoke_key(self, key_id: int, user_id: int | None = None) -> ApiKey:
        return keys.revoke_key(self.engine, key_id, user_id)

    def verify_key(self, token: str) -> ApiKey:
        return keys.verify_key(self.engine, token)

    # -- chats and messages -----------------------------------------------------------------------
    def check_message(self, text: str) -> None:
        """``InvalidInput`` for a message longer than ``CHATDASH_CHAT_MAX_MESSAGE_CHARS`` or one no
        database can store."""
        check_text(text)
        limit = self.settings.chat_max_message_chars
        if len(text) > limit:
            raise InvalidInput(f"a message may have at most {limit} characters (this one has {len(text)})")

    def check_send(self, text: str, earlier: Sequence[str] = ()) -> None:
        """What ``send`` refuses before it stores anything: any message over the rules, and a new one
        too long for the model to answer (``Responder.check_fits``, in the user's terms). Routes that
        spend a rate limit call it first, so a 422 costs no request."""
        for content in (*earlier, text):
            self.check_message(content)
        self.responder.check_fits(text)

    def create_chat(self, user_id: int, title: str | None = None) -> Chat:
        """A new chat; without a title (or a blank one) it takes one from its first message."""
        return self.repository.create_chat(user_id, clean_title(title) if title and title.strip() else None)

    def chat(self, user_id: int, chat_id: str) -> Chat:
        return self.repository.get_chat(user_id, chat_id)

    def chats(self, user_id: int, *, skip: int = 0, limit: int = 50) -> tuple[list[Chat], int]:
        return self.repository.list_chats(user_id, skip=skip, limit=limit)

    def rename_chat(self, user_id: int, chat_id: str, title: str) -> Chat:
        return self.repository.rename_chat(user_id, chat_id, clean_title(title))

    async def delete_chat(self, user_id: int, chat_id: str) -> None:
        messages, _ = await anyio.to_thread.run_sync(self.repository.list_messages, user_id, chat_id)
        for message in messages:
            await self.generations.stop(message.id)
        await anyio.to_thread.run_sync(self.repository.delete_chat, user_id, chat_id)
        await anyio.to_thread.run_sync(self.responder.forget_chat, user_id, chat_id)

    def messages(
        self, user_id: int, chat_id: str, *, skip: int = 0, limit: int | None = None
    ) -> tuple[list[ChatMessage], int]:
        """The chat's messages in order; a reply still being written here shows its latest text."""
        messages, count = self.repository.list_messages(user_id, chat_id, skip=skip, limit=limit)
        for message in messages:
            gen = self.generations.get(message.id)
            if gen is not None and not gen.finished:
                message.content = gen.text
        return messages, count

    def message(self, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
        message = self.repository.get_message(user_id, chat_id, message_id)
        gen = self.generations.get(message.id)
        if gen is not None and not gen.finished:
            message.content = gen.text
        return message

    def search(self, user_id: int, query: str, *, limit: int = 20) -> list[SearchHit]:
        """The user's chats whose title or messages hold every word of ``query``."""
        check_text(query)
        if len(query) > SEARCH_CHARS:
            raise InvalidInput(
                f"a search may have at most {SEARCH_CHARS} characters (this one has {len(query)})"
            )
        return self.repository.search(user_id, query, limit=limit)

    def export_chat(self, user_id: int, chat_id: str, fmt: export.Format) -> tuple[str, str]:
        """The chat as a file: its name and its text (``chatdash.chat.export``)."""
        chat = self.repository.get_chat(user_id, chat_id)
        messages, _ = self.messages(user_id, chat_id)
        return export.filename(chat, fmt), export.render(chat, messages, fmt)

    def add_message(self, user_id: int, chat_id: str, role: str, content: str) -> ChatMessage:
        """Store a message as given (the data API's "add message"); no reply is generated."""
        self.check_message(content)
        return self.repository.add_message(user_id, chat_id, role, content)

    def add_turn(self, user_id: int, chat_id: str, text: str) -> Turn:
        """Store the user's message and an empty ``streaming`` reply for a writer elsewhere (the data
        API's side of ``send``: the ui that called it writes the reply)."""
        self.check_message(text)
        return self.repository.start_turn(user_id, chat_id, text)

    def reset_turn(self, user_id: int, chat_id: str, message_id: int) -> Turn:
        """Make a reply ``streaming`` and empty again for a writer elsewhere (the data API's side of
        ``retry``), with the history it answers."""
        return self.repository.reset_reply(user_id, chat_id, message_id)

    def update_reply(
        self, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
    ) -> ChatMessage:
        """Change the given fields of a reply (its writer saving text, status, usage, sources)."""
        return self.repository.update_reply(user_id, chat_id, message_id, changes)

    def feedback(
        self,
        user_id: int,
        chat_id: str,
        message_id: int,
        value: float,
        comment: str | None = None,
        kind: str = "thumbs",
    ) -> Feedback:
        """Rate a reply: thumbs (-1 or 1), stars (1 to 5) or a scale (0 to 1), stored with its score in
        [0, 1]; a second rating by the same user replaces the first."""
        return self.repository.set_feedback(
            user_id, chat_id, message_id, check_rating(kind, value), clean_comment(comment)
        )

    def chat_feedback(self, user_id: int, chat_id: str) -> dict[int, Feedback]:
        """The user's feedback on the chat's replies, by message id (shown again on the page)."""
        return self.repository.chat_feedback(user_id, chat_id)

    # -- replies ----------------------------------------------------------------------------------
    async def send(
        self,
        user_id: int,
        chat_id: str | None,
        text: str,
        *,
        earlier: Sequence[Message] = (),
        source: Source = "web",
    ) -> tuple[ChatMessage, Generation]:
        """Store the user's message and start the reply; returns the reply's record (its ``chat_id`` is
        the new chat's when ``chat_id`` is None) and its generation. ``earlier`` messages are stored
        before the user's, as given (``/api/chat`` without a conversation id).

        The storing is one transaction (or, in the split deployment, the data API's requests) in one
        worker thread, so the event loop never waits on the database on the way to the first token."""
        await anyio.to_thread.run_sync(self.check_send, text, [m.content for m in earlier])
        with self._reserved(user_id, chat_id):
            pairs = [(m.role, m.content) for m in earlier]
            turn = await anyio.to_thread.run_sync(self.repository.start_turn, user_id, chat_id, text, pairs)
            return turn.reply, self._start(user_id, turn.chat_id, turn.reply, turn.history, source)

    async def retry(
        self, user_id: int, chat_id: str, message_id: int, *, source: Source = "web"
    ) -> tuple[ChatMessage, Generation]:
        """Write a failed or stopped reply again, from the same history."""
        with self._reserved(user_id, chat_id):
            running = self.generations.get(message_id)  # still ending here: its record is not yet free
            if running is not None and running.user_id == user_id:
                raise Conflict("this reply is still being written; stop it before retrying")
            turn = await anyio.to_thread.run_sync(self.repository.reset_reply, user_id, chat_id, message_id)
            return turn.reply, self._start(user_id, chat_id, turn.reply, turn.history, source)

    async def edit(
        self, user_id: int, chat_id: str, message_id: int, text: str, *, source: Source = "web"
    ) -> tuple[ChatMessage, Generation]:
        """Rewrite one of the user's messages and answer it again; the turns after it are replaced."""
        await anyio.to_thread.run_sync(self.check_send, text)
        with self._reserved(user_id, chat_id):
            turn = await anyio.to_thread.run_sync(
                self.repository.edit_turn, user_id, chat_id, message_id, text
            )
            return turn.reply, self._start(user_id, chat_id, turn.reply, turn.history, source)

    def edit_turn(self, user_id: int, chat_id: str, message_id: int, text: str) -> Turn:
        """``edit``'s storing, for a writer elsewhere (the data API's side of it)."""
        self.check_message(text)
        return self.repository.edit_turn(user_id, chat_id, message_id, text)

    @contextlib.contextmanager
    def _reserved(self, user_id: int, chat_id: str | None) -> Iterator[None]:
        """Refuse a second reply in a chat while one is written or about to start: the check must hold
        across the awaits between it and the reply's start (a double click sends two requests).
        Keyed by owner too, so another user's attempt at the id is left to answer 404. While the process
        drains, nothing is reserved (``ShuttingDown``, 503)."""
        key = (user_id, chat_id)
        with self.generations.admit():
            if chat_id is not None:
                if key in self._starting or self.generations.running_in(user_id, chat_id):
                    raise Conflict("a reply is still being written in this chat; wait for it or stop it")
                self._starting.add(key)
            try:
                yield
            finally:
                self._starting.discard(key)

    async def stop(self, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
        """Stop a reply being written (the model stops too); it keeps its text with status ``stopped``."""
        await anyio.to_thread.run_sync(
            self.repository.get_message, user_id, chat_id, message_id
        )  # ownership first
        await self.generations.stop(message_id)
        return await anyio.to_thread.run_sync(self.repository.get_message, user_id, chat_id, message_id)

    async def follow(self, user_id: int, chat_id: str, message_id: int) -> AsyncIterator[str]:
        """Deltas of a reply: its text so far, then new text until it has ended and been saved
        (nothing more if it has), so a caller may read the stored message right after.

        A reply that another process is writing (another replica) is followed in the store, a read every
        ``STORE_POLL_SECONDS``, as its writer saves it, until it ends or its writer's lease expires
        (it then reads as ``stopped``)."""
        gen = self.generations.get(message_id)  # before the read: a reply ending in between is read whole
        message = await anyio.to_thread.run_sync(self.repository.get_message, user_id, chat_id, message_id)
        if gen is None:
            async for delta in self._follow_stored(message, user_id):
                yield delta
            return
        async for delta in gen.follow():
            yield delta
        await gen.wait()

    async def _follow_stored(self, message: ChatMessage, user_id: int) -> AsyncIterator[str]:
        sent = message.content
        if sent:
            yield sent
        while message.status == "streaming":
            await asyncio.sleep(STORE_POLL_SECONDS)
            if self.generations.get(message.id) is not None:
                return  # written here now (a retry): the caller reads it afresh
            message = await anyio.to_thread.run_sync(
                self.repository.get_message, user_id, message.chat_id, message.id
            )
            if message.content != sent:
                if not message.content.startswith(sent):
                    return  # rewritten (a retry elsewhere): not a continuation of what was sent
                yield message.content[len(sent) :]
                sent = message.content

    def _start(
        self,
        user_id: int,
        chat_id: str,
        reply: ChatMessage,
        history: Sequence[ChatMessage],
        source: Source,
    ) -> Generation:
        request = ReplyRequest(
            user_id=user_id,
            chat_id=chat_id,
            history=_as_messages(history),
            max_tokens=self.settings.chat_max_tokens,
            source=source,
        )
        return self.generations.start(request, reply.id)

    def close_abandoned(self) -> int:
        """Store as ``stopped`` the replies whose writer's lease has expired (a process that died):
        every read shows them so already; this makes the rows say it too. Safe with any number of
        replicas, whose live replies renew their leases."""
        return self.repository.close_abandoned()

    @property
    def draining(self) -> bool:
        """The process is shutting down: it finishes its replies but starts none (see ``drain``)."""
        return self.generations.draining

    async def drain(self, grace: float) -> None:
        """The first half of a graceful shutdown: refuse new replies (``ShuttingDown``, 503) and give the
        running ones up to ``grace`` seconds to end; those still running then are saved ``stopped``.
        ``aclose`` follows, when the server has answered its last requests."""
        running = self.generations.running
        log.info("shutting down: %d replies in flight get up to %g s to finish", running, grace)
        finished, stopped = await self.generations.drain(grace)
        if stopped:
            log.warning(
                "shutting down: %d replies finished, %d were stopped after %g s", finished, stopped, grace
            )
        else:
            log.info("shutting down: %d replies finished", finished)

    async def aclose(self) -> None:
        await self.generations.shutdown()
        if self.traces is not None:  # the replies' traces, written before the process goes
            await anyio.to_thread.run_sync(self.traces.close)
        self.repository.close()


def _as_messages(rows: Sequence[ChatMessage]) -> list[Message]:
    return [Message(role="user" if row.role == "user" else "assistant", content=row.content) for row in rows]
