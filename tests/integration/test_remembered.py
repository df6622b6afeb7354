"""What the chat remembers, seen and changed by its user: ``/memory`` and ``/documents`` (the API) and
``/remembered`` (the page), over a real local Qdrant store, the packaged embeddings and both databases.
A document a user uploads is quoted as a reply's source; forgetting removes what it names and nothing
of anyone else's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chatdash.chat.responder import PipelineResponder
from chatdash.config import Settings
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.memory import EVERYONE, DocumentStore, get_store
from chatdash.pipeline import load_pipeline
from tests.conftest import Database
from tests.integration.chat_helpers import Api, api
from tests.integration.test_chat_web import csrf, sign_up, wait_until_written
from tests.pdf import pdf_with_text

KEPT = '<p class="text">I collect brass lamps from the 1920s.</p>'
HANDBOOK = "# Returns\n\nBrass lamps may be returned within 45 days of delivery, with the receipt.\n"


def with_memory(database: Database) -> Callable[[ScriptedProvider, Settings], PipelineResponder]:
    def make(provider: ScriptedProvider, settings: Settings) -> PipelineResponder:
        memory = get_store(settings)
        return PipelineResponder(
            load_pipeline("chat"), provider, engine=database.engine, memory=memory, settings=settings
        )

    return make


@contextmanager
def remembering(database: Database, tmp_path: Path, *replies: str, **settings: Any) -> Iterator[Api]:
    with api(database, *replies, responder=with_memory(database), var_dir=tmp_path, **settings) as a:
        yield a


def upload(a: Api, headers: dict[str, str], name: str, data: bytes) -> Any:
    return a.client.post("/documents", files={"file": (name, data)}, headers=headers)


def ask(a: Api, headers: dict[str, str], text: str) -> dict[str, Any]:
    answer = a.client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": text}]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_documents_uploaded_are_listed_replaced_quoted_and_removed(
    database: Database, tmp_path: Path
) -> None:
    with remembering(database, tmp_path, "Forty-five days.", "I do not know.") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        added = upload(a, alice, "handbook.md", HANDBOOK.encode())
        assert added.status_code == 201, added.text
        assert added.json() | {"id": "-"} == {
            "id": "-",
            "name": "handbook.md",
            "chunks": 1,
            "status": "added",
        }
        pdf = upload(
            a, alice, "C:\\Users\\alice\\prices.pdf", pdf_with_text("Desk lamps cost 80 euros each.")
        )
        assert pdf.status_code == 201, pdf.text
        assert pdf.json()["name"] == "prices.pdf"  # no folders kept, whoever sent them

        listed = a.client.get("/documents", headers=alice).json()["data"]
        assert [d["name"] for d in listed] == ["prices.pdf", "handbook.md"]  # newest first
        assert a.client.get("/documents", headers=bob).json()["data"] == []  # never another user's

        again = upload(a, alice, "handbook.md", HANDBOOK.encode())
        assert again.json()["status"] == "unchanged"
        changed = upload(a, alice, "handbook.md", HANDBOOK.replace("45", "60").encode())
        assert changed.json()["status"] == "replaced"
        assert len(a.client.get("/documents", headers=alice).json()["data"]) == 2

        reply = ask(a, alice, "Within how many days can brass lamps be returned?")
        assert any("handbook.md" in line for line in reply["sources"]), reply["sources"]
        prompt = "\n".join(m.content for m in a.provider.requests[-1].messages)
        assert "within 60 days" in prompt and "within 45 days" not in prompt  # the replaced text is gone
        assert not any(
            "handbook.md" in line for line in ask(a, bob, "Can brass lamps be returned?")["sources"]
        )

        handbook = next(d for d in listed if d["name"] == "handbook.md")
        assert a.client.delete(f"/documents/{handbook['id']}", headers=bob).status_code == 404
        assert a.client.delete(f"/documents/{handbook['id']}", headers=alice).status_code == 204
        assert a.client.delete(f"/documents/{handbook['id']}", headers=alice).status_code == 404
        assert [d["name"] for d in a.client.get("/documents", headers=alice).json()["data"]] == ["prices.pdf"]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("tool.exe", b"MZ\x90", "only Markdown (.md, .markdown), text (.txt) and PDF (.pdf) files"),
        ("notes.txt", "café".encode("latin-1"), "notes.txt: not UTF-8 text"),
        ("notes.txt", b"a\x00b", "NUL characters"),
        ("empty.md", b"  \n", "empty.md: is empty"),
        ("broken.pdf", b"%PDF-1.4 truncated", "broken.pdf: is not a readable PDF"),
        ("scan.pdf", pdf_with_text(""), "scan.pdf: has no text layer"),
        ("", b"hello", "body.file"),  # no file name: a browser sends that as a plain field, not a file
    ],
)
def test_a_document_that_cannot_be_added_is_a_422_that_says_why(
    database: Database, tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    with remembering(database, tmp_path) as a:
        _, alice = a.user_key("alice")
        answer = upload(a, alice, name, data)
        assert answer.status_code == 422, answer.text
        assert says in answer.json()["detail"]
        assert a.client.get("/documents", headers=alice).json()["data"] == []


def test_a_document_over_the_bound_is_refused_before_it_is_read(database: Database, tmp_path: Path) -> None:
    with remembering(database, tmp_path, document_max_bytes=2048) as a:
        _, alice = a.user_key("alice")
        small_enough_body = upload(a, alice, "long.md", b"word " * 1000)  # 5,000 bytes: over the file bound
        assert small_enough_body.status_code == 422
        assert "CHATDASH_DOCUMENT_MAX_BYTES" in small_enough_body.json()["detail"]
        huge = upload(a, alice, "huge.md", b"word " * 40_000)  # 200 kB: over the body bound too
        assert huge.status_code == 413 and "CHATDASH_DOCUMENT_MAX_BYTES" in huge.json()["detail"]
        assert (
            a.client.post("/chats", content=b"x" * 300_000, headers=alice).status_code == 413
        )  # others keep theirs


def test_kept_messages_are_listed_forgotten_one_by_one_or_all(database: Database, tmp_path: Path) -> None:
    with remembering(database, tmp_path, "Noted.", "Noted.", "Noted.", "Noted.") as a:
        _, alice = a.user_key("alice")
        _, bob = a.user_key("bob")
        first = ask(a, alice, "My favourite lamp is the green banker's lamp.")
        ask(a, alice, "Our shop opens at nine.")
        ask(a, bob, "Bob likes floor lamps.")
        assert upload(a, alice, "handbook.md", HANDBOOK.encode()).status_code == 201
        DocumentStore(get_store(a.service.settings)).add_text(
            "shared.md", "Shared: the shop closes at six.", owner=EVERYONE
        )

        kept = a.client.get("/memory", headers=alice).json()["data"]
        assert [m["text"] for m in kept] == [
            "Our shop opens at nine.",
            "My favourite lamp is the green banker's lamp.",
        ]
        assert kept[1]["chat_id"] == first["conversation_id"]

        assert a.client.delete(f"/memory/{kept[0]['id']}", headers=bob).status_code == 404  # not bob's
        assert a.client.delete("/memory/not-an-id", headers=alice).status_code == 404
        assert a.client.delete(f"/memory/{kept[0]['id']}", headers=alice).status_code == 204
        assert a.client.delete(f"/memory/{kept[0]['id']}", headers=alice).status_code == 404
        assert [m["text"] for m in a.client.get("/memory", headers=alice).json()["data"]] == [kept[1]["text"]]

        assert a.client.delete("/memory", headers=alice).status_code == 204
        assert a.client.get("/memory", headers=alice).json()["data"] == []
        assert a.client.get("/documents", headers=alice).json()["data"] == []
        assert [m["text"] for m in a.client.get("/memory", headers=bob).json()["data"]] == [
            "Bob likes floor lamps."
        ]
        shared = DocumentStore(get_store(a.service.settings)).search(
            "1", "when does the shop close", min_score=-1
        )
        assert [p.source for p in shared] == ["shared.md"]  # the company's documents stay


def test_the_memory_page_lists_uploads_forgets_and_asks_before_forgetting_all(
    database: Database, tmp_path: Path
) -> None:
    with remembering(database, tmp_path, "Noted.") as a:
        client = a.client
        sign_up(client, "carol")
        token = csrf(client, "/c")
        sent = client.post("/c", data={"csrf": token, "content": "I collect brass lamps from the 1920s."})
        wait_until_written(client, str(sent.url.path))
        page = client.get("/remembered")
        assert page.status_code == 200
        assert KEPT in page.text and "No documents of yours yet." in page.text

        files = {"file": ("handbook.md", HANDBOOK.encode(), "text/markdown")}
        done = client.post("/remembered/documents", data={"csrf": token}, files=files)
        assert done.status_code == 200 and "handbook.md: added, 1 passage." in done.text  # after the redirect
        refused = client.post("/remembered/documents", data={"csrf": token}, files={"file": ("x.doc", b"x")})
        assert (
            refused.status_code == 422 and "only Markdown" in refused.text and "handbook.md" in refused.text
        )
        forged = client.post("/remembered/forget", data={"csrf": "forged", "sure": "yes"})
        assert forged.status_code == 401  # CSRF: the form was not ours
        unsure = client.post("/remembered/forget", data={"csrf": token})
        assert unsure.status_code == 422 and "tick the box" in unsure.text
        assert KEPT in unsure.text  # nothing forgotten

        memory_id = re.search(r'action="/remembered/([0-9a-f-]{36})/forget"', page.text)
        assert memory_id
        forgot = client.post(f"/remembered/{memory_id[1]}/forget", data={"csrf": token})
        assert forgot.status_code == 200 and KEPT not in forgot.text
        document_id = re.search(r'action="/remembered/documents/([0-9a-f]+)/remove"', forgot.text)
        assert document_id
        removed = client.post(f"/remembered/documents/{document_id[1]}/remove", data={"csrf": token})
        assert "handbook.md removed" in removed.text and "No documents of yours yet." in removed.text
