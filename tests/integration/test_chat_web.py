"""The web pages: without JavaScript (sign up, CSRF, a chat round trip by form posts, sanitized
Markdown, feedback, stop/retry controls, and another user seeing none of it) and as htmx uses them
(``HX-Request`` fragments, the SSE events route, HTML error pages and notes), plus the session cookie's
``Secure`` flag over HTTPS."""

from __future__ import annotations

import fnmatch
import html
import re
import time
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatdash.errors import ModelUnavailable
from chatdash.llm.providers.scripted import ScriptedProvider
from tests.conftest import Database
from tests.integration.chat_helpers import api, sse

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


HX = {"HX-Request": "true"}


def new_chat(client: TestClient) -> tuple[str, str]:
    """A fresh empty chat: its id and the page's CSRF token."""
    token = csrf(client, "/c")
    chat_path = client.post("/c", data={"csrf": token}, follow_redirects=False).headers["location"]
    return chat_path.rsplit("/", 1)[1], token


def written_reply(client: TestClient) -> tuple[str, str, str, int]:
    """A new chat with "Hi" sent through htmx and its reply written: chat id, CSRF token, page, reply id."""
    chat_id, token = new_chat(client)
    client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "Hi"}, headers=HX)
    page = wait_until_written(client, f"/c/{chat_id}")
    return chat_id, token, page, int(re.findall(r'data-id="(\d+)"', page)[-1])


def items(fragment: str) -> list[str]:
    """The message <li> start tags of a fragment, in order."""
    return re.findall(r'<li id="m\d+"[^>]*>', fragment)


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
        reloaded = client.get(chat_path).text  # the rating and comment given stay on the page
        assert 'value="-1" title="Bad answer" aria-pressed="true"' in reloaded
        assert 'value="unsafe markup"' in reloaded and "you rated this reply Bad" in reloaded
        assert client.post(f"/c/{chat_id}/m/{reply_id}/feedback", data={"rating": "1"}).status_code == 422
        events = sse(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)
        assert events[-1][0] == "done" and "<strong>bold</strong>" in events[-1][1]

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


def test_htmx_send_appends_the_turn_and_the_reply_streams_as_escaped_text(database: Database) -> None:
    model = ScriptedProvider([EVIL, "Second answer."], delay_s=0.02)  # word by word, as a model writes
    with api(database, provider=model, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(client)
        assert '<h1 id="title">New chat</h1>' in client.get(f"/c/{chat_id}").text

        sent = client.post(
            f"/c/{chat_id}/send", data={"csrf": token, "content": "Show <me> markdown"}, headers=HX
        )
        assert sent.status_code == 200 and "<html" not in sent.text
        user, reply = items(sent.text)
        assert 'class="message user complete"' in user
        assert "<p>Show &lt;me&gt; markdown</p>" in sent.text  # the user's text, escaped
        reply_id = int(re.findall(r'data-id="(\d+)"', reply)[0])
        assert f'sse-connect="/c/{chat_id}/m/{reply_id}/events"' in reply and 'sse-close="done"' in reply
        assert 'hx-ext="sse"' in reply and 'data-status="streaming"' in reply
        assert 'sse-swap="delta" hx-swap="beforeend"' in sent.text
        assert 'sse-swap="done" hx-target="closest li" hx-swap="outerHTML"' in sent.text
        assert '<button id="send" disabled hx-swap-oob="true">Send</button>' in sent.text
        # the first message names the chat: the heading and the sidebar entry change out of band
        assert '<h1 id="title" hx-swap-oob="true">Show &lt;me&gt; markdown</h1>' in sent.text
        assert re.search(rf'<li id="chat-{chat_id}" class="current" hx-swap-oob="true">', sent.text)

        answer = client.get(f"/c/{chat_id}/m/{reply_id}/events")
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-accel-buffering"] == "no"
        events = sse(answer.text)
        deltas = [data for name, data in events if name == "delta"]
        assert len(deltas) >= 3 and "".join(deltas) == html.escape(EVIL, quote=False)
        assert all("<" not in delta for delta in deltas)  # text, never markup
        name, done = events[-1]
        assert name == "done" and [n for n, _ in events].count("done") == 1
        assert items(done) == [
            f'<li id="m{reply_id}" class="message assistant complete" data-id="{reply_id}" '
            'data-status="complete">'
        ]
        assert "<strong>bold</strong>" in done and "&lt;script&gt;alert(1)&lt;/script&gt;" in done
        assert "<script" not in done and "<img" not in done and 'href="javascript' not in done
        assert not re.search(r"<[^>]*\bonerror", done)  # no tag carries the handler
        assert ">Good</button>" in done and ">Bad</button>" in done and "sse-connect" not in done
        assert '<button id="send" hx-swap-oob="true">Send</button>' in done

        # a later message keeps the title; without HX-Request the same form posts and redirects
        again = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "More"}, headers=HX)
        assert len(items(again.text)) == 2 and 'id="title"' not in again.text
        wait_until_written(client, f"/c/{chat_id}")
        plain = client.post(
            f"/c/{chat_id}/send", data={"csrf": token, "content": " "}, follow_redirects=False
        )
        assert plain.status_code == 303
        assert (
            client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": " "}, headers=HX).status_code
            == 204
        )


def test_htmx_feedback_shows_the_rating(database: Database) -> None:
    with api(database, "A fine answer.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, reply_id = written_reply(client)
        assert "aria-pressed" not in page and "Thanks" not in page

        rated = client.post(
            f"/c/{chat_id}/m/{reply_id}/feedback",
            data={"csrf": token, "rating": "-1", "comment": "too <short>"},
            headers=HX,
        )
        assert rated.status_code == 200
        assert items(rated.text) == [
            f'<li id="m{reply_id}" class="message assistant complete" data-id="{reply_id}" '
            'data-status="complete">'
        ]
        assert 'value="1" title="Good answer" aria-pressed="false"' in rated.text
        assert 'value="-1" title="Bad answer" aria-pressed="true"' in rated.text
        assert "Thanks: you rated this reply Bad." in rated.text
        assert 'value="too &lt;short&gt;"' in rated.text
        assert "A fine answer." in rated.text


def test_rename_by_form_post_and_by_htmx(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(client)
        plain = client.post(
            f"/c/{chat_id}/rename", data={"csrf": token, "title": "Q3 <plans>"}, follow_redirects=False
        )
        assert plain.status_code == 303 and plain.headers["location"] == f"/c/{chat_id}"
        page = client.get(f"/c/{chat_id}").text
        assert '<h1 id="title">Q3 &lt;plans&gt;</h1>' in page
        assert '<input id="title-input" name="title" value="Q3 &lt;plans&gt;"' in page

        swapped = client.post(f"/c/{chat_id}/rename", data={"csrf": token, "title": "Budget"}, headers=HX)
        assert swapped.status_code == 200 and items(swapped.text) == []
        assert '<h1 id="title" hx-swap-oob="true">Budget</h1>' in swapped.text
        assert '<input id="title-input" name="title" value="Budget"' in swapped.text
        assert (
            f'<li id="chat-{chat_id}" class="current" hx-swap-oob="true"><a href="/c/{chat_id}">Budget</a>'
            in (swapped.text)
        )
        empty = client.post(f"/c/{chat_id}/rename", data={"csrf": token, "title": "  "}, headers=HX)
        assert empty.status_code == 422 and "cannot be empty" in empty.text
        assert a.service.chat(1, chat_id).title == "Budget"


def test_htmx_stop_keeps_the_text_and_conflicts_show_a_note(database: Database) -> None:
    slow = ScriptedProvider(["word " * 400], delay_s=0.02)
    with api(database, provider=slow, session_secret="s" * 40, chat_max_tokens=1000) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(client)
        sent = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "Go on"}, headers=HX)
        reply_id = int(re.findall(r'data-id="(\d+)"', items(sent.text)[1])[0])
        busy = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "And?"}, headers=HX)
        assert busy.status_code == 409
        assert busy.headers["hx-retarget"] == "#flash" and busy.headers["hx-reswap"] == "innerHTML"
        assert busy.text.startswith('<p class="error" role="alert">') and "still being written" in busy.text
        for _ in range(500):  # until some words are written (the reply takes 8 s in all)
            gen = a.service.generations.get(reply_id)
            if gen is not None and "word" in gen.text:
                break
            time.sleep(0.01)

        stopped = client.post(f"/c/{chat_id}/m/{reply_id}/stop", data={"csrf": token}, headers=HX)
        assert stopped.status_code == 200
        assert 'data-status="stopped"' in items(stopped.text)[0] and "sse-connect" not in stopped.text
        assert ">Retry</button>" in stopped.text and ">Good</button>" in stopped.text
        assert '<button id="send" hx-swap-oob="true">Send</button>' in stopped.text
        kept = re.search(r'<div class="body">(.*?)</div>', stopped.text, re.S)
        assert kept and 0 < kept.group(1).count("word") < 400
        page = client.get(f"/c/{chat_id}").text
        assert 'data-status="stopped"' in page and kept.group(1) in page
        # the events route of a stopped reply: its text, then the final <li>
        events = sse(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)
        assert [name for name, _ in events] == ["delta", "done"] and 'data-status="stopped"' in events[1][1]


def test_htmx_retry_streams_again(database: Database) -> None:
    with api(
        database, ModelUnavailable("cannot reach the LM server"), "Fine now.", session_secret="s" * 40
    ) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, reply_id = written_reply(client)
        assert "The model failed: cannot reach the LM server" in page

        retried = client.post(f"/c/{chat_id}/m/{reply_id}/retry", data={"csrf": token}, headers=HX)
        assert retried.status_code == 200
        assert f'sse-connect="/c/{chat_id}/m/{reply_id}/events"' in retried.text
        assert '<button id="send" disabled hx-swap-oob="true">Send</button>' in retried.text
        done = sse(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)[-1][1]
        assert (
            "<p>Fine now.</p>" in done and 'data-status="complete"' in done and "The model failed" not in done
        )


def test_errors_on_pages_are_html_and_apis_stay_json(database: Database) -> None:
    with api(database, "Private.", session_secret="s" * 40, chat_max_message_chars=50) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(client)
        too_long = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "x" * 51}, headers=HX)
        assert too_long.status_code == 422 and too_long.headers["hx-retarget"] == "#flash"
        assert "at most 50 characters" in too_long.text and "<html" not in too_long.text
        plain = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "x" * 51})
        assert plain.status_code == 422 and plain.headers["content-type"].startswith("text/html")
        assert "at most 50 characters" in plain.text and '<div id="flash"' in plain.text
        incomplete = client.post(f"/c/{chat_id}/send", data={"content": "hi"})
        assert incomplete.status_code == 422 and "csrf" in incomplete.text and "<html" in incomplete.text
        missing = client.get("/no/such/page")
        assert missing.status_code == 404 and "This page does not exist." in missing.text

        client.cookies.clear()
        sign_up(client, "bob")
        other = client.get(f"/c/{chat_id}")
        assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
        assert "<h1>Not Found</h1>" in other.text and 'href="/c"' in other.text
        assert "Private" not in other.text and "Traceback" not in other.text
        hx = client.post(f"/c/{chat_id}/send", data={"csrf": csrf(client, "/c"), "content": "hi"}, headers=HX)
        assert hx.status_code == 404 and hx.headers["hx-retarget"] == "#flash"
        assert hx.text.startswith('<p class="error" role="alert">') and "<html" not in hx.text

        client.cookies.clear()  # signed out: htmx is sent to the sign-in page as a whole
        gone = client.post(f"/c/{chat_id}/send", data={"csrf": "x", "content": "hi"}, headers=HX)
        assert gone.status_code == 401 and gone.headers["hx-redirect"] == "/"
        # the APIs keep their JSON bodies
        api_error = client.get(f"/chats/{chat_id}")
        assert api_error.status_code == 401 and "detail" in api_error.json()
        assert client.get("/api/nothing").json() == {"detail": "Not Found"}


def test_session_cookie_is_secure_over_https_only(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        plain = a.client.get("/").headers["set-cookie"].lower()
        assert plain.startswith("chatdash_session=") and "httponly" in plain and "secure" not in plain
        https = TestClient(a.client.app, base_url="https://testserver")  # the app already runs
        cookie = https.get("/").headers["set-cookie"].lower()
        assert cookie.startswith("chatdash_session=") and cookie.endswith("; secure")
        form = {"csrf": csrf(https), "username": "alice", "password": "long enough password"}
        signed = https.post("/signin", data=form | {"action": "signup"}, follow_redirects=False)
        assert signed.status_code == 303 and "; secure" in signed.headers["set-cookie"].lower()
        assert https.get("/c").status_code == 200  # and comes back over HTTPS


def test_the_wheel_ships_every_template_and_static_file() -> None:
    """The pages need their templates and the vendored htmx installed, not only in a source checkout."""
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = root / "src" / "chatdash"
    files = [
        p for d in ("templates", "static") for p in (package / "chat" / "web" / d).rglob("*") if p.is_file()
    ]
    assert any(p.name.startswith("htmx-2.0.11") for p in files)
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(matches(relative, glob) for glob in globs["chatdash"]), relative


def matches(path: str, glob: str) -> bool:
    """setuptools' package-data glob: ``*`` stays within one folder."""
    parts, pattern = path.split("/"), glob.split("/")
    return len(parts) == len(pattern) and all(map(fnmatch.fnmatchcase, parts, pattern))


def test_a_too_long_message_is_refused_alike_on_every_edge(database: Database) -> None:
    """One check (the service's), one message: the start page no longer cuts a first message silently."""
    with api(database, "Fine.", session_secret="s" * 40, chat_max_message_chars=50) as a:
        client = a.client
        sign_up(client, "alice")
        said = "a message may have at most 50 characters (this one has 51)"
        token = csrf(client, "/c")
        start = client.post("/c", data={"csrf": token, "content": "x" * 51}, follow_redirects=False)
        assert start.status_code == 422 and said in start.text and "<html" in start.text
        assert f">{'x' * 51}</textarea>" in start.text  # the start page again, the text as typed kept
        assert a.service.chats(1) == ([], 0)  # nothing stored, no chat made
        chat_id, token = new_chat(client)
        page = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "x" * 51}, headers=HX)
        assert page.status_code == 422 and said in page.text
        _, headers = a.user_key("bob")
        ask = {"messages": [{"role": "user", "content": "x" * 51}]}
        api_answer = a.client.post("/api/chat", json=ask, headers=headers)
        assert api_answer.status_code == 422 and api_answer.json()["detail"] == said
        created = a.client.post("/chats", json={}, headers=headers).json()["id"]
        for path, body in (
            ("messages", {"role": "user", "content": "x" * 51}),
            ("turns", {"content": "x" * 51}),
        ):
            refused = a.client.post(f"/chats/{created}/{path}", json=body, headers=headers)
            assert refused.status_code == 422 and refused.json()["detail"] == said, path


def test_an_unexpected_error_is_a_logged_500_never_a_422(
    database: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ValueError from a bug is not bad input: a 500 (JSON for APIs, a page for people), logged."""
    with api(database, session_secret="s" * 40) as a:
        _, headers = a.user_key("alice")

        def broken(*_args: object, **_kwargs: object) -> None:
            raise ValueError("a bug deep inside")

        monkeypatch.setattr(a.service, "chats", broken)
        client = TestClient(a.client.app, raise_server_exceptions=False)
        with caplog.at_level("ERROR", logger="chatdash.chat.http_errors"):
            answer = client.get("/chats", headers=headers)
        assert answer.status_code == 500 and answer.json() == {"detail": "internal error"}
        assert "a bug deep inside" not in answer.text
        assert any(r.exc_info and "a bug deep inside" in str(r.exc_info[1]) for r in caplog.records)
        sign_up(client, "bob")
        page = client.get("/c")
        assert page.status_code == 500 and "<html" in page.text and "Something went wrong" in page.text
        assert "a bug deep inside" not in page.text


def test_every_signed_in_form_refuses_a_forged_token(database: Database) -> None:
    """Generated from the page routes, so a new form is covered the day it is added: each POST that
    takes a ``csrf`` field refuses a forged one (401) and changes nothing."""
    import inspect

    with api(database, "Hi there.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, _, _, reply_id = written_reply(client)
        pages = [
            route
            for included in client.app.routes  # type: ignore[attr-defined]
            for route in getattr(getattr(included, "original_router", None), "routes", [])
            if "POST" in getattr(route, "methods", ())
            and "csrf" in inspect.signature(route.endpoint).parameters
        ]
        assert len(pages) >= 9, [route.path for route in pages]
        fields = {"content": "hello", "title": "forged", "rating": "1", "username": "x", "password": "y" * 10}
        for route in pages:
            path = route.path.replace("{chat_id}", chat_id).replace("{message_id}", str(reply_id))
            answer = client.post(path, data={"csrf": "forged", **fields}, follow_redirects=False)
            assert answer.status_code == 401, (route.path, answer.status_code)
            assert "did not come from this site" in answer.text, route.path
        _, count = a.service.messages(1, chat_id)
        assert count == 2 and a.service.chat(1, chat_id).title != "forged"  # nothing was changed
        assert a.service.chat_feedback(1, chat_id) == {}


def test_signing_out_ends_the_session_for_a_copied_cookie_too(database: Database) -> None:
    """A cookie copied before sign-out no longer signs anyone in; `users.end_sessions` (the CLI's
    `chatdash users sign-out`) ends every session of an account."""
    from chatdash.chat import users

    with api(database, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        copied = dict(client.cookies)
        assert client.get("/c").status_code == 200
        out = client.post("/signout", data={"csrf": csrf(client, "/c")}, follow_redirects=False)
        assert out.status_code == 303
        thief = TestClient(client.app, cookies=copied)  # type: ignore[arg-type]
        assert thief.get("/c", follow_redirects=False).headers["location"] == "/"

        form = {"csrf": csrf(client), "username": "alice", "password": "long enough password"}
        assert client.post("/signin", data=form, follow_redirects=False).status_code == 303
        assert client.get("/c").status_code == 200  # signing in again works
        users.end_sessions(database.engine, a.service.sign_in("alice", "long enough password").id)
        assert client.get("/c", follow_redirects=False).headers["location"] == "/"
