"""The web pages without JavaScript: sign up, CSRF, a chat round trip by form posts, sanitized
Markdown, feedback, stop/retry controls, and another user seeing none of it."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from chatdash.errors import ModelUnavailable
from tests.conftest import Database
from tests.integration.chat_helpers import api, sse_events

EVIL = "**bold** <script>alert(1)</script> [link](javascript:alert(1)) <img src=x onerror=alert(1)>"


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_up(client: TestClient, name: str) -> None:
    form = {"csrf": csrf(client), "username": name, "password": "long enough password", "action": "signup"}
    answer = client.post("/signin", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/c", answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def wait_until_written(client: TestClient, path: str) -> str:
    for _ in range(200):
        page = client.get(path).text
        if 'data-status="streaming"' not in page:
            return page
        time.sleep(0.02)
    raise AssertionError("the reply never finished")


def test_chat_by_form_posts_with_sanitized_markdown_and_feedback(database: Database) -> None:
    with api(database, EVIL, session_secret="s" * 40) as a:
        client = a.client
        assert client.get("/c", follow_redirects=False).headers["location"] == "/"
        assert "Create account" in client.get("/").text
        refused = client.post("/signin", data={"csrf": "forged", "username": "alice", "password": "x" * 10})
        assert refused.status_code == 401 and "did not come from this site" in refused.text
        sign_up(client, "alice")

        token = csrf(client, "/c")
        created = client.post(
            "/c", data={"csrf": token, "content": "Show me markdown"}, follow_redirects=False
        )
        assert created.status_code == 303
        chat_path = created.headers["location"]
        page = wait_until_written(client, chat_path)
        assert "<strong>bold</strong>" in page
        assert "<script>alert" not in page and 'href="javascript' not in page and "<img" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, never run
        assert "Show me markdown" in page  # the chat's title and the user's message

        chat_id = chat_path.rsplit("/", 1)[1]
        _, messages = a.service.messages(1, chat_id)
        reply_id = a.service.messages(1, chat_id)[0][1].id
        assert messages == 2
        given = client.post(
            f"/c/{chat_id}/m/{reply_id}/feedback",
            data={"csrf": token, "rating": "-1", "comment": "unsafe markup"},
            follow_redirects=False,
        )
        assert given.status_code == 303
        assert client.post(f"/c/{chat_id}/m/{reply_id}/feedback", data={"rating": "1"}).status_code == 422
        events = sse_events(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)
        assert events[-1][0] == "done" and "<strong>bold</strong>" in events[-1][1]["html"]

        # another person in another browser sees none of it
        client.cookies.clear()
        sign_up(client, "bob")
        assert client.get(chat_path).status_code == 404
        assert "Show me markdown" not in client.get("/c").text
        assert (
            client.post(f"/c/{chat_id}/send", data={"csrf": csrf(client, "/c"), "content": "hi"}).status_code
            == 404
        )


def test_a_failed_reply_shows_the_error_and_retry_works(database: Database) -> None:
    with api(
        database, ModelUnavailable("cannot reach the LM server"), "Fine now.", session_secret="s" * 40
    ) as a:
        client = a.client
        sign_up(client, "alice")
        token = csrf(client, "/c")
        chat_path = client.post("/c", data={"csrf": token, "content": "Hi"}, follow_redirects=False).headers[
            "location"
        ]
        page = wait_until_written(client, chat_path)
        assert "The model failed: cannot reach the LM server" in page and ">Retry<" in page
        reply_id = int(re.findall(r'data-id="(\d+)"', page)[-1])
        retried = client.post(f"{chat_path}/m/{reply_id}/retry", data={"csrf": token}, follow_redirects=False)
        assert retried.status_code == 303
        assert "Fine now." in wait_until_written(client, chat_path)


def test_open_mode_signs_in_with_a_name(database: Database) -> None:
    with api(database, auth="open", session_secret="s" * 40) as a:
        page = a.client.get("/").text
        assert 'type="password"' not in page
        answer = a.client.post(
            "/signin", data={"csrf": csrf(a.client), "username": "demo"}, follow_redirects=False
        )
        assert answer.status_code == 303
        assert "No chats yet." in a.client.get("/c").text


def test_sign_in_attempts_are_rate_limited(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        token = csrf(a.client)
        form = {"csrf": token, "username": "alice", "password": "wrong password", "action": "signin"}
        statuses = [a.client.post("/signin", data=form).status_code for _ in range(11)]
        assert statuses[:10] == [400] * 10 and statuses[10] == 429
        assert "rate limit" in a.client.post("/signin", data=form).text
