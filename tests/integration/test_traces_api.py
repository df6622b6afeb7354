"""``GET /api/traces/{trace_id}`` over real SQLite / PostgreSQL: the key's user reads their own traces,
an admin anyone's, everyone else gets the same 404 as for a missing id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.routing import NoMatchFound

from chatdash.chat.api import traces as traces_api
from chatdash.tracing import new_trace_id, write_traces
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api
from tests.unit.test_tracing_records import QUESTION, REPLY, sample_trace

pytestmark = pytest.mark.timeout(120)

PATH = "/api/traces/{trace_id}"


@contextmanager
def traces_app(database: Database) -> Iterator[Api]:
    """The chat app with the traces route (included here if the app factory does not include it yet)."""
    with api(database) as a:
        app = a.client.app
        try:
            app.url_path_for("read_trace", trace_id="0" * 32)  # type: ignore[attr-defined]
        except NoMatchFound:
            app.include_router(traces_api.router)  # type: ignore[attr-defined]
        yield a


def test_a_user_reads_their_trace_with_its_spans(database: Database) -> None:
    with traces_app(database) as a:
        a.user_key("root")  # the first account is the admin
        alice, headers = a.user_key("alice")
        trace = sample_trace(alice)
        write_traces(a.service.engine, [trace])

        answer = a.client.get(f"/api/traces/{trace.id}", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["id"] == trace.id and body["source"] == "api" and body["status"] == "complete"
        assert body["input"] == QUESTION and body["output"] == REPLY
        assert (body["model"], body["prompt_name"], body["prompt_version"]) == (
            "smollm2-135m-instruct",
            "chat-system",
            3,
        )
        assert (body["prompt_tokens"], body["completion_tokens"], body["ttft_ms"]) == (42, 17, 120.0)
        assert [span["name"] for span in body["spans"]] == ["chat", "retrieve", "llm"]
        root, retrieve, llm = body["spans"]
        assert root["parent_id"] is None and retrieve["parent_id"] == llm["parent_id"] == root["id"]
        assert llm["input"][1] == {"role": "user", "content": QUESTION}
        assert llm["attributes"]["temperature"] == 0.2
        assert retrieve["output"] == [{"id": "doc-1", "text": "Sales are in sales_data.", "score": 0.82}]
        assert "user_id" not in body  # the caller knows who they are; ids of others are not shown


def test_another_users_trace_looks_missing_unless_the_reader_is_an_admin(database: Database) -> None:
    with traces_app(database) as a:
        _, admin = a.user_key("root")
        alice, alices_key = a.user_key("alice")
        _, bobs_key = a.user_key("bob")
        trace, test_bed_run = sample_trace(alice), sample_trace(None, source="eval")
        write_traces(a.service.engine, [trace, test_bed_run])

        refused = a.client.get(f"/api/traces/{trace.id}", headers=bobs_key)
        missing = a.client.get(f"/api/traces/{new_trace_id()}", headers=bobs_key)
        assert refused.status_code == missing.status_code == 404
        assert refused.json()["detail"].replace(trace.id, "ID") == missing.json()["detail"].replace(
            missing.url.path.rsplit("/", 1)[1], "ID"
        )
        assert a.client.get(f"/api/traces/{test_bed_run.id}", headers=alices_key).status_code == 404
        assert a.client.get(f"/api/traces/{trace.id}", headers=admin).status_code == 200
        assert a.client.get(f"/api/traces/{test_bed_run.id}", headers=admin).json()["source"] == "eval"


def test_the_route_needs_a_key_and_a_well_formed_id(database: Database) -> None:
    with traces_app(database) as a:
        _, headers = a.user_key("alice")
        trace_id = new_trace_id()
        unauthenticated = a.client.get(f"/api/traces/{trace_id}")
        assert unauthenticated.status_code == 401 and unauthenticated.headers["WWW-Authenticate"] == "Bearer"
        bad_key = {"Authorization": "Bearer cd_not-a-key"}
        assert a.client.get(f"/api/traces/{trace_id}", headers=bad_key).status_code == 401
        for bad in ("abc", trace_id.upper(), trace_id + "0", "g" * 32):
            answer = a.client.get(f"/api/traces/{bad}", headers=headers)
            assert answer.status_code == 422, bad
            assert answer.json()["errors"][0]["loc"] == ["path", "trace_id"]


def test_the_openapi_document_describes_the_route(database: Database) -> None:
    with traces_app(database) as a:
        document = a.client.get("/openapi.json").json()
        operation = document["paths"][PATH]["get"]
        assert {"401", "404", "422", "503"} <= set(operation["responses"])
        assert "No such trace" in operation["responses"]["404"]["description"]
        (parameter,) = operation["parameters"]
        assert parameter["schema"]["pattern"] == "^[0-9a-f]{32}$" and parameter["schema"]["maxLength"] == 32
        schemas = document["components"]["schemas"]
        assert "OpenTelemetry trace id" in schemas["TracePublic"]["properties"]["id"]["description"]
        assert schemas["SpanPublic"]["description"].startswith("One step of the run")
