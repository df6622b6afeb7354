"""`chatdash users delete` as an operator uses it: a real account with a chat, feedback, an API key and a
message remembered in the real local Qdrant store (real wordllama embeddings) is removed whole, rows and
memory points, while another user's stay; and a cookie of the deleted account opens nothing."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from chatdash.chat import ChatService, users
from chatdash.chat.responder import PipelineResponder
from chatdash.cli import app
from chatdash.config import get_settings
from chatdash.db.engine import get_engine
from chatdash.db.models import ApiKey, Chat, ChatMessage, Feedback, User
from chatdash.errors import AuthError
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.memory import ChatMemory, VectorStore, get_store
from chatdash.pipeline import load_pipeline
from tests.conftest import Database, cli, dashboard_url
from tests.integration.chat_helpers import api

pytestmark = pytest.mark.timeout(120)

runner = CliRunner()


def add_user(name: str, *options: str, password: str = "long enough password") -> Result:
    """`chatdash users create NAME --password-stdin`, as a script runs it (the line ending included)."""
    return runner.invoke(app, ["users", "create", name, "--password-stdin", *options], input=password + "\n")


def rows_of(engine: Engine, user_id: int) -> dict[str, int]:
    """The user's rows, table by table (feedback: theirs and on their replies)."""
    chats = select(Chat.id).where(Chat.user_id == user_id)
    messages = select(ChatMessage.id).where(ChatMessage.chat_id.in_(chats))
    queries = {
        "users": select(func.count()).select_from(User).where(User.id == user_id),
        "chats": select(func.count()).select_from(Chat).where(Chat.user_id == user_id),
        "messages": select(func.count()).select_from(ChatMessage).where(ChatMessage.chat_id.in_(chats)),
        "feedback": select(func.count())
        .select_from(Feedback)
        .where((Feedback.user_id == user_id) | Feedback.message_id.in_(messages)),
        "api_keys": select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id),
    }
    with engine.connect() as connection:
        return {table: int(connection.scalar(query) or 0) for table, query in queries.items()}


def chat_as(service: ChatService, memory: ChatMemory, user_id: int, text: str) -> None:
    """One turn through the chat pipeline (scripted words, real memory), rated, as a person would."""

    async def turn() -> tuple[str, int]:
        reply, gen = await service.send(user_id, None, text)
        await asyncio.wait_for(gen.wait(), 30)
        return reply.chat_id, reply.id

    chat_id, reply_id = asyncio.run(turn())
    service.feedback(user_id, chat_id, reply_id, 1, "helpful")
    service.create_key(user_id, "reporting script")
    deadline = time.monotonic() + 30
    while memory.count(str(user_id)) == 0:  # the message is remembered right after the reply
        assert time.monotonic() < deadline, "the message was never remembered"
        time.sleep(0.05)


def test_deleting_a_user_removes_their_rows_and_their_memory(cli_env: Path) -> None:
    cli("init", "--rows", "0")
    settings = get_settings()
    db = get_engine(settings)
    store = get_store(settings)  # the process's store, as `chatdash serve` and the CLI open it
    memory = ChatMemory(store, min_score=-1.0)
    provider = ScriptedProvider(["Noted.", "Noted too."])
    responder = PipelineResponder(load_pipeline("chat"), provider, engine=db, memory=store, settings=settings)
    service = ChatService(db, settings, responder)
    alice = service.sign_up("alice", "long enough password")
    bob = service.sign_up("bob", "long enough password")
    chat_as(service, memory, alice.id, "I manage the Berlin office and my favourite desk is the oak one.")
    chat_as(service, memory, bob.id, "I manage the Madrid office and my favourite desk is the pine one.")
    before = rows_of(db, alice.id)
    assert before == {"users": 1, "chats": 1, "messages": 2, "feedback": 1, "api_keys": 1}
    assert [r.chat_id for r in memory.recall(str(alice.id), "which office do I manage?")]

    declined = runner.invoke(app, ["users", "delete", "alice"], input="n\n")
    assert declined.exit_code == 1 and "nothing deleted" in declined.output
    assert rows_of(db, alice.id) == before and memory.count(str(alice.id)) == 1

    deleted = runner.invoke(app, ["users", "delete", "alice"], input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert "delete alice and all their chats, messages, feedback, API keys and memory?" in deleted.output
    summary = "deleted user alice: 1 chat, 2 messages, 1 feedback rating, 1 API key, 1 memory point"
    assert deleted.output.strip().splitlines()[-1] == summary

    assert rows_of(db, alice.id) == dict.fromkeys(before, 0)
    assert memory.recall(str(alice.id), "which office do I manage?") == []
    assert memory.count(str(alice.id)) == 0
    assert rows_of(db, bob.id) == before  # the other user's rows and memory stay
    kept = memory.recall(str(bob.id), "which office do I manage?")
    assert [r.text for r in kept] == ["I manage the Madrid office and my favourite desk is the pine one."]

    again = runner.invoke(app, ["users", "delete", "alice", "--yes"])
    assert again.exit_code == 1 and "no user 'alice'" in again.output
    assert "deleted user bob" in cli("users", "delete", "bob", "--yes")
    assert memory.count(str(bob.id)) == 0


def test_a_vector_store_held_by_another_process_deletes_nothing(cli_env: Path) -> None:
    """Local mode: one process holds the folder (here a second client stands for `chatdash serve`);
    the command says so and leaves the account whole, to delete once the server is stopped."""
    cli("init", "--rows", "0")
    assert add_user("alice").exit_code == 0
    cli("keys", "create", "a key", "--user", "alice")
    settings = get_settings()
    holder = VectorStore.open(settings)
    try:
        refused = runner.invoke(app, ["users", "delete", "alice", "--yes"])
    finally:
        holder.close()
    assert refused.exit_code == 1 and "open in another process" in refused.output
    assert len(refused.output.strip().splitlines()) <= 3  # one message, not a traceback
    alice = users.get_user_by_name(get_engine(settings), "alice")
    assert alice is not None and rows_of(get_engine(settings), alice.id)["api_keys"] == 1
    assert "deleted user alice: 0 chats, 0 messages, 0 feedback ratings, 1 API key, 0 memory points" in cli(
        "users", "delete", "alice", "--yes"
    )


def test_a_cookie_of_a_deleted_account_opens_nothing(database: Database) -> None:
    """SQLite gives a deleted account's id to the next one created: the old cookie must not open it."""

    def sign_up(client: TestClient, name: str) -> None:
        page = client.get("/").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        form = {"csrf": token[1], "username": name, "password": "long enough password", "action": "signup"}
        assert client.post("/signin", data=form, follow_redirects=False).status_code == 303

    with api(database, session_secret="s" * 40) as a:
        sign_up(a.client, "alice")
        alice = users.get_user_by_name(database.engine, "alice")
        assert alice is not None and a.client.get("/c").status_code == 200
        copied = dict(a.client.cookies)
        users.delete_user(database.engine, "alice", None)
        assert a.client.get("/c", follow_redirects=False).headers["location"] == "/"
        newcomer = TestClient(a.client.app)  # type: ignore[arg-type]
        sign_up(newcomer, "carol")
        carol = users.get_user_by_name(database.engine, "carol")
        assert carol is not None and newcomer.get("/c").status_code == 200
        if database.backend == "sqlite":
            assert carol.id == alice.id  # the id was reused
        stale = TestClient(a.client.app, cookies=copied)  # type: ignore[arg-type]
        assert stale.get("/c", follow_redirects=False).headers["location"] == "/"


@pytest.fixture
def cli_db(cli_env: Path, database: Database, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI on the test database of each backend (a PostgreSQL schema travels in the URL)."""
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    return database.engine


def test_accounts_are_managed_from_the_shell_by_the_sign_up_rules(cli_db: Engine) -> None:
    first = add_user("ann")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "created user ann (an admin)"  # the very first account, as on the web
    assert users.authenticate(cli_db, "ann", "long enough password").is_admin

    short = add_user("bob", password="short")
    assert short.exit_code == 1 and short.output.strip() == "error: a password needs at least 8 characters"
    two_lines = add_user("bob", password="long enough password\nsecond line")
    assert two_lines.exit_code == 1 and "one line" in two_lines.output
    assert add_user("ann").output.strip() == "error: the username 'ann' is taken; choose another"
    assert "a username is 1-64 letters" in add_user("b o b").output
    assert users.get_user_by_name(cli_db, "bob") is None

    # Without --password-stdin it asks, hidden, until the password keeps the rules and is typed twice.
    asked = runner.invoke(
        app,
        ["users", "create", "bob"],
        input="short\nlong enough password\ntypo password\nlong enough password\nlong enough password\n",
    )
    assert asked.exit_code == 0, asked.output
    assert "a password needs at least 8 characters; try again" in asked.output
    assert "the two passwords differ; try again" in asked.output
    assert "long enough" not in asked.output  # never echoed
    assert asked.output.strip().splitlines()[-1] == "created user bob (not an admin)"
    assert not users.authenticate(cli_db, "bob", "long enough password").is_admin
    assert add_user("cy", "--admin").output.strip() == "created user cy (an admin)"

    bob = users.require_user(cli_db, "bob")
    keys_of_bob = [cli("keys", "create", f"key {n}", "--user", "bob") for n in range(2)]
    assert all("for bob" in made for made in keys_of_bob)
    cli("keys", "revoke", "1")
    with cli_db.begin() as connection:
        connection.execute(
            Chat.__table__.insert(), [{"id": f"c{n}", "user_id": bob.id, "title": "t"} for n in range(3)]
        )
    listing = cli("users", "list")
    header = [cell.strip() for cell in listing.splitlines()[1].split("┃")[1:-1]]
    assert header == ["user", "admin", "password", "created", "chats", "live keys"]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in listing.splitlines()[3:-1]]
    assert [(row[0], row[1], row[2], row[4], row[5]) for row in rows] == [
        ("ann", "yes", "yes", "0", "0"),
        ("bob", "", "yes", "3", "1"),  # 3 chats; 2 keys, 1 of them revoked
        ("cy", "yes", "yes", "0", "0"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[3]) for row in rows)

    changed = runner.invoke(
        app, ["users", "set-password", "bob", "--password-stdin"], input="a new password\n"
    )
    assert changed.exit_code == 0, changed.output
    assert changed.output.strip() == "password set for bob; their sessions have ended"
    assert users.authenticate(cli_db, "bob", "a new password").id == bob.id
    with pytest.raises(AuthError):
        users.authenticate(cli_db, "bob", "long enough password")
    after = users.require_user(cli_db, "bob")
    assert after.session_version == bob.session_version + 1  # a session signed in before has ended
    refused = runner.invoke(app, ["users", "set-password", "bob", "--password-stdin"], input="short\n")
    assert refused.exit_code == 1 and "at least 8 characters" in refused.output

    assert cli("users", "promote", "bob").strip() == "bob is an admin"
    assert cli("users", "promote", "bob").strip() == "bob is an admin"  # idempotent
    for name in ("bob", "cy"):
        assert cli("users", "promote", name, "--demote").strip() == f"{name} is not an admin"
    last = runner.invoke(app, ["users", "promote", "ann", "--demote"])
    assert last.exit_code == 1
    assert last.output.strip() == "error: ann is the only admin; promote another user first"
    assert [admin.username for admin in users.admins(cli_db)] == ["ann"]

    for command in (["set-password", "dan", "--password-stdin"], ["promote", "dan"], ["sign-out", "dan"]):
        missing = runner.invoke(app, ["users", *command], input="long enough password\n")
        assert missing.exit_code == 1, command
        assert missing.output.strip() == "error: no user 'dan'; create one with `chatdash users create dan`"


def test_open_mode_accounts_have_no_password(cli_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CHATDASH_AUTH=open a name is the sign-in: no password is asked, and none may be set."""
    monkeypatch.setenv("CHATDASH_AUTH", "open")
    get_settings.cache_clear()
    made = runner.invoke(app, ["users", "create", "dora"])
    assert made.exit_code == 0 and made.output.strip() == "created user dora (an admin)"
    dora = users.require_user(cli_db, "dora")
    assert dora.password_hash is None and users.open_user(cli_db, "dora").id == dora.id
    for command in (["create", "eve", "--password-stdin"], ["set-password", "dora", "--password-stdin"]):
        refused = runner.invoke(app, ["users", *command], input="long enough password\n")
        assert refused.exit_code == 1 and "CHATDASH_AUTH=open" in refused.output, command
    assert users.get_user_by_name(cli_db, "eve") is None
