"""The web pages: without JavaScript (sign up, CSRF, a chat round trip by form posts, sanitized
Markdown, feedback, stop/retry controls, and another user seeing none of it) and as htmx uses them
(``HX-Request`` fragments, the SSE events route, HTML error pages and notes), plus the session cookie's
``Secure`` flag over HTTPS, a chat stored only with its first message, refusals shown beside their box,
sign-in back to the page that was opened (never to another host), /docs served from local files, and
what users of other chat UIs miss first: search, the chat list by date, export, regenerate, edit and
resend."""

from __future__ import annotations

import fnmatch
import re
import time
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatdash.chat import users
from chatdash.chat.web.render import markdown
from chatdash.errors import ModelUnavailable
from chatdash.llm import Message
from chatdash.llm.providers.scripted import ScriptedProvider
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api, sse

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


def user_id(a: Api, name: str = "alice") -> int:
    user = users.get_user_by_name(a.service.engine, name)
    assert user is not None
    return user.id


def new_chat(a: Api, name: str = "alice") -> tuple[str, str]:
    """An empty chat of ``name``'s (as the API makes one: the pages store a chat only with its first
    message) and the page's CSRF token."""
    return a.service.create_chat(user_id(a, name)).id, csrf(a.client, "/c")


def written_reply(a: Api) -> tuple[str, str, str, int]:
    """A new chat with "Hi" sent through htmx and its reply written: chat id, CSRF token, page, reply id."""
    chat_id, token = new_chat(a)
    a.client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "Hi"}, headers=HX)
    page = wait_until_written(a.client, f"/c/{chat_id}")
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


def test_htmx_send_appends_the_turn_and_the_reply_streams_as_sanitized_markdown(database: Database) -> None:
    model = ScriptedProvider([EVIL, "Second answer."], delay_s=0.02)  # word by word, as a model writes
    with api(database, provider=model, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(a)
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
        assert 'sse-swap="text" hx-swap="innerHTML"' in sent.text
        assert 'sse-swap="done" hx-target="closest li" hx-swap="outerHTML"' in sent.text
        assert '<button id="send" disabled hx-swap-oob="true">Send</button>' in sent.text
        # the first message names the chat: the heading and the sidebar entry change out of band
        assert '<h1 id="title" hx-swap-oob="true">Show &lt;me&gt; markdown</h1>' in sent.text
        assert re.search(rf'<li id="chat-{chat_id}" class="current" hx-swap-oob="true">', sent.text)

        answer = client.get(f"/c/{chat_id}/m/{reply_id}/events")
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-accel-buffering"] == "no"
        events = sse(answer.text)
        texts = [data for name, data in events if name == "text"]  # the whole text so far, rendered
        assert len(texts) >= 2 and texts[-1] == markdown(EVIL), texts  # rendered as it grows, to its end
        for text in texts:  # sanitized as the finished reply is
            assert "<script" not in text and "<img" not in text and 'href="javascript' not in text
        name, done = events[-1]
        assert name == "done" and [n for n, _ in events].count("done") == 1
        assert items(done) == [
            f'<li id="m{reply_id}" class="message assistant complete" data-id="{reply_id}" '
            'data-status="complete">'
        ]
        assert "<strong>bold</strong>" in done and "&lt;script&gt;alert(1)&lt;/script&gt;" in done
        assert f'<div class="body">{texts[-1]}</div>' in done  # nothing jumps at the end
        assert "<script" not in done and "<img" not in done and 'href="javascript' not in done
        assert not re.search(r"<[^>]*\bonerror", done)  # no tag carries the handler
        assert ">Good</button>" in done and ">Bad</button>" in done and "sse-connect" not in done
        assert '<button id="send" hx-swap-oob="true">Send</button>' in done

        # a later message keeps the title; without HX-Request the same form posts and redirects
        again = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "More"}, headers=HX)
        assert len(items(again.text)) == 2 and 'id="title"' not in again.text
        wait_until_written(client, f"/c/{chat_id}")
        plain = client.post(
            f"/c/{chat_id}/send", data={"csrf": token, "content": "Later"}, follow_redirects=False
        )
        assert plain.status_code == 303 and plain.headers["location"].startswith(f"/c/{chat_id}#m")


def test_htmx_feedback_shows_the_rating(database: Database) -> None:
    with api(database, "A fine answer.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, reply_id = written_reply(a)
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
        chat_id, token = new_chat(a)
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
        assert a.service.chat(user_id(a), chat_id).title == "Budget"


def test_htmx_stop_keeps_the_text_and_conflicts_show_a_note(database: Database) -> None:
    slow = ScriptedProvider(["word " * 400], delay_s=0.02)
    with api(database, provider=slow, session_secret="s" * 40, chat_max_tokens=1000) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(a)
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
        assert [name for name, _ in events] == ["text", "done"] and 'data-status="stopped"' in events[1][1]


def test_htmx_retry_streams_again(database: Database) -> None:
    with api(
        database, ModelUnavailable("cannot reach the LM server"), "Fine now.", session_secret="s" * 40
    ) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, reply_id = written_reply(a)
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
        chat_id, token = new_chat(a)
        too_long = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "x" * 51}, headers=HX)
        assert (
            too_long.status_code == 422 and too_long.headers["hx-retarget"] == "#ask-note"
        )  # beside the box
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
        chat_id, token = new_chat(a)
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
        said = f"internal error (request id {answer.headers['X-Request-ID']})"  # the log record's id
        assert answer.status_code == 500 and answer.json() == {"detail": said}
        assert "a bug deep inside" not in answer.text
        assert any(r.exc_info and "a bug deep inside" in str(r.exc_info[1]) for r in caplog.records)
        sign_up(client, "bob")
        page = client.get("/c")
        assert page.status_code == 500 and "<html" in page.text and "Something went wrong" in page.text
        assert f"request id {page.headers['X-Request-ID']}" in page.text
        assert "a bug deep inside" not in page.text


def test_every_signed_in_form_refuses_a_forged_token(database: Database) -> None:
    """Generated from the page routes, so a new form is covered the day it is added: each POST that
    takes a ``csrf`` field refuses a forged one (401) and changes nothing."""
    import inspect

    with api(database, "Hi there.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, _, _, reply_id = written_reply(a)
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


def test_new_chat_is_stored_with_its_first_message(database: Database) -> None:
    """ "New chat" opens an empty composer and stores nothing (it used to store an empty chat per
    click); the first message creates the chat, and with htmx the page becomes that chat's in place."""
    with api(database, "Hello there.", "Second.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        start = client.get("/c").text
        assert '<a href="/c" class="new-chat">New chat</a>' in start  # a link: nothing is posted
        assert '<form method="post" action="/c" class="ask" id="ask"' in start
        assert '<h1 id="title">New chat</h1>' in start and '<ol class="messages" id="messages">' in start
        nothing = client.post("/c", data={"csrf": csrf(client, "/c")}, follow_redirects=False)
        assert nothing.status_code == 422 and "cannot be empty" in nothing.text
        assert a.service.chats(user_id(a)) == ([], 0)

        sent = client.post("/c", data={"csrf": csrf(client, "/c"), "content": "Plan <Q3>"}, headers=HX)
        assert sent.status_code == 200 and "<html" not in sent.text
        (chat,), count = a.service.chats(user_id(a))
        assert count == 1 and chat.title == "Plan <Q3>"
        assert sent.headers["hx-push-url"] == f"/c/{chat.id}"  # the address bar shows the chat
        user, reply = items(sent.text)
        assert 'class="message user complete"' in user and 'data-status="streaming"' in reply
        # out of band: the composer now adds to this chat, rename and delete appear, the list has it
        assert re.search(
            rf'<form method="post" action="/c/{chat.id}/send" class="ask" id="ask"[^>]*'
            r'hx-swap-oob="true"',
            sent.text,
        )
        assert '<button id="send" disabled>Send</button>' in sent.text
        assert '<div id="chat-tools" hx-swap-oob="true">' in sent.text
        assert f'action="/c/{chat.id}/rename"' in sent.text and f'action="/c/{chat.id}/delete"' in sent.text
        assert re.search(r'<nav class="chats" id="chats"[^>]*hx-swap-oob="true">', sent.text)
        assert (
            f'<li id="chat-{chat.id}" class="current"><a href="/c/{chat.id}">Plan &lt;Q3&gt;</a>' in sent.text
        )
        assert "No chats yet." not in sent.text
        assert '<h1 id="title" hx-swap-oob="true">Plan &lt;Q3&gt;</h1>' in sent.text
        assert "<title>Plan &lt;Q3&gt; · chatdash</title>" in sent.text  # the tab's title too
        assert sent.text.count("hx-swap-oob") == 4  # never nested: htmx would swap a nested one twice
        wait_until_written(client, f"/c/{chat.id}")
        assert a.service.messages(user_id(a), chat.id)[1] == 2

        plain = client.post(
            "/c", data={"csrf": csrf(client, "/c"), "content": "Other"}, follow_redirects=False
        )
        assert plain.status_code == 303
        (newest, _), count = a.service.chats(user_id(a))
        assert count == 2 and plain.headers["location"] == f"/c/{newest.id}"


def test_a_blank_message_is_refused_beside_the_box(database: Database) -> None:
    """Only spaces: 422 with a message beside the box, nothing stored (the start page used to create an
    empty chat, a chat silently ignored it)."""
    with api(database, "Fine.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        token = csrf(client, "/c")
        blank = " \n\t "
        plain = client.post("/c", data={"csrf": token, "content": blank}, follow_redirects=False)
        assert plain.status_code == 422 and "a message cannot be empty" in plain.text
        assert re.search(
            r'<div id="ask-note" class="note"><p class="error" role="alert">a message cannot', plain.text
        )
        hx = client.post("/c", data={"csrf": token, "content": blank}, headers=HX)
        assert hx.status_code == 422 and hx.headers["hx-retarget"] == "#ask-note"
        assert hx.text.startswith('<p class="error" role="alert">a message cannot be empty')
        assert a.service.chats(user_id(a)) == ([], 0)

        chat_id, token = new_chat(a)
        inside = client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": blank}, headers=HX)
        assert inside.status_code == 422 and inside.headers["hx-retarget"] == "#ask-note"
        assert "a message cannot be empty" in inside.text
        page = client.post(
            f"/c/{chat_id}/send", data={"csrf": token, "content": blank}, follow_redirects=False
        )
        assert page.status_code == 422 and "a message cannot be empty" in page.text
        assert f'action="/c/{chat_id}/send"' in page.text  # the chat's page again, not an error page
        assert a.service.messages(user_id(a), chat_id) == ([], 0)


def test_a_refused_title_shows_beside_the_box_and_keeps_the_text(database: Database) -> None:
    """The blank-rename error goes next to the title box (it went to the top of the page) and the
    box keeps what was typed; an empty box says the same, not "the form was incomplete"."""
    with api(database, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(a)
        page = client.get(f"/c/{chat_id}").text
        assert re.search(
            r'<input id="title-input"[^>]*>\s*<button>Rename</button>\s*<span id="rename-note"', page
        )
        for title in ("   ", ""):
            hx = client.post(f"/c/{chat_id}/rename", data={"csrf": token, "title": title}, headers=HX)
            assert hx.status_code == 422 and hx.headers["hx-retarget"] == "#rename-note"
            assert hx.text.startswith('<p class="error" role="alert">a chat title cannot be empty')
            assert "title-input" not in hx.text  # the box is left as it is
        plain = client.post(
            f"/c/{chat_id}/rename", data={"csrf": token, "title": "   "}, follow_redirects=False
        )
        assert plain.status_code == 422
        assert '<input id="title-input" name="title" value="   "' in plain.text
        assert re.search(
            r'<span id="rename-note" class="note"><span class="error" role="alert">a chat title', plain.text
        )
        assert a.service.chat(user_id(a), chat_id).title == "New chat"


def test_the_tab_title_follows_a_rename(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token = new_chat(a)
        assert "<title>New chat · chatdash</title>" in client.get(f"/c/{chat_id}").text
        renamed = client.post(f"/c/{chat_id}/rename", data={"csrf": token, "title": "Budget"}, headers=HX)
        assert renamed.status_code == 200 and "<title>Budget · chatdash</title>" in renamed.text
        assert "<title>Budget · chatdash</title>" in client.get(f"/c/{chat_id}").text


def test_a_wrong_password_keeps_the_name(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        a.service.sign_up("alice", "long enough password")
        form = {"csrf": csrf(a.client), "username": "alice", "password": "wrong password", "action": "signin"}
        refused = a.client.post("/signin", data=form)
        assert refused.status_code == 400
        assert re.search(r'<input name="username"[^>]*value="alice"', refused.text)
        assert re.search(r'<input name="password"[^>]*autofocus', refused.text)


def test_sign_in_returns_to_the_page_that_was_opened_and_only_on_this_site(database: Database) -> None:
    with api(database, session_secret="s" * 40) as a:
        client = a.client
        a.service.sign_up("alice", "long enough password")
        chat_id = a.service.create_chat(user_id(a)).id
        opened = client.get(f"/c/{chat_id}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == f"/?next=%2Fc%2F{chat_id}"
        signin = client.get(opened.headers["location"]).text
        assert f'<input type="hidden" name="next" value="/c/{chat_id}">' in signin
        form = {"csrf": csrf(client), "username": "alice", "password": "wrong password", "action": "signin"}
        again = client.post("/signin", data=form | {"next": f"/c/{chat_id}"})
        assert f'name="next" value="/c/{chat_id}"' in again.text  # kept across a wrong password
        form["password"] = "long enough password"
        signed = client.post("/signin", data=form | {"next": f"/c/{chat_id}"}, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == f"/c/{chat_id}"
        assert (
            client.get(f"/?next=/c/{chat_id}", follow_redirects=False).headers["location"] == f"/c/{chat_id}"
        )

        elsewhere = [
            "//evil.example/c",
            "https://evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "javascript:x",
            "c",
        ]
        for target in elsewhere:  # never an open redirect (sign-ins are limited to 10 a minute: 8 here)
            client.cookies.clear()
            assert 'name="next"' not in client.get("/", params={"next": target}).text, target
            form["csrf"] = csrf(client)
            signed = client.post("/signin", data=form | {"next": target}, follow_redirects=False)
            assert signed.headers["location"] == "/c", target
            assert (
                client.get("/", params={"next": target}, follow_redirects=False).headers["location"] == "/c"
            )


def test_docs_pages_load_nothing_from_another_host(database: Database) -> None:
    """/docs and /redoc used to load Swagger UI and ReDoc from a CDN (blank offline): every script,
    style and icon they name is served by the app itself."""
    with api(database, session_secret="s" * 40) as a:
        for path in ("/docs", "/redoc"):
            page = a.client.get(path)
            assert page.status_code == 200, path
            assert not re.search(r"https?://", page.text), path  # no CDN, no font host, no validator
            urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert urls and all(url.startswith("/docs/assets/") for url in urls), urls
            for url in urls:
                asset = a.client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
        assert '"validatorUrl": null' in a.client.get("/docs").text
        # ReDoc's build fetches the Redocly logo from its CDN: the page's policy keeps images local
        assert "img-src 'self' data:" in a.client.get("/redoc").headers["content-security-policy"]


def hits_of(page: str) -> list[str]:
    """The search page's hits, each ``<li>`` as HTML."""
    return re.findall(r'<li class="hit">(.*?)</li>', page, re.S)


def test_search_page_finds_titles_and_messages_and_marks_the_words(database: Database) -> None:
    """A plain GET form in the chat list; each hit names its chat, says whose words they are and links
    to the chat (a message hit to the message), the matched words in <mark>, everything else escaped."""
    with api(database, "Brass lamps glow <b>warmly</b>.", "Noted.", session_secret="s" * 40) as a:
        client = a.client
        signed_out = client.get("/find?q=lamp", follow_redirects=False)  # back here after signing in
        assert signed_out.headers["location"] == "/?next=%2Ffind%3Fq%3Dlamp"
        sign_up(client, "alice")
        token = csrf(client, "/c")
        start = client.get("/c").text
        assert '<form method="get" action="/find" class="search" role="search">' in start
        lamps = client.post("/c", data={"csrf": token, "content": "Which lamps <suit> us?"}).url.path
        wait_until_written(client, lamps)
        budget = client.post("/c", data={"csrf": token, "content": "The budget"}).url.path
        wait_until_written(client, budget)
        lamps_id = lamps.rsplit("/", 1)[1]
        (_, reply), _ = a.service.messages(user_id(a), lamps_id)

        found = client.get("/find", params={"q": "lamp"})  # stemmed: "lamp" finds "lamps"
        assert found.status_code == 200 and 'value="lamp"' in found.text
        hits = hits_of(found.text)
        assert len(hits) == 3 and "3 matches for “lamp”" in found.text
        title, *messages = hits
        assert f'<a href="/c/{lamps_id}" class="title">Which <mark>lamps</mark> &lt;suit&gt; us?</a>' in title
        assert '<span class="role">Chat title</span>' in title
        by_role = {role: hit for hit in messages for role in re.findall(r'class="role">(\w+)<', hit)}
        assert set(by_role) == {"You", "Reply"}
        assert f'href="/c/{lamps_id}#m{reply.id}"' in by_role["Reply"]
        assert f'href="/c/{lamps_id}#m{reply.id - 1}"' in by_role["You"]
        assert "Brass <mark>lamps</mark> glow " in by_role["Reply"]
        if database.backend == "sqlite":  # PostgreSQL's ts_headline leaves out what looks like a tag
            assert "Brass <mark>lamps</mark> glow &lt;b&gt;warmly&lt;/b&gt;." in by_role["Reply"]
        assert "<b>" not in found.text and "\x02" not in found.text and "\x03" not in found.text
        assert f'<li id="m{reply.id}"' in client.get(lamps).text  # the anchor a message hit links to

        budget_hits = hits_of(client.get("/find", params={"q": "budget"}).text)
        assert len(budget_hits) == 2 and all(f'href="{budget}' in hit for hit in budget_hits)
        nothing = client.get("/find", params={"q": "zeppelin"})
        assert nothing.status_code == 200 and hits_of(nothing.text) == []
        assert "No chat of yours has every word of “zeppelin”" in nothing.text
        empty = client.get("/find", params={"q": "  "})  # the search page, waiting for words
        assert empty.status_code == 200 and 'class="found"' not in empty.text and "autofocus" in empty.text
        too_long = client.get("/find", params={"q": "lamp " * 50})
        assert too_long.status_code == 422 and hits_of(too_long.text) == []
        assert re.search(
            r'<div id="search-note" class="note"><p class="error" role="alert">a search may', too_long.text
        )
        # htmx changes nothing: it is a page like any other
        assert hits_of(client.get("/find", params={"q": "lamp"}, headers=HX).text) == hits

        client.cookies.clear()
        sign_up(client, "bob")
        assert hits_of(client.get("/find", params={"q": "lamp"}).text) == []


def test_the_chat_list_is_grouped_by_date(database: Database) -> None:
    """Today, Yesterday, Previous 7 days, Previous 30 days, then months, by each chat's updated_at (UTC)."""
    import datetime as dt

    from sqlalchemy import update

    from chatdash.db.models import Chat

    with api(database, session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        now = dt.datetime.now(dt.UTC)
        ages = {
            "new": now,
            "day-old": now - dt.timedelta(days=1),
            "three-days": now - dt.timedelta(days=3),
            "seven-days": now - dt.timedelta(days=7),
            "twenty-days": now - dt.timedelta(days=20),
            "march-a": dt.datetime(2020, 3, 20, 23, 59, tzinfo=dt.UTC),
            "march-b": dt.datetime(2020, 3, 1, 0, 0, tzinfo=dt.UTC),
            "december": dt.datetime(2019, 12, 31, 12, tzinfo=dt.UTC),
        }
        created = {title: a.service.create_chat(user_id(a), title).id for title in ages}
        with database.engine.begin() as connection:  # as if each was last written to at that moment
            for title, moment in ages.items():
                connection.execute(update(Chat).where(Chat.id == created[title]).values(updated_at=moment))
        nav = client.get("/c").text
        nav = nav[nav.index("<nav") : nav.index("</nav>")]
        groups = re.findall(r"<h3>([^<]+)</h3>\s*<ul>(.*?)</ul>", nav, re.S)
        assert [(label, re.findall(r'">([^<]+)</a></li>', links)) for label, links in groups] == [
            ("Today", ["new"]),
            ("Yesterday", ["day-old"]),
            ("Previous 7 days", ["three-days", "seven-days"]),
            ("Previous 30 days", ["twenty-days"]),
            ("March 2020", ["march-a", "march-b"]),
            ("December 2019", ["december"]),
        ]
        assert "Your chats (8)" in nav


def test_a_chat_exports_as_markdown_and_json_downloads(database: Database) -> None:
    import json

    with api(database, "Lamps <glow>.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, _, page, _ = written_reply(a)
        assert f'<a href="/c/{chat_id}/export.md" download>Markdown</a>' in page
        assert f'<a href="/c/{chat_id}/export.json" download>JSON</a>' in page
        assert "/export." not in client.get("/c").text  # a chat not stored yet has nothing to export

        markdown = client.get(f"/c/{chat_id}/export.md")
        assert markdown.status_code == 200
        assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
        assert re.fullmatch(
            r'attachment; filename="chat-hi-\d{4}-\d\d-\d\d\.md"', markdown.headers["content-disposition"]
        )
        assert markdown.text.startswith("# Hi\n") and "## You\n\nHi\n" in markdown.text
        assert "## chatdash\n\nLamps <glow>.\n" in markdown.text  # a file: the text as written
        exported = client.get(f"/c/{chat_id}/export.json")
        assert exported.headers["content-type"] == "application/json"
        assert exported.headers["content-disposition"].endswith('.json"')
        body = json.loads(exported.text)
        assert body["chat"]["id"] == chat_id
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "Hi"),
            ("assistant", "Lamps <glow>."),
        ]
        assert client.get(f"/c/{chat_id}/export.exe").status_code in (404, 422)

        client.cookies.clear()
        sign_up(client, "bob")
        for fmt in ("md", "json"):
            other = client.get(f"/c/{chat_id}/export.{fmt}")
            assert other.status_code == 404 and "Lamps" not in other.text
            assert (
                other.headers["content-type"].startswith("text/html")
                and "content-disposition" not in other.headers
            )


def test_regenerate_writes_any_finished_reply_again(database: Database) -> None:
    with api(database, "First take.", "Second take.", "Third take.", session_secret="s" * 40) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, reply_id = written_reply(a)
        assert "<p>First take.</p>" in page
        assert re.search(rf'action="/c/{chat_id}/m/{reply_id}/retry" class="inline regenerate"', page)
        assert '<button title="Write this reply again">Regenerate</button>' in page

        again = client.post(f"/c/{chat_id}/m/{reply_id}/retry", data={"csrf": token}, headers=HX)
        assert again.status_code == 200
        assert items(again.text) == [
            f'<li id="m{reply_id}" class="message assistant streaming" data-id="{reply_id}" '
            f'data-status="streaming" hx-ext="sse" sse-connect="/c/{chat_id}/m/{reply_id}/events" '
            'sse-close="done">'
        ]
        assert '<button id="send" disabled hx-swap-oob="true">Send</button>' in again.text
        done = sse(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)[-1][1]
        assert "<p>Second take.</p>" in done and ">Regenerate</button>" in done

        plain = client.post(f"/c/{chat_id}/m/{reply_id}/retry", data={"csrf": token}, follow_redirects=False)
        assert plain.status_code == 303 and plain.headers["location"] == f"/c/{chat_id}#m{reply_id}"
        page = wait_until_written(client, f"/c/{chat_id}")
        assert "<p>Third take.</p>" in page and "Second take." not in page
        assert a.service.messages(user_id(a), chat_id)[1] == 2  # the same turn, written again

        client.cookies.clear()
        sign_up(client, "bob")
        other = client.post(f"/c/{chat_id}/m/{reply_id}/retry", data={"csrf": csrf(client, "/c")}, headers=HX)
        assert (
            other.status_code == 404
            and "Third take." in a.service.message(user_id(a), chat_id, reply_id).content
        )


def test_edit_and_resend_replaces_the_later_turns(database: Database) -> None:
    def echo(messages: list[Message]) -> str:
        said = messages[-1].content
        return "word " * 200 if said == "Go on" else f"Echo: {said}"

    model = ScriptedProvider([echo] * 10, delay_s=0.01)
    settings = {"session_secret": "s" * 40, "chat_max_message_chars": 50, "chat_max_tokens": 400}
    with api(database, provider=model, **settings) as a:
        client = a.client
        sign_up(client, "alice")
        chat_id, token, page, first_reply = written_reply(a)
        client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "Later <turn>"}, headers=HX)
        page = wait_until_written(client, f"/c/{chat_id}")
        messages, count = a.service.messages(user_id(a), chat_id)
        asked = messages[0].id
        assert count == 4 and [m.content for m in messages] == [
            "Hi",
            "Echo: Hi",
            "Later <turn>",
            "Echo: Later <turn>",
        ]
        # an edit box under each of the user's own messages, saying what saving does; none on replies
        assert page.count('<details class="edit">') == 2
        assert f'<form method="post" action="/c/{chat_id}/m/{asked}/edit" class="edit"' in page
        assert 'hx-target="#messages" hx-swap="innerHTML"' in page
        assert "replaces everything after this message with a new reply" in page
        assert f'<div id="edit-note-{asked}" class="note"></div>' in page
        assert (
            "<button>Save &amp; send</button>" in page
            and '<button type="button" class="cancel">Cancel</button>' in page
        )

        # refused beside the box, which keeps the text (htmx), or the page with the box open (no JS)
        base = f"/c/{chat_id}/m/{asked}/edit"
        blank = client.post(base, data={"csrf": token, "content": "  "}, headers=HX)
        assert blank.status_code == 422 and blank.headers["hx-retarget"] == f"#edit-note-{asked}"
        assert blank.text.startswith('<p class="error" role="alert">a message cannot be empty')
        long = client.post(base, data={"csrf": token, "content": "x" * 51}, follow_redirects=False)
        assert long.status_code == 422 and "<html" in long.text
        assert '<details class="edit" open>' in long.text and f">\n{'x' * 51}</textarea>" in long.text
        assert re.search(
            rf'<div id="edit-note-{asked}" class="note"><p class="error" role="alert">a message may',
            long.text,
        )
        assert a.service.messages(user_id(a), chat_id)[1] == 4  # nothing changed

        # a reply is not the user's to edit; htmx: the whole list comes back, the later turns gone
        assert (
            client.post(
                f"/c/{chat_id}/m/{first_reply}/edit", data={"csrf": token, "content": "x"}, headers=HX
            ).status_code
            == 409
        )
        edited = client.post(base, data={"csrf": token, "content": "Hello <again>"}, headers=HX)
        assert edited.status_code == 200 and "<html" not in edited.text
        user, reply = items(edited.text)
        assert f'<li id="m{asked}" class="message user complete"' in user
        assert 'data-status="streaming"' in reply and "sse-connect=" in reply
        assert "<p>Hello &lt;again&gt;</p>" in edited.text and "Later" not in edited.text
        assert '<button id="send" disabled hx-swap-oob="true">Send</button>' in edited.text
        reply_id = int(re.findall(r'data-id="(\d+)"', reply)[0])
        done = sse(client.get(f"/c/{chat_id}/m/{reply_id}/events").text)[-1][1]
        assert "<p>Echo: Hello &lt;again&gt;</p>" in done
        messages, count = a.service.messages(user_id(a), chat_id)
        assert count == 2 and [m.content for m in messages] == ["Hello <again>", "Echo: Hello <again>"]

        # while a reply is written the edit waits (409, a note above the chat); without JS: a redirect
        client.post(f"/c/{chat_id}/send", data={"csrf": token, "content": "Go on"}, headers=HX)
        busy = client.post(base, data={"csrf": token, "content": "Not now"}, headers=HX)
        assert busy.status_code == 409 and busy.headers["hx-retarget"] == "#flash"
        wait_until_written(client, f"/c/{chat_id}")
        plain = client.post(base, data={"csrf": token, "content": "Plainly"}, follow_redirects=False)
        (_, newest), _ = a.service.messages(user_id(a), chat_id)
        assert plain.status_code == 303 and plain.headers["location"] == f"/c/{chat_id}#m{newest.id}"
        page = wait_until_written(client, f"/c/{chat_id}")
        assert "<p>Echo: Plainly</p>" in page and "Go on" not in page

        client.cookies.clear()
        sign_up(client, "bob")
        other = client.post(base, data={"csrf": csrf(client, "/c"), "content": "Mine now"}, headers=HX)
        assert other.status_code == 404
        assert a.service.messages(user_id(a), chat_id)[0][0].content == "Plainly"
