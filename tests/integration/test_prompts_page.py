"""The prompts page for admins (``/admin/prompts``): see a prompt's versions, save an edited text as a new
version, diff two, point ``production`` at one, and the chat's next reply uses it. Anyone else gets 404
(the page does not exist for them); forms without the page's CSRF token are refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from chatdash.prompts import install_shipped
from tests.conftest import Database
from tests.integration.chat_helpers import api
from tests.integration.test_chat_web import csrf, sign_up, wait_until_written
from tests.integration.test_prompts_chat import grounded

V2 = "You are chatdash, edited on the page. Answer in one short sentence."


def test_an_admin_edits_diffs_and_promotes_and_the_next_reply_uses_it(database: Database) -> None:
    install_shipped(database.engine)
    with api(database, "First.", "Second.", responder=grounded(database.engine)) as a:
        admin = a.client
        sign_up(admin, "root")  # the first account is the admin
        listed = admin.get("/admin/prompts")
        assert listed.status_code == 200 and "chat-system" in listed.text and "production → v1" in listed.text
        assert 'href="/admin/prompts"' in admin.get("/c").text  # the link, for admins only

        token = csrf(admin, "/admin/prompts/chat-system")
        saved = admin.post(
            "/admin/prompts/chat-system/versions", data={"csrf": token, "text": V2, "base": "1"}
        )
        assert saved.status_code == 200 and "saved as version 2 (latest)" in saved.text
        again = admin.post(
            "/admin/prompts/chat-system/versions", data={"csrf": token, "text": V2, "base": "2"}
        )
        assert "the same as version 2" in again.text
        broken = admin.post(
            "/admin/prompts/chat-system/versions", data={"csrf": token, "text": "{% if %}", "base": "2"}
        )
        assert broken.status_code == 422 and "{% if %}" in broken.text  # the draft stays in the box

        diff = admin.get("/admin/prompts/chat-system", params={"old": 1, "new": 2})
        assert '<span class="add">+You are chatdash, edited on the page.' in diff.text

        promoted = admin.post("/admin/prompts/chat-system/promote", data={"csrf": token, "version": "2"})
        assert promoted.status_code == 200 and "production → version 2." in promoted.text
        forged = admin.post("/admin/prompts/chat-system/promote", data={"csrf": "x", "version": "1"})
        assert forged.status_code == 401

        sent = admin.post("/c", data={"csrf": csrf(admin, "/c"), "content": "Hello!"})
        wait_until_written(admin, str(sent.url.path))
        system = a.provider.requests[-1].messages[0].content
        assert system.startswith("You are chatdash, edited on the page.")

        other = TestClient(admin.app)
        sign_up(other, "mallory")
        assert other.get("/admin/prompts").status_code == 404
        assert other.get("/admin/prompts/chat-system").status_code == 404
        assert 'href="/admin/prompts"' not in other.get("/c").text
        token = csrf(other, "/c")
        refused = other.post("/admin/prompts/chat-system/promote", data={"csrf": token, "version": "1"})
        assert refused.status_code == 404
        assert re.search(r"production → v2", admin.get("/admin/prompts").text)  # nothing moved
