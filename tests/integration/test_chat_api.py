"""The HTTP APIs end to end: TestClient over real SQLite / PostgreSQL, replies from the scripted model."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from chatdash.errors import ModelBusy, ModelUnavailable
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.llm.worker import DEFAULT_PRIOR_S
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api, sse_events

ASK = {"messages": [{"role": "user", "content": "Hello?"}]}


def test_api_chat_needs_a_live_key(database: Database) -> None:
    with api(database, "hi") as a:
        _, headers = a.user_key("alice")
        cases = {
            "none": {},
            "wrong": {"Authorization": "Bearer cd_not-a-key"},
            "not bearer": {"Authorization": "Basic YWxpY2U6cHc="},
        }
        for name, bad in cases.items():
            answer = a.client.post("/api/chat", json=ASK, headers=bad)
            assert answer.status_code == 401, name
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert "API key" in answer.json()["detail"]
        assert a.client.get("/chats", headers=cases["wrong"]).status_code == 401
        ok = a.client.post("/api/chat", json=ASK, headers=headers)
        assert ok.status_code == 200, ok.text
        key_id = a.service.list_keys(None)[0].id
        a.service.revoke_key(key_id)
        revoked = a.client.post("/api/chat", json=ASK, headers=headers)
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_api_chat_answers_and_continues_a_conversation_in_order(database: Database) -> None:
    with api(database, "First answer.", "Second answer.") as a:
        _, headers = a.user_key("alice")
        first = a.client.post("/api/chat", json=ASK, headers=headers)
        assert first.status_code == 200, first.text
        reply = first.json()
        assert reply["message"] == {"role": "assistant", "content": "First answer."}
        assert reply["status"] == "complete" and reply["usage"]["completion_tokens"] == 2
        assert first.headers["RateLimit-Limit"] == "1000"
        follow_up = {
            "messages": [{"role": "user", "content": "More?"}],
            "conversation_id": reply["conversation_id"],
        }
        second = a.client.post("/api/chat", json=follow_up, headers=headers).json()
        assert second["conversation_id"] == reply["conversation_id"]
        listed = a.client.get(f"/chats/{reply['conversation_id']}/messages", headers=headers).json()
        assert listed["count"] == 4
        assert [(m["position"], m["role"], m["content"]) for m in listed["data"]] == [
            (0, "user", "Hello?"),
            (1, "assistant", "First answer."),
            (2, "user", "More?"),
            (3, "assistant", "Second answer."),
        ]
        assert [m.role for m in a.provider.requests[-1].messages] == ["system", "user", "assistant", "user"]


def test_api_chat_streams_server_sent_events(database: Database) -> None:
    with api(database, "one two three four") as a:
        _, headers = a.user_key("alice")
        answer = a.client.post("/api/chat", json={**ASK, "stream": True}, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["X-Accel-Buffering"] == "no"
        assert answer.headers["RateLimit-Limit"] == "1000"
        events = sse_events(answer.text)
        assert events[0][0] == "start" and events[-1][0] == "done"
        deltas = [data["content"] for name, data in events if name == "delta"]
        assert "".join(deltas) == "one two three four" and len(deltas) >= 1
        assert events[-1][1]["status"] == "complete"


def test_second_call_within_the_window_gets_429_with_retry_after(database: Database) -> None:
    with api(database, "a", "b", api_rate_limit="1/10seconds") as a:
        _, headers = a.user_key("alice")
        _, other = a.user_key("bob")
        assert a.client.post("/api/chat", json=ASK, headers=headers).status_code == 200
        limited = a.client.post("/api/chat", json=ASK, headers=headers)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        assert limited.headers["RateLimit-Limit"] == "1" and limited.headers["RateLimit-Remaining"] == "0"
        assert "rate limit" in limited.json()["detail"]
        # the budget is per key: another key is not affected
        assert a.client.post("/api/chat", json=ASK, headers=other).status_code == 200


def test_a_request_refused_with_422_spends_none_of_the_rate_limit(database: Database) -> None:
    """The corrected request sent right after a refused one is answered, on both chat routes; the one
    after it is 429. Refused by the schema, by the route's own check and by the service's."""
    limits = {"api_rate_limit": "1/minute", "api_max_messages": 2, "chat_max_message_chars": 50}
    with api(database, "a", "b", **limits) as a:
        routes = [("alice", "/api/chat", {}), ("bob", "/v1/chat/completions", {"model": "chatdash"})]
        for user, path, model in routes:  # a key each: the budget is per key
            _, headers = a.user_key(user)
            refused = [
                {"messages": []},
                {"messages": [{"role": "user", "content": "x"}] * 3},
                {"messages": [{"role": "user", "content": "x" * 51}]},
            ]
            for body in refused:
                answer = a.client.post(path, json={**model, **body}, headers=headers)
                assert answer.status_code == 422, (path, answer.text)
            corrected = a.client.post(path, json={**model, **ASK}, headers=headers)
            assert corrected.status_code == 200, (path, corrected.text)
            assert corrected.headers["RateLimit-Remaining"] == "0"
            limited = a.client.post(path, json={**model, **ASK}, headers=headers)
            assert limited.status_code == 429, (path, limited.text)


def test_a_message_too_long_for_the_model_is_refused_at_once_and_costs_no_request(database: Database) -> None:
    """Refused when sent, in words, before anything is stored (it used to be stored and fail with an
    operator's message about context sizes, offering a Retry that could only fail again)."""
    with api(database, "Short answer.", api_rate_limit="1/minute") as a:
        user_id, headers = a.user_key("alice")
        long = {"messages": [{"role": "user", "content": "w " * 4_000}]}  # the scripted model: 4,096
        for path, model in (("/api/chat", {}), ("/v1/chat/completions", {"model": "chatdash"})):
            answer = a.client.post(path, json={**model, **long}, headers=headers)
            assert answer.status_code == 422, answer.text
            assert "too long for the model: about 3,8" in answer.json()["detail"]
        assert a.service.chats(user_id)[1] == 0  # nothing stored
        assert a.client.post("/api/chat", json=ASK, headers=headers).status_code == 200


def test_bad_requests_get_422_or_413_that_say_what_is_wrong(database: Database) -> None:
    with api(database, api_max_messages=3, chat_max_message_chars=50, api_max_body_bytes=2048) as a:
        _, headers = a.user_key("alice")

        def problem(body: object) -> str:
            answer = a.client.post("/api/chat", json=body, headers=headers)
            assert answer.status_code == 422, answer.text
            return str(answer.json()["detail"])

        assert "at least 1 item" in problem({"messages": []})
        assert "at least 1 character" in problem({"messages": [{"role": "user", "content": "  "}]})
        assert "'user' or 'assistant'" in problem({"messages": [{"role": "system", "content": "x"}]})
        assert "last message must have role 'user'" in problem(
            {"messages": [{"role": "assistant", "content": "x"}]}
        )
        assert "at most 3 messages" in problem({"messages": [{"role": "user", "content": "x"}] * 4})
        assert "at most 50 characters" in problem({"messages": [{"role": "user", "content": "x" * 51}]})
        assert "Field required" in problem({})
        huge = a.client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": "x" * 5000}]}, headers=headers
        )
        assert huge.status_code == 413 and "CHATDASH_API_MAX_BODY_BYTES" in huge.json()["detail"]
        assert a.service.chats(1) == ([], 0)  # nothing was stored for refused requests


def test_another_users_chat_is_404_on_every_route(database: Database) -> None:
    with api(database, "secret answer") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        reply = a.client.post("/api/chat", json=ASK, headers=alice).json()
        chat_id, message_id = reply["conversation_id"], reply["message_id"]
        routes = [
            ("GET", f"/chats/{chat_id}", None),
            ("PATCH", f"/chats/{chat_id}", {"title": "mine now"}),
            ("DELETE", f"/chats/{chat_id}", None),
            ("GET", f"/chats/{chat_id}/messages", None),
            ("POST", f"/chats/{chat_id}/messages", {"role": "user", "content": "hi"}),
            ("POST", f"/chats/{chat_id}/messages/{message_id}/stop", None),
            ("GET", f"/chats/{chat_id}/messages/{message_id}/stream", None),
            ("POST", f"/chats/{chat_id}/messages/{message_id}/retry", None),
            ("POST", f"/chats/{chat_id}/messages/{message_id}/reset", None),
            ("PUT", f"/chats/{chat_id}/messages/{message_id}/feedback", {"rating": 1}),
            ("GET", f"/chats/{chat_id}/feedback", None),
            ("POST", f"/chats/{chat_id}/turns", {"content": "hi"}),
            ("GET", f"/chats/{chat_id}/messages/{message_id}", None),
            ("PATCH", f"/chats/{chat_id}/messages/{message_id}", {"content": "x"}),
            ("PUT", f"/chats/{chat_id}/messages/{message_id}", {"content": "x"}),
            ("POST", f"/chats/{chat_id}/messages/{message_id}/edit", {"content": "x"}),
            ("GET", f"/chats/{chat_id}/export", None),
            ("POST", "/api/chat", {**ASK, "conversation_id": chat_id}),
        ]
        # every route of one chat is in the list above (read from the OpenAPI document: FastAPI keeps
        # included routers out of app.routes, where this check once found nothing and so passed)
        scoped = {
            (method.upper(), path)
            for path, operations in a.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
            if path.startswith("/chats/{chat_id}")
            for method in operations
        }
        tried = {
            (m, p.replace(chat_id, "{chat_id}").replace(str(message_id), "{message_id}"))
            for m, p, _ in routes
        }
        assert scoped == {t for t in tried if t[1].startswith("/chats/")}, scoped ^ tried
        for method, path, body in routes:
            answer = a.client.request(method, path, json=body, headers=bob)
            assert answer.status_code == 404, (method, path, answer.text)
            assert "secret" not in answer.text and answer.json()["detail"].startswith("no chat")
        assert a.client.get("/chats", headers=bob).json() == {"data": [], "count": 0}
        # and A still has everything
        assert a.client.get(f"/chats/{chat_id}/messages", headers=alice).json()["count"] == 2
        assert a.client.get("/chats/nope", headers=alice).status_code == 404


def test_model_failure_keeps_the_message_and_error_then_retry_works(database: Database) -> None:
    failing = ModelUnavailable("cannot reach the LM server: check CHATDASH_LLM_BASE_URL")
    with api(database, failing, "Recovered.") as a:
        _, headers = a.user_key("alice")
        failed = a.client.post("/api/chat", json=ASK, headers=headers)
        assert failed.status_code == 503  # a dependency that is down, named in `detail`
        body = failed.json()
        assert "LM server" in body["detail"]
        chat_id, message_id = body["conversation_id"], body["message_id"]
        messages = a.client.get(f"/chats/{chat_id}/messages", headers=headers).json()["data"]
        assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "error")]
        assert "LM server" in messages[1]["error"]
        retried = a.client.post(f"/chats/{chat_id}/messages/{message_id}/retry", headers=headers)
        assert retried.status_code == 202
        for _ in range(100):
            messages = a.client.get(f"/chats/{chat_id}/messages", headers=headers).json()["data"]
            if messages[1]["status"] != "streaming":
                break
            time.sleep(0.02)
        assert (messages[1]["content"], messages[1]["status"], messages[1]["error"]) == (
            "Recovered.",
            "complete",
            None,
        )


def test_a_busy_model_is_503_with_retry_after(database: Database) -> None:
    with api(database, ModelBusy("the model is busy: 16 requests already wait", retry_after=7.2)) as a:
        _, headers = a.user_key("alice")
        busy = a.client.post("/api/chat", json=ASK, headers=headers)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "8"
        assert "busy" in busy.json()["detail"]
        a.provider.add(ModelBusy("still busy", retry_after=2))
        streamed = a.client.post("/api/chat", json={**ASK, "stream": True}, headers=headers)
        assert streamed.status_code == 503 and streamed.headers["Retry-After"] == "2"


def held_replies(gate: threading.Event, count: int) -> list[Callable[[object], str]]:
    """Replies that keep the model busy (on its worker thread) until ``gate`` opens."""

    def held(_messages: object) -> str:
        gate.wait(30)
        return "Held."

    return [held] * count


def fill_the_queue(a: Api, headers: dict[str, str], gate: threading.Event) -> list[httpx.Response]:
    """One reply running and one waiting (the queue holds one), then a plain and a streamed request
    refused; the held replies finish once ``gate`` opens."""
    with ThreadPoolExecutor(2) as pool:
        try:
            running = pool.submit(a.client.post, "/api/chat", json=ASK, headers=headers)
            while a.provider.stats().running == 0:
                time.sleep(0.005)
            waiting = pool.submit(a.client.post, "/api/chat", json=ASK, headers=headers)
            while a.provider.stats().queued == 0:
                time.sleep(0.005)
            refused = [
                a.client.post("/api/chat", json=ASK, headers=headers),
                a.client.post("/api/chat", json={**ASK, "stream": True}, headers=headers),
            ]
        finally:
            gate.set()
        assert running.result().status_code == 200 and waiting.result().status_code == 200
    for answer in refused:
        assert answer.status_code == 503 and "busy" in answer.json()["detail"], answer.text
    return refused


def test_a_full_model_queue_says_to_come_back_when_the_work_ahead_is_done(database: Database) -> None:
    """The model's real bounded queue (``ModelWorker``) filled through the API: Retry-After is the
    requests ahead times the duration of one (measured, or the prior before any request finished),
    not the 1 s a burst on a fresh server used to be told."""
    gate = threading.Event()
    fresh = ScriptedProvider(held_replies(gate, 2), queue_size=1)
    with api(database, provider=fresh) as a:
        _, headers = a.user_key("alice")
        for answer in fill_the_queue(a, headers, gate):
            assert int(answer.headers["Retry-After"]) == 2 * DEFAULT_PRIOR_S  # 1 running, 1 waiting
    asyncio.run(fresh.aclose())

    def measured(_messages: object) -> str:
        time.sleep(1.2)
        return "Measured."

    gate = threading.Event()
    warm = ScriptedProvider([measured, *held_replies(gate, 2)], queue_size=1)
    with api(database, provider=warm) as a:
        _, headers = a.user_key("bob")
        assert a.client.post("/api/chat", json=ASK, headers=headers).status_code == 200
        service_s = warm.stats().mean_service_s
        assert service_s >= 1.2
        for answer in fill_the_queue(a, headers, gate):
            assert int(answer.headers["Retry-After"]) == math.ceil(2 * service_s) >= 3
    asyncio.run(warm.aclose())


def test_chat_resources_crud_pagination_and_feedback(database: Database) -> None:
    with api(database, "An answer.") as a:
        _, headers = a.user_key("alice")
        created = [a.client.post("/chats", json={"title": f"chat {i}"}, headers=headers) for i in range(3)]
        assert all(c.status_code == 201 for c in created)
        page = a.client.get("/chats?skip=1&limit=1", headers=headers).json()
        assert page["count"] == 3 and len(page["data"]) == 1
        assert a.client.get("/chats?limit=0", headers=headers).status_code == 422
        chat_id = created[0].json()["id"]
        renamed = a.client.patch(f"/chats/{chat_id}", json={"title": "Renamed"}, headers=headers)
        assert renamed.json()["title"] == "Renamed"
        assert a.client.patch(f"/chats/{chat_id}", json={"title": ""}, headers=headers).status_code == 422
        stored = a.client.post(
            f"/chats/{chat_id}/messages", json={"role": "user", "content": "kept"}, headers=headers
        )
        assert stored.status_code == 201 and stored.json()["position"] == 0
        reply = a.client.post("/api/chat", json={**ASK, "conversation_id": chat_id}, headers=headers).json()
        feedback = a.client.put(
            f"/chats/{chat_id}/messages/{reply['message_id']}/feedback",
            json={"rating": -1, "comment": "too vague"},
            headers=headers,
        )
        assert feedback.status_code == 200 and feedback.json()["rating"] == -1
        bad = a.client.put(
            f"/chats/{chat_id}/messages/{reply['message_id']}/feedback", json={"rating": 3}, headers=headers
        )
        assert bad.status_code == 422
        assert a.client.delete(f"/chats/{chat_id}", headers=headers).status_code == 204
        assert a.client.get(f"/chats/{chat_id}", headers=headers).status_code == 404


def test_roles_and_health(database: Database) -> None:
    with api(database, role="db-api") as a:
        assert a.client.get("/healthz").json() == {"status": "ok"}
        assert a.client.get("/readyz").status_code == 200
        assert a.client.post("/api/chat", json=ASK).status_code == 404
        _, headers = a.user_key("alice")
        assert a.client.get("/chats", headers=headers).status_code == 200
    with api(database, role="ui") as a:
        assert a.client.get("/chats").status_code == 401  # served here too, for key holders
        _, headers = a.user_key("bob")
        assert a.client.get("/chats", headers=headers).status_code == 200
        assert "/api/chat" in a.client.get("/openapi.json").json()["paths"]


def test_a_reader_who_comes_back_gets_the_text_so_far_then_the_rest(database: Database) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    provider = ScriptedProvider([words], delay_s=0.01)
    with api(database, provider=provider) as a:
        _, headers = a.user_key("alice")
        stream = a.client.post("/api/chat", json={**ASK, "stream": True}, headers=headers)
        start = sse_events(stream.text)[0][1]
        path = f"/chats/{start['conversation_id']}/messages/{start['message_id']}/stream"
        again = sse_events(a.client.get(path, headers=headers).text)
        assert "".join(d["content"] for n, d in again if n == "delta") == words
        assert again[-1][0] == "done" and again[-1][1]["status"] == "complete"


def test_stop_through_the_api_keeps_the_partial_text(database: Database) -> None:
    words = " ".join(f"w{i}" for i in range(500))
    provider = ScriptedProvider([words], delay_s=0.01)
    with api(database, provider=provider) as a:
        _, headers = a.user_key("alice")
        chat_id = a.client.post("/chats", json={}, headers=headers).json()["id"]

        async def send() -> int:
            reply, _ = await a.service.send(1, chat_id, "talk")
            return reply.id

        message_id = a.client.portal.call(send)  # type: ignore[union-attr]
        time.sleep(0.3)
        stopped = a.client.post(f"/chats/{chat_id}/messages/{message_id}/stop", headers=headers).json()
        assert stopped["status"] == "stopped" and 0 < len(stopped["content"].split()) < 500
        time.sleep(0.1)
        kept = a.client.get(f"/chats/{chat_id}/messages", headers=headers).json()["data"][1]
        assert (kept["content"], kept["status"]) == (stopped["content"], "stopped")


def test_nul_characters_and_numbers_past_the_columns_are_422_on_both_databases(database: Database) -> None:
    """PostgreSQL refuses NUL in text and ids past 32 bits; both databases answer 422 alike, store nothing."""
    with api(database) as a:
        _, headers = a.user_key("nul")
        said = "NUL characters"
        asked = a.client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": "a\u0000b"}]}, headers=headers
        )
        assert asked.status_code == 422 and said in asked.json()["detail"]
        assert a.service.chats(1) == ([], 0)
        chat = a.client.post("/chats", json={}, headers=headers).json()["id"]
        renamed = a.client.patch(f"/chats/{chat}", json={"title": "x\u0000y"}, headers=headers)
        assert renamed.status_code == 422 and said in renamed.json()["detail"]
        added = a.client.post(
            f"/chats/{chat}/messages", json={"role": "user", "content": "\u0000"}, headers=headers
        )
        assert added.status_code == 422
        too_big = 2**63
        for path in (
            f"/chats?skip={too_big}",
            f"/chats/{chat}/messages/{too_big}",
            f"/chats/{chat}/messages?skip={too_big}",
        ):
            answer = a.client.get(path, headers=headers)
            assert answer.status_code == 422, (path, answer.text)
        reply = a.client.post(f"/chats/{chat}/turns", json={"content": "hi"}, headers=headers).json()["reply"]
        patched = a.client.patch(
            f"/chats/{chat}/messages/{reply['id']}", json={"prompt_tokens": 2**40}, headers=headers
        )
        assert patched.status_code == 422
        assert a.client.get(f"/chats/{chat}", headers=headers).json()["title"] == "hi"


def test_retrying_a_reply_that_follows_no_user_message_is_refused(database: Database) -> None:
    with api(database, "Fine.") as a:
        _, headers = a.user_key("lonely")
        chat = a.client.post("/chats", json={}, headers=headers).json()["id"]
        stored = a.client.post(
            f"/chats/{chat}/messages", json={"role": "assistant", "content": "Hello!"}, headers=headers
        ).json()
        retried = a.client.post(f"/chats/{chat}/messages/{stored['id']}/retry", headers=headers)
        assert retried.status_code == 409 and "follows no message of yours" in retried.json()["detail"]
        kept = a.client.get(f"/chats/{chat}/messages/{stored['id']}", headers=headers).json()
        assert (kept["content"], kept["status"]) == ("Hello!", "complete")  # untouched
        ask = {"messages": [{"role": "user", "content": "Still there?"}], "conversation_id": chat}
        assert a.client.post("/api/chat", json=ask, headers=headers).json()["message"]["content"] == "Fine."


def test_your_own_chat_with_another_users_message_id_is_404(database: Database) -> None:
    """A message is looked up in the chat of the URL: your chat id and someone else's message id is a
    message that does not exist, on every message route."""
    with api(database, "mine", "theirs") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        own_chat = a.client.post("/api/chat", json=ASK, headers=alice).json()["conversation_id"]
        theirs = a.client.post("/api/chat", json=ASK, headers=bob).json()["message_id"]
        base = f"/chats/{own_chat}/messages/{theirs}"
        routes = [
            ("GET", base, None),
            ("PATCH", base, {"content": "x"}),
            ("GET", f"{base}/stream", None),
            ("POST", f"{base}/stop", None),
            ("POST", f"{base}/retry", None),
            ("POST", f"{base}/reset", None),
            ("PUT", f"{base}/feedback", {"rating": 1}),
        ]
        for method, path, body in routes:
            answer = a.client.request(method, path, json=body, headers=alice)
            assert answer.status_code == 404, (method, path, answer.text)
            assert "theirs" not in answer.text
        reply = a.service.message(2, a.service.chats(2)[0][0].id, theirs)
        assert (reply.content, reply.status) == ("theirs", "complete")  # untouched


def test_a_stream_whose_chat_is_deleted_ends_with_an_event_that_says_so(database: Database) -> None:
    """Not a broken response: a reader following a reply gets ``deleted`` when the chat goes away."""
    with api(database) as a:
        _, headers = a.user_key("deleter")
        chat = a.client.post("/chats", json={}, headers=headers).json()["id"]
        # a reply its writer (another replica) is writing: this process follows it in the store
        reply = a.client.post(f"/chats/{chat}/turns", json={"content": "Talk"}, headers=headers).json()[
            "reply"
        ]
        with a.client.stream(
            "GET", f"/chats/{chat}/messages/{reply['id']}/stream", headers=headers
        ) as stream:
            assert a.client.delete(f"/chats/{chat}", headers=headers).status_code == 204
            body = "\n".join(stream.iter_lines())
        events = sse_events(body)
        assert events[-1][0] == "deleted" and "deleted" in events[-1][1]["detail"], events


def test_an_oversized_chunked_body_is_413_and_timestamps_keep_their_timezone(database: Database) -> None:
    with api(database, "Hi.", api_max_body_bytes=2048) as a:
        _, headers = a.user_key("chunky")

        def chunks(size: int) -> Iterator[bytes]:  # no Content-Length: sent chunked
            body = json.dumps({"messages": [{"role": "user", "content": "x" * size}]}).encode()
            yield from (body[i : i + 512] for i in range(0, len(body), 512))

        big = a.client.post("/api/chat", content=chunks(5000), headers=headers)
        assert big.status_code == 413 and "CHATDASH_API_MAX_BODY_BYTES" in big.json()["detail"]
        small = a.client.post("/api/chat", content=chunks(10), headers=headers)
        assert small.status_code == 200, small.text
        chat = small.json()["conversation_id"]
        created = a.client.post("/chats", json={}, headers=headers).json()["created_at"]
        read = a.client.get(f"/chats/{chat}/messages", headers=headers).json()["data"][0]["created_at"]
        for stamp in (created, read):  # the same shape whether just written or read back (SQLite too)
            assert dt.datetime.fromisoformat(stamp).utcoffset() == dt.timedelta(0), stamp


def test_every_error_has_one_documented_shape(database: Database) -> None:
    with api(database) as a:
        _, headers = a.user_key("shapes")
        blank = a.client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": " "}]}, headers=headers
        )
        assert blank.status_code == 422
        assert blank.json() == {  # a detail that says what to fix, and each field's problem
            "detail": "invalid request: body.messages.0.content: String should have at least 1 character",
            "errors": [
                {
                    "loc": ["body", "messages", 0, "content"],
                    "msg": "String should have at least 1 character",
                    "type": "string_too_short",
                }
            ],
        }
        as_json = {**headers, "Content-Type": "application/json"}
        broken = a.client.post("/chats", content=b'{"title": ', headers=as_json)
        assert broken.status_code == 422
        assert (
            broken.json()["detail"]
            == "invalid request: body: not valid JSON (Expecting value at character 10)"
        )
        moved = a.client.put("/chats", headers=headers)  # the router's own refusal, every method named
        assert moved.status_code == 405 and moved.json() == {"detail": "Method Not Allowed"}
        assert moved.headers["Allow"] == "GET, POST"
        refused = a.client.get("/chats", headers={"Authorization": "Bearer cd_nope"})
        assert refused.status_code == 401 and set(refused.json()) == {"detail"}

        document = a.client.get("/openapi.json").json()
        assert "HTTPValidationError" not in document["components"]["schemas"]
        error_body = {"$ref": "#/components/schemas/ErrorBody"}
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                declared = operation["responses"]
                if operation.get("parameters") or operation.get("requestBody"):
                    assert "422" in declared, (method, path)
                for status, response in declared.items():
                    if int(status) >= 400 and path != "/readyz":  # readiness answers its checks
                        assert response["content"]["application/json"]["schema"] == error_body, (path, status)


def test_requests_are_taken_as_their_schema_says(database: Database) -> None:
    """What the OpenAPI document allows is accepted, what it does not is refused, and text no database
    can store is a 422 or a 404 (an id nothing has), never a 500 (PostgreSQL refuses NUL in a query)."""
    with api(database, "Hi.", "Hi.") as a:
        _, headers = a.user_key("strict")
        assert a.client.post("/api/chat", json={**ASK, "stream": 0}, headers=headers).status_code == 422
        reply = a.client.post("/api/chat", json=ASK, headers=headers).json()
        chat, message = reply["conversation_id"], reply["message_id"]
        path = f"/chats/{chat}/messages/{message}"
        assert a.client.put(path + "/feedback", json={"rating": True}, headers=headers).status_code == 422
        assert a.client.patch(path, json={"prompt_tokens": "3"}, headers=headers).status_code == 422
        counted = a.client.patch(path, json={"prompt_tokens": 3.0}, headers=headers)  # JSON's integer 3
        assert counted.status_code == 200, counted.text
        assert a.client.patch(path, json={"content": None}, headers=headers).status_code == 422
        nul = a.client.patch(path, json={"error": "a\x00b"}, headers=headers)
        assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
        assert a.client.get("/chats/a%00b", headers=headers).status_code == 404
        ask = {**ASK, "conversation_id": "a\x00b"}
        assert a.client.post("/api/chat", json=ask, headers=headers).status_code == 404
        # the user's own message where a reply is meant: well formed, wrong message (409, not 422)
        first = a.client.get(f"/chats/{chat}/messages", headers=headers).json()["data"][0]["id"]
        mine = a.client.put(f"/chats/{chat}/messages/{first}/feedback", json={"rating": 1}, headers=headers)
        assert mine.status_code == 409 and "replies" in mine.json()["detail"]
