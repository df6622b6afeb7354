"""The split deployment: `serve --role ui` keeps chats and messages in `serve --role db-api` over HTTP.

Fast tests run both apps in process (the ui's ``HttpRepository`` talks to the data API's ``TestClient``; the
data API on each test database, the ui's users on a SQLite file of its own). The last test runs the
real thing: ui, db-api and `chatdash lm serve` as three processes on loopback with the bundled model.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chatdash.chat import ChatService, HttpRepository, ProviderResponder, SqlRepository, keys, users
from chatdash.chat.app import create_app
from chatdash.chat.repository import USER_HEADER
from chatdash.config import load_settings
from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.db.models import Chat, ChatMessage, User
from chatdash.errors import ConfigError, Conflict, DatabaseUnavailable, ModelUnavailable, NotFound
from chatdash.llm import registry
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.llm.server import find_llama_server, free_port, running_server
from tests.conftest import Database

SERVICE_KEY = "service-key-for-tests"


@dataclass
class Split:
    data_db: Database  # the data API's database (chats and messages)
    ui_db: Database  # the ui's own database (users, API keys)
    data_api: TestClient  # the data API, holding the service key
    ui: TestClient
    service: ChatService  # the ui's service, whose repository is the data API
    provider: ScriptedProvider

    def user_key(self, name: str) -> tuple[int, dict[str, str]]:
        user = self.service.sign_up(name, "long enough password")
        token = self.service.create_key(user.id, "key").token
        return user.id, {"Authorization": f"Bearer {token}"}


def as_client(client: TestClient) -> httpx.Client:
    """Starlette's TestClient speaks httpx's client API (it builds on the `httpx2` fork)."""
    return cast(httpx.Client, client)


def _username(db: Database) -> Callable[[int], str]:
    def username_of(user_id: int) -> str:
        user = users.get_user(db.engine, user_id)
        assert user is not None
        return user.username

    return username_of


@pytest.fixture
def split_factory(database: Database, tmp_path: Path) -> Iterator[Callable[..., Split]]:
    (tmp_path / "ui").mkdir()
    ui_db = Database("sqlite", tmp_path / "ui")
    opened: list[Any] = []

    def make(*replies: Any) -> Split:
        data_settings = load_settings(db_api_key=SERVICE_KEY, api_rate_limit="1000/second")
        idle = registry.create("scripted", replies=[])
        data_service = ChatService(database.engine, data_settings, ProviderResponder(idle))
        data_app = create_app(data_settings, "db-api", service=data_service, ready_checks={})
        data_api = TestClient(
            data_app, base_url="http://db-api", headers={"Authorization": f"Bearer {SERVICE_KEY}"}
        )
        data_api.__enter__()
        opened.append(data_api)

        provider = registry.create("scripted", replies=list(replies))
        assert isinstance(provider, ScriptedProvider)
        ui_settings = load_settings(
            db_api_url="http://db-api", db_api_key=SERVICE_KEY, api_rate_limit="1000/second"
        )
        repository = HttpRepository(as_client(data_api), _username(ui_db))
        service = ChatService(ui_db.engine, ui_settings, ProviderResponder(provider), repository=repository)
        ui = TestClient(create_app(ui_settings, "ui", service=service, ready_checks={}))
        ui.__enter__()
        opened.append(ui)
        return Split(database, ui_db, data_api, ui, service, provider)

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)
    ui_db.close()


def test_api_chat_round_trip_lands_in_the_data_api(split_factory: Callable[..., Split]) -> None:
    s = split_factory("First answer.", "Second answer.")
    _, headers = s.user_key("alice")
    body = {"messages": [{"role": "user", "content": "Hello there"}]}
    first = s.ui.post("/api/chat", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["message"]["content"] == "First answer."
    chat_id = first.json()["conversation_id"]
    again = {"messages": [{"role": "user", "content": "And then?"}], "conversation_id": chat_id}
    second = s.ui.post("/api/chat", json=again, headers=headers)
    assert second.json()["message"]["content"] == "Second answer."
    # the stored chat was the history the model saw
    assert [m.content for m in s.provider.requests[-1].messages[1:]] == [
        "Hello there",
        "First answer.",
        "And then?",
    ]

    with s.data_db.engine.connect() as conn:  # in the data API's database, under alice's name there
        owner = conn.scalar(select(User).join(Chat, Chat.user_id == User.id).where(Chat.id == chat_id))
        rows = conn.execute(
            select(ChatMessage.role, ChatMessage.content, ChatMessage.status, ChatMessage.completion_tokens)
            .where(ChatMessage.chat_id == chat_id)
            .order_by(ChatMessage.position)
        ).all()
    assert owner is not None
    assert [tuple(r[:3]) for r in rows] == [
        ("user", "Hello there", "complete"),
        ("assistant", "First answer.", "complete"),
        ("user", "And then?", "complete"),
        ("assistant", "Second answer.", "complete"),
    ]
    assert rows[1][3] == 2  # token usage saved through PATCH
    with s.ui_db.engine.connect() as conn:  # nothing of it in the ui's own database
        assert conn.scalar(select(func.count()).select_from(Chat)) == 0
        assert conn.scalar(select(func.count()).select_from(ChatMessage)) == 0


async def _send_and_wait(service: ChatService, user_id: int, chat_id: str, text: str) -> ChatMessage:
    reply, gen = await service.send(user_id, chat_id, text)
    await gen.wait()
    return service.message(user_id, chat_id, reply.id)


def test_every_service_operation_goes_over_http(split_factory: Callable[..., Split]) -> None:
    import asyncio

    failing = ModelUnavailable("cannot reach the LM server")
    s = split_factory(failing, "Recovered.")
    user = s.service.sign_up("bob", "long enough password")
    chat = s.service.create_chat(user.id)
    assert s.service.chat(user.id, chat.id).title == "New chat"

    async def scenario() -> None:
        failed = await _send_and_wait(s.service, user.id, chat.id, "What is up?")
        assert failed.status == "error" and "cannot reach" in (failed.error or "")
        reply, gen = await s.service.retry(user.id, chat.id, failed.id)
        await gen.wait()
        assert s.service.message(user.id, chat.id, reply.id).content == "Recovered."

    asyncio.run(scenario())
    assert s.service.chat(user.id, chat.id).title == "What is up?"  # titled by its first message
    renamed = s.service.rename_chat(user.id, chat.id, "Renamed")
    assert renamed.title == "Renamed"
    chats, count = s.service.chats(user.id)
    assert count == 1 and chats[0].id == chat.id
    messages, count = s.service.messages(user.id, chat.id)
    assert count == 2 and [(m.role, m.position) for m in messages] == [("user", 0), ("assistant", 1)]
    feedback = s.service.feedback(user.id, chat.id, messages[1].id, -1, "meh")
    assert feedback.rating == -1 and feedback.comment == "meh"
    given = s.service.chat_feedback(user.id, chat.id)
    assert [(i, f.rating, f.comment) for i, f in given.items()] == [(messages[1].id, -1, "meh")]
    with pytest.raises(Conflict, match="replies"):
        s.service.feedback(user.id, chat.id, messages[0].id, 1)
    s.service.add_message(user.id, chat.id, "assistant", "stored as given")
    assert s.service.messages(user.id, chat.id, skip=2, limit=5)[0][0].content == "stored as given"

    other = s.service.sign_up("carol", "long enough password")
    with pytest.raises(NotFound):  # scoped by user on the data API's side
        s.service.chat(other.id, chat.id)
    with pytest.raises(NotFound):
        s.service.message(other.id, chat.id, messages[1].id)
    with pytest.raises(NotFound):
        s.service.chat_feedback(other.id, chat.id)

    asyncio.run(s.service.delete_chat(user.id, chat.id))
    with pytest.raises(NotFound):
        s.service.chat(user.id, chat.id)


def test_the_data_api_takes_the_user_header_only_with_the_service_key(
    split_factory: Callable[..., Split],
) -> None:
    s = split_factory()
    debora = {USER_HEADER: "d%C3%A9bora"}  # percent-encoded, as HttpRepository sends it
    created = s.data_api.post("/chats", json={}, headers=debora)
    assert created.status_code == 201
    with s.data_db.engine.connect() as conn:
        assert conn.scalar(select(User.username).where(User.password_hash.is_(None))) == "débora"
    chat_id = created.json()["id"]
    assert s.data_api.get(f"/chats/{chat_id}", headers={USER_HEADER: "eve"}).status_code == 404
    no_user = s.data_api.get("/chats")
    assert no_user.status_code == 401 and USER_HEADER in no_user.json()["detail"]

    owner = users.create_user(s.data_db.engine, "frank", "long enough password")
    token = keys.create_key(s.data_db.engine, owner.id, "own key").token
    own = {"Authorization": f"Bearer {token}"}
    assert s.data_api.get("/chats", headers=own).status_code == 200
    spoof = s.data_api.get("/chats", headers={**own, **debora})
    assert spoof.status_code == 401 and "service key" in spoof.json()["detail"]

    turn = s.data_api.post(f"/chats/{chat_id}/turns", json={"content": "hi"}, headers=debora)
    assert turn.status_code == 201, turn.text
    asked, reply = turn.json()["message"], turn.json()["reply"]
    assert reply["status"] == "streaming" and reply["content"] == ""
    assert [m["id"] for m in turn.json()["history"]] == [asked["id"]]  # what the reply answers
    patch = f"/chats/{chat_id}/messages/{asked['id']}"
    mine = s.data_api.patch(patch, json={"content": "x"}, headers=debora)
    assert mine.status_code == 409 and "only a reply" in mine.json()["detail"]
    bad = s.data_api.patch(f"/chats/{chat_id}/messages/{reply['id']}", json={"role": "user"}, headers=debora)
    assert bad.status_code == 422


def test_a_wrong_service_key_or_a_dead_data_api_is_a_clear_503(split_factory: Callable[..., Split]) -> None:
    s = split_factory()
    user = s.service.sign_up("gina", "long enough password")
    wrong = HttpRepository(
        as_client(
            TestClient(s.data_api.app, base_url="http://db-api", headers={"Authorization": "Bearer nope"})
        ),
        _username(s.ui_db),
    )
    with pytest.raises(DatabaseUnavailable, match="CHATDASH_DB_API_KEY"):
        wrong.create_chat(user.id, None)

    dead = HttpRepository.connect(f"http://127.0.0.1:{free_port()}", SERVICE_KEY, _username(s.ui_db))
    with pytest.raises(DatabaseUnavailable, match=r"does not answer.*CHATDASH_DB_API_URL"):
        dead.list_chats(user.id, skip=0, limit=10)
    dead.close()

    # the same through the ui's API: 503 naming the setting, never a 500
    dead_url = f"http://127.0.0.1:{free_port()}"
    s.service.repository = HttpRepository.connect(dead_url, SERVICE_KEY, _username(s.ui_db))
    _, headers = s.user_key("hank")
    answer = s.ui.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}]}, headers=headers)
    assert answer.status_code == 503 and "CHATDASH_DB_API_URL" in answer.json()["detail"]


# -- three processes on loopback, the real model ---------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_")}
    return {**env, **extra}


@dataclass
class Process:
    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()


@pytest.fixture
def serve(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Process]:
    """`chatdash serve --role ROLE` on a free loopback port, once /healthz answers; stopped at the end."""

    def start(role: str, env: dict[str, str]) -> Process:
        port = free_port()
        cwd = tmp_path / role
        cwd.mkdir()
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server. Closed by ``stop``.
        log = tempfile.TemporaryFile()  # noqa: SIM115
        command = [str(Path(sys.executable).parent / "chatdash"), "serve", "--role", role]
        command += ["--port", str(port)]
        popen = subprocess.Popen(
            command, cwd=cwd, env=_clean_env(**env), stdout=log, stderr=subprocess.STDOUT
        )
        process = Process(role, f"http://127.0.0.1:{port}", popen, log)
        request.addfinalizer(process.stop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                pytest.fail(
                    f"`chatdash serve --role {role}` exited with {popen.returncode}:\n{process.output()}"
                )
            try:
                if httpx.get(process.url + "/healthz", timeout=1).status_code == 200:
                    return process
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"`chatdash serve --role {role}` did not answer /healthz in 60 s:\n{process.output()}")

    return start


@pytest.fixture
def lm_url() -> Iterator[str]:
    try:
        find_llama_server(os.environ.get("CHATDASH_LLAMA_SERVER"))
    except ConfigError as exc:
        pytest.skip(str(exc))  # it says to run `make llama-server`
    with running_server(_clean_env(CHATDASH_LLM_CONTEXT="1024", CHATDASH_LLM_PARALLEL="4")) as url:
        yield url


@pytest.mark.timeout(300)
def test_three_processes_on_loopback(serve: Callable[..., Process], lm_url: str, tmp_path: Path) -> None:
    data_url = f"sqlite:///{tmp_path / 'data.db'}"
    ui_url = f"sqlite:///{tmp_path / 'ui.db'}"
    common = {
        "CHATDASH_DB_API_KEY": SERVICE_KEY,
        "CHATDASH_LLM_BASE_URL": lm_url,
        "CHATDASH_LLM_CONTEXT": "1024",
    }
    data_api = serve("db-api", {**common, "CHATDASH_DATABASE_URL": data_url})

    ui_engine = make_engine(ui_url)  # the ui's users and API keys live in its own database
    upgrade(ui_engine)
    user = users.create_user(ui_engine, "alice", "long enough password")
    token = keys.create_key(ui_engine, user.id, "split test").token
    ui_engine.dispose()
    ui = serve(
        "ui",
        {
            **common,
            "CHATDASH_DATABASE_URL": ui_url,
            "CHATDASH_DB_API_URL": data_api.url,
            "CHATDASH_CHAT_MAX_TOKENS": "8",
            "CHATDASH_API_RATE_LIMIT": "100/second",
        },
    )
    ready = httpx.get(ui.url + "/readyz", timeout=30).json()
    assert ready["checks"]["db_api"] == "ok", ready

    headers = {"Authorization": f"Bearer {token}"}
    body = {"messages": [{"role": "user", "content": "Say hi."}]}
    answer = httpx.post(ui.url + "/api/chat", json=body, headers=headers, timeout=120)
    assert answer.status_code == 200, (
        f"{answer.text}\n--- ui:\n{ui.output()}\n--- db-api:\n{data_api.output()}"
    )
    reply = answer.json()
    assert reply["status"] == "complete" and reply["message"]["content"].strip()
    assert 1 <= reply["usage"]["completion_tokens"] <= 8

    data_engine = make_engine(data_url)  # the reply is stored in the data API's database
    try:
        stored, count = SqlRepository(data_engine).list_messages(
            users.ensure_user(data_engine, "alice"), reply["conversation_id"]
        )
    finally:
        data_engine.dispose()
    assert count == 2
    assert (stored[0].role, stored[0].content) == ("user", "Say hi.")
    assert (stored[1].role, stored[1].status) == ("assistant", "complete")
    assert stored[1].content == reply["message"]["content"]
    # and the data API serves it to the service key acting for alice
    listed = httpx.get(
        f"{data_api.url}/chats/{reply['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {SERVICE_KEY}", USER_HEADER: "alice"},
    )
    assert listed.json()["count"] == 2

    data_api.stop()  # the data API goes away: the ui says so with a 503, not a 500
    down = httpx.post(ui.url + "/api/chat", json=body, headers=headers, timeout=30)
    assert down.status_code == 503 and "CHATDASH_DB_API_URL" in down.json()["detail"]


def test_idle_keep_alive_connections_outlive_a_proxys(serve: Callable[..., Process], tmp_path: Path) -> None:
    """A proxy (nginx: 60 s) reuses idle upstream connections; the app must not close them first (uvicorn's
    default is 5 s), or a request sent as it closes one meets a reset. Idle 6 s, then reuse the socket."""
    import http.client

    from chatdash.chat.app import KEEP_ALIVE_SECONDS

    assert KEEP_ALIVE_SECONDS > 60
    app = serve("db-api", {"CHATDASH_DATABASE_URL": f"sqlite:///{tmp_path / 'data.db'}"})
    conn = http.client.HTTPConnection(app.url.removeprefix("http://"), timeout=10)
    try:
        conn.request("GET", "/healthz")
        assert conn.getresponse().read() == b'{"status":"ok"}'
        sock = conn.sock
        time.sleep(6)
        conn.request("GET", "/healthz")  # on the same socket: http.client does not reconnect by itself
        assert conn.sock is sock
        assert conn.getresponse().status == 200  # RemoteDisconnected if the app had closed it
    finally:
        conn.close()


def test_the_ui_renews_its_replies_leases_through_the_data_api(split_factory: Callable[..., Split]) -> None:
    """The ui writes the reply; its heartbeat must reach the data API's database, or every reply with a
    slow first token would read as ``stopped`` there."""
    import datetime as dt

    from sqlalchemy import update

    s = split_factory()
    user_id, _ = s.user_key("alice")
    turn = s.service.repository.start_turn(user_id, None, "hello")
    lease = s.service.settings.chat_reply_lease_seconds
    with s.data_db.engine.begin() as conn:
        then = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lease + 1)
        conn.execute(update(ChatMessage).where(ChatMessage.id == turn.reply.id).values(updated_at=then))
    assert s.service.repository.get_message(user_id, turn.chat_id, turn.reply.id).status == "stopped"
    s.service.repository.renew_leases([(user_id, turn.chat_id, turn.reply.id)])
    assert s.service.repository.get_message(user_id, turn.chat_id, turn.reply.id).status == "streaming"


def test_the_ui_searches_the_data_apis_chats(split_factory: Callable[..., Split]) -> None:
    s = split_factory("Brass lamps glow.")
    user_id, headers = s.user_key("alice")
    answer = s.ui.post(
        "/api/chat", json={"messages": [{"role": "user", "content": "Any lamps?"}]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    hits = s.service.search(user_id, "lamp")
    assert sorted((h.role or "", h.snippet) for h in hits if h.message_id) == [
        ("assistant", "Brass \x02lamps\x03 glow."),
        ("user", "Any \x02lamps\x03?"),
    ]


def test_the_ui_edits_and_resends_through_the_data_api(split_factory: Callable[..., Split]) -> None:
    s = split_factory("First.", "Edited answer.")
    user_id, headers = s.user_key("alice")
    first = s.ui.post(
        "/api/chat", json={"messages": [{"role": "user", "content": "Lamps?"}]}, headers=headers
    )
    chat_id = first.json()["conversation_id"]
    asked = s.service.messages(user_id, chat_id)[0][0]

    async def edit() -> str:
        _, gen = await s.service.edit(user_id, chat_id, asked.id, "Chairs?")
        await asyncio.wait_for(gen.wait(), 10)
        return gen.text

    assert asyncio.run(edit()) == "Edited answer."
    with s.data_db.engine.connect() as conn:
        rows = conn.execute(
            select(ChatMessage.role, ChatMessage.content, ChatMessage.status)
            .where(ChatMessage.chat_id == chat_id)
            .order_by(ChatMessage.position)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("user", "Chairs?", "complete"),
        ("assistant", "Edited answer.", "complete"),
    ]
