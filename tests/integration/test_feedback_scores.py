"""Feedback as scores: thumbs, 1-5 stars and a 0-1 scale, each stored with its kind and a score in
[0, 1]; one rating per user and reply (a second replaces the first); out of range → 422, another user's
or an unknown reply → 404, one's own message → 409; ``POST /api/feedback`` rates what ``/api/chat``
returned; the pages offer the kind ``CHATDASH_FEEDBACK_KIND`` names; earlier thumbs get their score
when the database is migrated."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from chatdash.db.migrate import alembic_config, upgrade
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api
from tests.integration.test_chat_web import csrf, sign_up, wait_until_written


def ask(a: Api, headers: dict[str, str]) -> dict[str, Any]:
    answer = a.client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": "Hi"}]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(
    ("given", "kind", "rating", "score"),
    [
        ({"rating": 1}, "thumbs", 1, 1.0),
        ({"rating": -1}, "thumbs", -1, 0.0),
        ({"stars": 1}, "stars", 1, 0.0),
        ({"stars": 4}, "stars", 4, 0.75),
        ({"stars": 5}, "stars", 5, 1.0),
        ({"scale": 0}, "scale", None, 0.0),
        ({"scale": 0.7}, "scale", None, 0.7),
        ({"scale": 1}, "scale", None, 1.0),
    ],
)
def test_every_kind_is_stored_with_its_score(
    database: Database, given: dict[str, Any], kind: str, rating: int | None, score: float
) -> None:
    with api(database, "Hello.") as a:
        _, alice = a.user_key("alice")
        reply = ask(a, alice)
        path = f"/chats/{reply['conversation_id']}/messages/{reply['message_id']}/feedback"
        answer = a.client.put(path, json={**given, "comment": "ok"}, headers=alice)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["kind"], body["rating"], body["score"], body["comment"]) == (kind, rating, score, "ok")
        stored = a.client.get(f"/chats/{reply['conversation_id']}/feedback", headers=alice).json()
        assert [(f["kind"], f["score"]) for f in stored] == [(kind, score)]


@pytest.mark.parametrize(
    "given",
    [
        {"rating": 0},
        {"rating": 2},
        {"stars": 0},
        {"stars": 6},
        {"stars": 2.5},
        {"scale": -0.1},
        {"scale": 1.01},
        {"scale": "0.5"},
        {"stars": True},
        {},
        {"rating": 1, "stars": 5},
        {"comment": "no rating"},
    ],
)
def test_a_rating_out_of_its_range_is_a_422(database: Database, given: dict[str, Any]) -> None:
    with api(database, "Hello.") as a:
        _, alice = a.user_key("alice")
        reply = ask(a, alice)
        path = f"/chats/{reply['conversation_id']}/messages/{reply['message_id']}/feedback"
        answer = a.client.put(path, json=given, headers=alice)
        assert answer.status_code == 422, answer.text
        assert a.client.get(f"/chats/{reply['conversation_id']}/feedback", headers=alice).json() == []


def test_api_feedback_rates_a_reply_once_per_user_and_refuses_others(database: Database) -> None:
    with api(database, "Hello.", "Hi.") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        reply = ask(a, alice)
        ids = {"conversation_id": reply["conversation_id"], "message_id": reply["message_id"]}
        first = a.client.post("/api/feedback", json={**ids, "feedback": {"stars": 2}}, headers=alice)
        assert first.status_code == 200 and first.json()["score"] == 0.25, first.text
        again = a.client.post("/api/feedback", json={**ids, "feedback": {"scale": 0.9}}, headers=alice)
        assert again.json()["id"] == first.json()["id"] and again.json()["kind"] == "scale"  # replaced
        assert [
            f["score"]
            for f in a.client.get(f"/chats/{ids['conversation_id']}/feedback", headers=alice).json()
        ] == [0.9]

        assert (
            a.client.post("/api/feedback", json={**ids, "feedback": {"rating": 1}}, headers=bob).status_code
            == 404
        )
        unknown = {**ids, "message_id": 999_999}
        assert (
            a.client.post(
                "/api/feedback", json={**unknown, "feedback": {"rating": 1}}, headers=alice
            ).status_code
            == 404
        )
        own = {**ids, "message_id": reply["message_id"] - 1}  # alice's own question
        assert (
            a.client.post("/api/feedback", json={**own, "feedback": {"rating": 1}}, headers=alice).status_code
            == 409
        )
        bad = a.client.post("/api/feedback", json={**ids, "feedback": {"stars": 9}}, headers=alice)
        assert bad.status_code == 422
        assert a.client.post("/api/feedback", json={**ids, "feedback": {"rating": 1}}).status_code == 401


@pytest.mark.parametrize(
    ("kind", "field", "value", "thanks"),
    [
        ("stars", "stars", "4", "4 of 5 stars"),
        ("scale", "scale", "0.3", "0.3 of 1"),
        ("thumbs", "rating", "-1", "Bad"),
    ],
)
def test_the_page_offers_the_kind_the_settings_name(
    database: Database, kind: str, field: str, value: str, thanks: str
) -> None:
    with api(database, "Hello.", session_secret="s" * 40, feedback_kind=kind) as a:
        client = a.client
        sign_up(client, "carol")
        sent = client.post("/c", data={"csrf": csrf(client, "/c"), "content": "Hi"})
        page = wait_until_written(client, str(sent.url.path))
        assert f'name="{field}"' in page and all(
            f'name="{other}"' not in page for other in {"rating", "stars", "scale"} - {field}
        )
        reply_id = re.findall(r'id="m(\d+)"', page)[-1]
        chat_id = str(sent.url.path).rsplit("/", 1)[-1]
        rated = client.post(
            f"/c/{chat_id}/m/{reply_id}/feedback", data={"csrf": csrf(client, "/c"), field: value}
        )
        assert f"Thanks: you rated this reply {thanks}." in rated.text
        refused = client.post(
            f"/c/{chat_id}/m/{reply_id}/feedback", data={"csrf": csrf(client, "/c"), "stars": "7"}
        )
        assert refused.status_code == 422 and "stars are a whole number from 1 to 5" in refused.text


def test_thumbs_given_before_scores_get_theirs_when_migrated(database: Database) -> None:
    with api(database, "Hello.", "Hi.") as a:
        _, alice = a.user_key("alice")
        up, down = ask(a, alice), ask(a, alice)
    command.downgrade(alembic_config(database.engine), "0007_prompts")
    with database.engine.begin() as conn:
        for reply, rating in ((up, 1), (down, -1)):
            conn.execute(
                text("INSERT INTO feedback (message_id, user_id, rating, created_at) VALUES (:m, 1, :r, :t)"),
                {"m": reply["message_id"], "r": rating, "t": "2026-01-01 00:00:00"},
            )
    upgrade(database.engine)
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, rating, score FROM feedback ORDER BY message_id")).all()
    assert [tuple(row) for row in rows] == [("thumbs", 1, 1.0), ("thumbs", -1, 0.0)]
