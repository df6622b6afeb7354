"""Finding and taking away chats: ``GET /search`` over titles and messages (SQLite FTS5, PostgreSQL
full-text, both stemming English), scoped to the user, safe for any text typed; ``GET /chats/{id}/export``
as Markdown and JSON; editing a sent message and resending it."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.conftest import Database
from tests.integration.chat_helpers import Api, api

REPLIES = ("Brass lamps glow warmly in a hallway.", "The budget for 2025 is on the dashboard.", "Noted.")


def ask(a: Api, headers: dict[str, str], text: str, chat: str | None = None) -> str:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    if chat:
        body["conversation_id"] = chat
    answer = a.client.post("/api/chat", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["conversation_id"])


def found(a: Api, headers: dict[str, str], q: str) -> list[dict[str, Any]]:
    answer = a.client.get("/search", params={"q": q}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_search_finds_titles_and_messages_of_ones_own_chats_by_stem(database: Database) -> None:
    with api(database, *REPLIES) as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        lamps = ask(a, alice, "Which lamps suit the hallway?")
        budget = ask(a, alice, "Where is the budget?")
        ask(a, bob, "My lamp is broken")

        hits = found(a, alice, "lamp")  # stemmed: finds "lamps"
        assert {h["chat_id"] for h in hits} == {lamps}  # never bob's
        assert hits[0]["message_id"] is None and hits[0]["title"] == "Which lamps suit the hallway?"
        kinds = {(h["role"], h["snippet"]) for h in hits[1:]}
        assert kinds == {("user", "Which lamps suit the hallway?"), ("assistant", REPLIES[0])}
        for hit in hits:
            assert [hit["snippet"][s:e].lower() for s, e in hit["marks"]] == ["lamps"]

        assert {h["chat_id"] for h in found(a, alice, "glowing hallways")} == {lamps}  # every word, stemmed
        assert found(a, alice, "lamps budget") == []
        assert [h["chat_id"] for h in found(a, alice, "dashboard")] == [budget]


def test_search_takes_any_text_and_follows_edits_and_deletes(database: Database) -> None:
    with api(database, *REPLIES) as a:
        _, alice = a.user_key("alice")
        chat = ask(a, alice, "Which lamps suit the hallway?")
        for typed in ['lamp" OR *', "NEAR(lamp", "-lamp", "lamp:*", "'; DROP TABLE messages; --", "ünïcödé"]:
            answer = a.client.get("/search", params={"q": typed}, headers=alice)
            assert answer.status_code == 200, (typed, answer.text)
        assert found(a, alice, "!!! ???") == []
        assert a.client.get("/search", params={"q": "x" * 201}, headers=alice).status_code == 422
        assert a.client.get("/search", params={"q": "a\x00b"}, headers=alice).status_code == 422

        reply = a.client.get(f"/chats/{chat}/messages", headers=alice).json()["data"][1]
        changed = {"content": "Chandeliers sparkle."}
        patched = a.client.patch(f"/chats/{chat}/messages/{reply['id']}", json=changed, headers=alice)
        assert patched.status_code == 200, patched.text
        assert [h["role"] for h in found(a, alice, "chandelier")] == ["assistant"]
        assert [h for h in found(a, alice, "brass") if h["message_id"] == reply["id"]] == []

        assert a.client.delete(f"/chats/{chat}", headers=alice).status_code == 204
        assert found(a, alice, "lamp") == [] and found(a, alice, "chandelier") == []


def test_a_chat_exports_as_markdown_and_json(database: Database) -> None:
    with api(database, *REPLIES) as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        chat = ask(a, alice, "Which lamps suit the hallway?")
        ask(a, alice, "And the budget?", chat)

        md = a.client.get(f"/chats/{chat}/export", headers=alice)
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert 'filename="chat-which-lamps-suit-the-hallway-' in md.headers["content-disposition"]
        text = md.text
        assert text.startswith("# Which lamps suit the hallway?")
        said = ("## You", "Which lamps", "## chatdash", REPLIES[0], "And the budget?")
        body_at = text.index("## You")  # after the title, which holds the first message's words too
        order = [text.index(s, body_at) for s in said]
        assert order == sorted(order)

        as_json = a.client.get(f"/chats/{chat}/export", params={"format": "json"}, headers=alice)
        body = json.loads(as_json.text)
        assert body["chat"]["id"] == chat
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "Which lamps suit the hallway?"),
            ("assistant", REPLIES[0]),
            ("user", "And the budget?"),
            ("assistant", REPLIES[1]),
        ]
        assert a.client.get(f"/chats/{chat}/export", headers=bob).status_code == 404  # another user's
        assert a.client.get(f"/chats/{chat}/export?format=pdf", headers=alice).status_code == 422


def wait_complete(a: Api, headers: dict[str, str], chat: str) -> list[dict[str, Any]]:
    for _ in range(200):
        messages = list(a.client.get(f"/chats/{chat}/messages", headers=headers).json()["data"])
        if messages and messages[-1]["status"] != "streaming":
            return messages
        time.sleep(0.02)
    raise AssertionError("the reply was not written")


def test_edit_and_resend_replaces_the_turns_after_the_message(database: Database) -> None:
    with api(database, "First answer.", "Second answer.", "Answer to the edit.") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        chat = ask(a, alice, "How many lamps?")
        ask(a, alice, "And chairs?", chat)
        first, _, _, answer = wait_complete(a, alice, chat)
        rated = a.client.put(
            f"/chats/{chat}/messages/{answer['id']}/feedback", json={"rating": 1}, headers=alice
        )
        assert rated.status_code == 200, rated.text

        edited = a.client.post(
            f"/chats/{chat}/messages/{first['id']}/edit", json={"content": "How many tables?"}, headers=alice
        )
        assert edited.status_code == 202, edited.text
        after = wait_complete(a, alice, chat)
        assert [(m["role"], m["content"], m["position"]) for m in after] == [
            ("user", "How many tables?", 0),
            ("assistant", "Answer to the edit.", 1),
        ]
        assert a.client.get(f"/chats/{chat}/feedback", headers=alice).json() == []  # went with its reply
        sent = [(m.role, m.content) for m in a.provider.requests[-1].messages[1:]]
        assert sent == [("user", "How many tables?")]  # the dropped turns are not the model's history

        reply_id = after[1]["id"]
        retold = {"content": "x"}
        assert (
            a.client.post(f"/chats/{chat}/messages/{reply_id}/edit", json=retold, headers=alice).status_code
            == 409
        )
        assert (
            a.client.post(f"/chats/{chat}/messages/{first['id']}/edit", json=retold, headers=bob).status_code
            == 404
        )
        blank = a.client.post(
            f"/chats/{chat}/messages/{first['id']}/edit", json={"content": " "}, headers=alice
        )
        assert blank.status_code == 422
