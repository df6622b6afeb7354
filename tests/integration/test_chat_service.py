"""The chat core through ChatService against real SQLite and PostgreSQL, replies from the scripted model."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update

from chatdash.chat import ChatService, ProviderResponder
from chatdash.chat.generation import Generation
from chatdash.config import load_settings
from chatdash.db.models import ApiKey
from chatdash.errors import AuthError, Conflict, InvalidInput, ModelUnavailable, NotFound
from chatdash.llm import registry
from chatdash.llm.providers.scripted import ScriptedProvider
from tests.conftest import Database

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def service(
    db: Database, *replies: Any, auth: str = "password", **options: Any
) -> tuple[ChatService, ScriptedProvider]:
    provider = registry.create("scripted", replies=list(replies), **options)
    assert isinstance(provider, ScriptedProvider)
    settings = load_settings(auth=auth, chat_max_tokens=64)
    return ChatService(db.engine, settings, ProviderResponder(provider)), provider


async def finish(gen: Generation) -> Generation:
    await asyncio.wait_for(gen.wait(), 10)
    return gen


def test_accounts_first_is_admin_and_passwords_are_checked(database: Database) -> None:
    chat, _ = service(database)
    alice = chat.sign_up("alice", "correct horse")
    bob = chat.sign_up("bob", "battery staple")
    assert alice.is_admin and not bob.is_admin
    assert chat.sign_in("alice", "correct horse").id == alice.id
    with pytest.raises(AuthError, match="wrong username or password"):
        chat.sign_in("alice", "wrong password")
    with pytest.raises(AuthError, match="wrong username or password"):
        chat.sign_in("nobody", "whatever1")
    with pytest.raises(Conflict, match="taken"):
        chat.sign_up("alice", "another one")
    with pytest.raises(InvalidInput, match="at least 8"):
        chat.sign_up("carol", "short")


def test_open_mode_asks_only_a_name(database: Database) -> None:
    chat, _ = service(database, auth="open")
    first = chat.sign_in("demo")
    assert chat.sign_in("demo").id == first.id and first.is_admin


def test_reply_is_stored_in_order_and_titles_the_chat(database: Database) -> None:
    chat, provider = service(database, "Hello there!", "Second answer.")
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def talk() -> None:
        for text in ("What is chatdash?\nmore", "And then?"):
            _, gen = await chat.send(user.id, convo.id, text)
            await finish(gen)

    run(talk())
    messages, count = chat.messages(user.id, convo.id)
    assert count == 4
    assert [(m.position, m.role, m.content, m.status) for m in messages] == [
        (0, "user", "What is chatdash?\nmore", "complete"),
        (1, "assistant", "Hello there!", "complete"),
        (2, "user", "And then?", "complete"),
        (3, "assistant", "Second answer.", "complete"),
    ]
    assert messages[1].completion_tokens == 2
    assert chat.chat(user.id, convo.id).title == "What is chatdash? more"
    # the second request carried the whole history, in order, after the system prompt
    sent = provider.requests[-1].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    page, _ = chat.messages(user.id, convo.id, skip=1, limit=2)
    assert [m.position for m in page] == [1, 2]


def test_model_failure_keeps_the_message_and_an_error_record_and_retry_works(database: Database) -> None:
    chat, _ = service(
        database, ModelUnavailable("LM server down: check CHATDASH_LLM_BASE_URL"), "Back again."
    )
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def ask() -> int:
        reply, gen = await chat.send(user.id, convo.id, "Hi")
        await finish(gen)
        return reply.id

    reply_id = run(ask())
    messages, _ = chat.messages(user.id, convo.id)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "Hi", "complete"),
        ("assistant", "", "error"),
    ]
    assert messages[1].error is not None and "LM server down" in messages[1].error

    async def again() -> None:
        _, gen = await chat.retry(user.id, convo.id, reply_id)
        await finish(gen)

    run(again())
    messages, _ = chat.messages(user.id, convo.id)
    assert [(m.content, m.status, m.error) for m in messages][1] == ("Back again.", "complete", None)
    assert len(messages) == 2


def test_stop_really_stops_and_keeps_the_partial_text(database: Database) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    chat, _ = service(database, words, delay_s=0.01)
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def scenario() -> tuple[str, str]:
        chat.generations.persist_every = 0.0
        reply, gen = await chat.send(user.id, convo.id, "Talk a lot")
        seen = ""
        async for delta in chat.follow(user.id, convo.id, reply.id):
            seen += delta
            if len(seen.split()) >= 5:
                break
        # a reader who leaves does not stop it; a reload sees the partial text saved so far
        await asyncio.sleep(0.1)
        reloaded = chat.messages(user.id, convo.id)[0][1]
        assert reloaded.status == "streaming" and reloaded.content.startswith(seen.strip())
        stopped = await chat.stop(user.id, convo.id, reply.id)
        await asyncio.sleep(0.1)  # nothing is written after a stop
        after = chat.messages(user.id, convo.id)[0][1]
        assert (after.content, after.status) == (stopped.content, "stopped")
        assert gen.status == "stopped"
        return seen, stopped.content

    seen, kept = run(scenario())
    assert kept.startswith(seen.strip()) and 5 <= len(kept.split()) < 200


def test_context_is_trimmed_on_a_long_chat(database: Database) -> None:
    chat, provider = service(database, "ok", context_window=300)
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)
    for i in range(40):
        chat.add_message(user.id, convo.id, "user", f"question {i} " + "word " * 10)
        chat.add_message(user.id, convo.id, "assistant", f"answer {i} " + "word " * 10)

    async def ask() -> None:
        _, gen = await chat.send(user.id, convo.id, "the newest question")
        await finish(gen)

    run(ask())
    sent = provider.requests[-1].messages
    assert sent[0].role == "system" and sent[-1].content == "the newest question"
    assert 3 < len(sent) < 81  # oldest turns dropped, newest kept
    assert sent[-2].content.startswith("answer 39")


def test_another_users_chat_is_not_found_everywhere(database: Database) -> None:
    chat, _ = service(database, "secret reply")
    alice = chat.sign_up("alice", "correct horse")
    bob = chat.sign_up("bob", "battery staple")
    convo = chat.create_chat(alice.id)

    async def ask() -> Any:
        reply, gen = await chat.send(alice.id, convo.id, "my secret")
        await finish(gen)
        return reply

    reply = run(ask())
    attempts = [
        lambda: chat.chat(bob.id, convo.id),
        lambda: chat.messages(bob.id, convo.id),
        lambda: chat.rename_chat(bob.id, convo.id, "mine"),
        lambda: chat.add_message(bob.id, convo.id, "user", "hi"),
        lambda: run(chat.send(bob.id, convo.id, "hi")),
        lambda: run(chat.retry(bob.id, convo.id, reply.id)),
        lambda: chat.feedback(bob.id, convo.id, reply.id, 1),
        lambda: run(chat.stop(bob.id, convo.id, reply.id)),
        lambda: run(chat.delete_chat(bob.id, convo.id)),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound, match="no chat"):
            attempt()
    assert chat.chats(bob.id) == ([], 0)
    assert chat.messages(alice.id, convo.id)[1] == 2


def test_feedback_and_deleting_a_chat(database: Database) -> None:
    chat, _ = service(database, "an answer")
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id, "Named")

    async def ask() -> Any:
        reply, gen = await chat.send(user.id, convo.id, "question")
        await finish(gen)
        return reply

    reply = run(ask())
    assert chat.chat(user.id, convo.id).title == "Named"
    chat.feedback(user.id, convo.id, reply.id, -1, "too short")
    again = chat.feedback(user.id, convo.id, reply.id, 1)
    assert (again.rating, again.comment) == (1, None)
    with pytest.raises(InvalidInput, match="rating"):
        chat.feedback(user.id, convo.id, reply.id, 5)
    run(chat.delete_chat(user.id, convo.id))
    with pytest.raises(NotFound):
        chat.chat(user.id, convo.id)


def test_api_keys_are_hashed_shown_once_and_revocable(database: Database) -> None:
    chat, _ = service(database)
    user = chat.sign_up("alice", "correct horse")
    new = chat.create_key(user.id, "laptop")
    assert new.token.startswith(new.key.prefix) and new.key.token_hash != new.token
    assert chat.verify_key(new.token).last_used_at is not None
    [listed] = chat.list_keys(user.id)
    assert listed.last_used_at is not None and listed.name == "laptop"
    # Within a minute the use is not written again (one write per key per minute, not per request).
    first_use = listed.last_used_at
    chat.verify_key(new.token)
    assert chat.list_keys(user.id)[0].last_used_at == first_use
    with database.engine.begin() as conn:
        conn.execute(
            update(ApiKey)
            .where(ApiKey.id == new.key.id)
            .values(last_used_at=first_use - dt.timedelta(minutes=2))
        )
    chat.verify_key(new.token)
    assert chat.list_keys(user.id)[0].last_used_at > first_use
    with pytest.raises(AuthError, match="invalid"):
        chat.verify_key(new.token + "x")
    chat.revoke_key(new.key.id, user.id)
    with pytest.raises(AuthError, match="revoked"):
        chat.verify_key(new.token)


def age(database: Database, message_id: int, seconds: float) -> None:
    """Move a reply's last sign of life ``seconds`` into the past, as a dead writer would leave it."""
    from chatdash.db.models import ChatMessage

    with database.engine.begin() as conn:
        then = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
        conn.execute(update(ChatMessage).where(ChatMessage.id == message_id).values(updated_at=then))


def test_a_reply_whose_writer_is_gone_reads_as_stopped_and_can_be_retried(database: Database) -> None:
    from chatdash.chat import SqlRepository

    chat, _ = service(database, "A whole answer.")
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)
    dead_writer = SqlRepository(database.engine)
    reply = dead_writer.start_turn(user.id, convo.id, "hi").reply
    dead_writer.save_reply(user.id, convo.id, reply.id, "half an ans", "streaming")
    assert chat.message(user.id, convo.id, reply.id).status == "streaming"  # its lease holds
    with pytest.raises(Conflict, match="still being written"):
        run(chat.retry(user.id, convo.id, reply.id))

    age(database, reply.id, chat.settings.chat_reply_lease_seconds + 1)
    for read in (chat.message(user.id, convo.id, reply.id), chat.messages(user.id, convo.id)[0][1]):
        assert (read.content, read.status) == ("half an ans", "stopped")
        assert "interrupted" in (read.error or "")

    async def retried() -> str:
        _, gen = await chat.retry(user.id, convo.id, reply.id)
        return (await finish(gen)).text

    assert run(retried()) == "A whole answer."
    assert chat.message(user.id, convo.id, reply.id).status == "complete"


def test_close_abandoned_stores_only_expired_leases(database: Database) -> None:
    from chatdash.chat import SqlRepository

    chat, _ = service(database)
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)
    repository = SqlRepository(database.engine)
    gone = repository.start_turn(user.id, convo.id, "one").reply
    repository.save_reply(user.id, convo.id, gone.id, "partial", "streaming")
    alive = repository.start_turn(user.id, chat.create_chat(user.id).id, "two").reply
    age(database, gone.id, 60)
    assert chat.close_abandoned() == 1
    assert repository.get_message(user.id, convo.id, gone.id).status == "stopped"
    with database.engine.connect() as conn:
        from chatdash.db.models import ChatMessage

        stored = dict(conn.execute(select(ChatMessage.id, ChatMessage.status)).all())
    assert (stored[gone.id], stored[alive.id]) == ("stopped", "streaming")


def test_a_slow_reply_keeps_its_lease_by_heartbeat(database: Database) -> None:
    """No token for three leases (a long queue, a slow prefill): the heartbeat keeps it the writer's."""
    provider = registry.create("scripted", replies=["late"], delay_s=3.0)
    settings = load_settings(chat_reply_lease_seconds=1.0)
    chat = ChatService(database.engine, settings, ProviderResponder(provider))
    user = chat.sign_up("alice", "correct horse")

    async def talk() -> list[str]:
        reply, gen = await chat.send(user.id, None, "take your time")
        seen = []
        for _ in range(5):
            await asyncio.sleep(0.5)
            stored = await asyncio.to_thread(chat.repository.get_message, user.id, reply.chat_id, reply.id)
            seen.append(stored.status)
        await finish(gen)
        return seen

    assert run(talk()) == ["streaming"] * 5


def test_a_send_without_chat_stores_the_earlier_messages_first_in_one_turn(database: Database) -> None:
    from chatdash.llm.types import Message

    chat, provider = service(database, "Four.")
    user = chat.sign_up("alice", "correct horse")
    earlier = [Message.assistant("Hi, how can I help?"), Message.user("What is 2+2?"), Message.assistant("4")]

    async def talk() -> str:
        reply, gen = await chat.send(user.id, None, "And 2+2 again?", earlier=earlier)
        await finish(gen)
        return reply.chat_id

    chat_id = run(talk())
    messages, count = chat.messages(user.id, chat_id)
    assert count == 5
    assert [(m.position, m.role, m.content) for m in messages] == [
        (0, "assistant", "Hi, how can I help?"),
        (1, "user", "What is 2+2?"),
        (2, "assistant", "4"),
        (3, "user", "And 2+2 again?"),
        (4, "assistant", "Four."),
    ]
    assert chat.chat(user.id, chat_id).title == "What is 2+2?"  # the first *user* message names it
    sent = [(m.role, m.content) for m in provider.requests[0].messages[1:]]  # after the system prompt
    assert sent == [(m.role, m.content) for m in [*earlier, Message.user("And 2+2 again?")]]


def test_two_sends_at_once_to_one_chat_one_is_refused(database: Database) -> None:
    chat, _ = service(database, "One.", "Two.")
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def both() -> list[Any]:
        results = await asyncio.gather(
            chat.send(user.id, convo.id, "first"),
            chat.send(user.id, convo.id, "second"),
            return_exceptions=True,
        )
        for result in results:
            if not isinstance(result, BaseException):
                await finish(result[1])
        return results

    results = run(both())
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and "still being written" in str(refused[0])
    accepted = "second" if isinstance(results[0], Conflict) else "first"  # either may get there first
    messages, count = chat.messages(user.id, convo.id)
    assert count == 2 and messages[0].content == accepted  # the refused send stored nothing


def test_a_partial_save_still_running_when_the_reply_stops_does_not_land_last(database: Database) -> None:
    """The stop's final save must win over a partial save that a worker thread is still writing."""
    import threading

    from chatdash.chat import SqlRepository

    in_save, release = threading.Event(), threading.Event()

    class SlowPartialSaves(SqlRepository):
        def save_reply(
            self, user_id: int, chat_id: str, message_id: int, content: str, status: str, **kw: Any
        ) -> None:
            if status == "streaming" and not in_save.is_set():
                in_save.set()
                release.wait(10)  # the stop arrives while this save is in flight
            super().save_reply(user_id, chat_id, message_id, content, status, **kw)

    provider = registry.create("scripted", replies=[" ".join(f"w{i}" for i in range(200))], delay_s=0.01)
    settings = load_settings(chat_max_tokens=64)
    chat = ChatService(
        database.engine, settings, ProviderResponder(provider), repository=SlowPartialSaves(database.engine)
    )
    chat.generations.persist_every = 0.0
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def scenario() -> str:
        reply, gen = await chat.send(user.id, convo.id, "Talk a lot")
        for _ in range(1000):
            if in_save.is_set():
                break
            await asyncio.sleep(0.005)
        assert in_save.is_set(), "no partial save began"
        stopping = asyncio.create_task(chat.generations.stop(reply.id))
        await asyncio.sleep(0.05)
        release.set()  # the partial save lands now, after the stop began
        await stopping
        await asyncio.sleep(0.1)
        assert gen.status == "stopped"
        return gen.text

    text = run(scenario())
    kept = chat.messages(user.id, convo.id)[0][1]
    assert (kept.status, kept.content) == ("stopped", text)


def test_two_retries_at_once_start_one_reply(database: Database) -> None:
    chat, _ = service(database, ModelUnavailable("down"), "Again.", "And again.")
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def scenario() -> list[Any]:
        reply, gen = await chat.send(user.id, convo.id, "Hi")
        await finish(gen)
        results = await asyncio.gather(
            chat.retry(user.id, convo.id, reply.id),
            chat.retry(user.id, convo.id, reply.id),
            return_exceptions=True,
        )
        for result in results:
            if not isinstance(result, BaseException):
                await finish(result[1])
        return results

    results = run(scenario())
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    messages, count = chat.messages(user.id, convo.id)
    assert count == 2 and (messages[1].content, messages[1].status) == ("Again.", "complete")


def test_a_second_stop_waits_for_the_first_stops_save(database: Database) -> None:
    """Two stops at once (a double click, a delete): both return once the reply is saved as stopped."""
    import time

    from chatdash.chat import SqlRepository

    class SlowFinalSave(SqlRepository):
        def save_reply(
            self, user_id: int, chat_id: str, message_id: int, content: str, status: str, **kw: Any
        ) -> None:
            if status != "streaming":
                time.sleep(0.3)
            super().save_reply(user_id, chat_id, message_id, content, status, **kw)

    provider = registry.create("scripted", replies=[" ".join(f"w{i}" for i in range(500))], delay_s=0.01)
    settings = load_settings(chat_max_tokens=1000)
    chat = ChatService(
        database.engine, settings, ProviderResponder(provider), repository=SlowFinalSave(database.engine)
    )
    user = chat.sign_up("alice", "correct horse")
    convo = chat.create_chat(user.id)

    async def scenario() -> tuple[list[Any], str]:
        reply, gen = await chat.send(user.id, convo.id, "Talk a lot")
        while len(gen.parts) < 3:
            await asyncio.sleep(0.01)
        stops = await asyncio.gather(
            chat.stop(user.id, convo.id, reply.id), chat.stop(user.id, convo.id, reply.id)
        )
        return stops, gen.status

    stops, status = run(scenario())
    assert status == "stopped"
    assert [s.status for s in stops] == ["stopped", "stopped"]  # read back from the store after each stop
    assert chat.messages(user.id, convo.id)[0][1].status == "stopped"


def test_a_reply_written_by_another_process_is_followed_in_the_store(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica writes the reply (saving its text as it goes): a reader here gets it as deltas."""
    import threading
    import time

    from chatdash.chat import SqlRepository
    from chatdash.chat import service as service_module

    monkeypatch.setattr(service_module, "STORE_POLL_SECONDS", 0.02)
    chat, _ = service(database)
    user = chat.sign_up("alice", "correct horse")
    repository = SqlRepository(database.engine)
    turn = repository.start_turn(user.id, None, "Hi")  # as the other replica would

    def other_replica() -> None:
        for text, status in (("Hel", "streaming"), ("Hello th", "streaming"), ("Hello there.", "complete")):
            time.sleep(0.1)
            repository.save_reply(user.id, turn.chat_id, turn.reply.id, text, status)

    writer = threading.Thread(target=other_replica)

    async def read() -> list[str]:
        writer.start()
        return [delta async for delta in chat.follow(user.id, turn.chat_id, turn.reply.id)]

    deltas = run(read())
    writer.join()
    assert "".join(deltas) == "Hello there." and len(deltas) >= 2, deltas


class ThreadedResponder:
    """A reply whose every word waits on a worker thread first, as the pipeline's steps and the partial
    saves do: the moments where a cancel used to be swallowed."""

    async def reply(self, request: Any) -> Any:
        import time

        import anyio.to_thread

        for i in range(40):
            await anyio.to_thread.run_sync(time.sleep, 0.02)
            yield f"w{i} "

    def forget_chat(self, user_id: int, chat_id: str) -> None:
        """Nothing is kept."""

    def check_fits(self, text: str) -> None:
        """Any message fits."""


def test_stop_stops_whenever_it_lands(database: Database) -> None:
    import random

    chat = ChatService(database.engine, load_settings(), ThreadedResponder())  # type: ignore[arg-type]
    user = chat.sign_up("alice", "correct horse")
    pick = random.Random(7)

    async def stop_at(delay: float) -> tuple[str, int]:
        reply, gen = await chat.send(user.id, None, "go on")
        await asyncio.sleep(delay)
        await asyncio.wait_for(chat.stop(user.id, reply.chat_id, reply.id), 5)
        stored = chat.message(user.id, reply.chat_id, reply.id)
        assert stored.content == gen.text  # the text kept is the text streamed
        return stored.status, len(stored.content.split())

    outcomes = [run(stop_at(pick.uniform(0, 0.6))) for _ in range(25)]
    assert all(status == "stopped" and words < 40 for status, words in outcomes), outcomes
