"""One sign-in for the chat and the dashboard, against real databases.

In `password` mode (the default) the dashboard's page and its CSV export ask for the chat's session
cookie. The cookies here are made by the chat app itself (a sign-up through its pages, on the same
database), its secret generated under ``VAR_DIR`` as in development, and read back by the dashboard
from the same ``VAR_DIR``. A cookie that was forged, signed with another key or signed out in the chat
opens nothing. (The page with a real browser cookie: tests/e2e/test_dashboard_browser.py; AppTest
cannot send cookies.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from streamlit.testing.v1 import AppTest

from chatdash.chat import sessions
from chatdash.config import get_settings, load_settings
from chatdash.dashboard import APP_PATH, export
from chatdash.db.engine import _cached_engine, get_engine
from chatdash.sales.generator import generate
from chatdash.sales.loader import load_frames
from tests.conftest import Database, dashboard_url
from tests.integration.chat_helpers import api

URL = "/dashboard/export/sales.csv"
CHAT_URL = "http://chat.example:8000/"


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def with_cookie(value: str) -> dict[str, str]:
    """The header a browser sends the dashboard after signing in to the chat on the same host."""
    return {"Cookie": f"{sessions.COOKIE}={value}"}


def fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    get_settings.cache_clear()
    _cached_engine.cache_clear()


@pytest.fixture
def dashboard(database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    """The export route as `chatdash dashboard` serves it, in `password` mode, on ``database`` (with
    orders), with no session secret set: the chat's generated one in ``tmp_path`` is the one to read."""
    load_frames(database.engine, generate(300, 5), replace=True)
    for name in ("CHATDASH_SESSION_SECRET", "CHATDASH_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHATDASH_DATABASE_URL", dashboard_url(database))
    monkeypatch.setenv("CHATDASH_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CHATDASH_CHAT_URL", CHAT_URL)
    fresh_caches()
    with TestClient(Starlette(routes=export.routes("/dashboard/"))) as http:
        yield http
    get_engine(get_settings()).dispose()
    fresh_caches()


def test_the_export_asks_for_the_chats_sign_in(
    database: Database, dashboard: TestClient, tmp_path: Path
) -> None:
    refused = dashboard.get(URL)
    assert refused.status_code == 401
    assert refused.text == (
        f"Sign in first: {CHAT_URL} (the chat's account opens the dashboard too), then download again.\n"
    )

    with api(database, var_dir=tmp_path) as chat:  # no SESSION_SECRET: generated under VAR_DIR
        form = {"csrf": csrf(chat.client), "username": "dana", "password": "long enough password"}
        signed_up = chat.client.post("/signin", data={**form, "action": "signup"}, follow_redirects=False)
        assert signed_up.status_code == 303
        cookie = chat.client.cookies[sessions.COOKIE]
        assert (tmp_path / "session_secret").is_file()

        opened = dashboard.get(URL, params={"category": "office"}, headers=with_cookie(cookie))
        assert opened.status_code == 200, opened.text
        assert opened.text.splitlines()[0].startswith("order_id,")
        assert {line.split(",")[6] for line in opened.text.splitlines()[1:]} == {"Office"}

        forged = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
        assert dashboard.get(URL, headers=with_cookie(forged)).status_code == 401
        other_key = load_settings(var_dir=tmp_path / "elsewhere")  # another secret, same user id inside
        assert sessions.read_session(cookie, sessions.session_secret(other_key)) == {}

        # Signing out in the chat ends the session everywhere: the copied cookie opens nothing.
        out = chat.client.post("/signout", data={"csrf": csrf(chat.client, "/c")}, follow_redirects=False)
        assert out.status_code == 303
        assert dashboard.get(URL, headers=with_cookie(cookie)).status_code == 401


def test_the_session_reader_is_the_chats_own(database: Database, tmp_path: Path) -> None:
    """What the dashboard calls: the user behind a cookie the chat set, with the chat's secret."""
    settings = load_settings(var_dir=tmp_path)
    with api(database, var_dir=tmp_path) as chat:
        form = {"csrf": csrf(chat.client), "username": "erin", "password": "long enough password"}
        chat.client.post("/signin", data={**form, "action": "signup"}, follow_redirects=False)
        cookie = chat.client.cookies[sessions.COOKIE]
    user = sessions.cookie_user(database.engine, settings, cookie)
    assert user is not None and user.username == "erin"
    session = sessions.read_session(cookie, sessions.session_secret(settings))
    assert session["user_id"] == user.id and session["version"] == user.session_version
    assert sessions.cookie_user(database.engine, settings, None) is None
    assert sessions.cookie_user(database.engine, settings, "not-a-cookie") is None
    assert sessions.cookie_user(database.engine, settings, "snow☃man") is None
    assert sessions.session_user(database.engine, {"user_id": user.id}) is None  # signed in before versions


def test_the_page_without_a_session_shows_only_the_way_to_sign_in(dashboard: TestClient) -> None:
    page = AppTest.from_file(str(APP_PATH), default_timeout=60)
    page.query_params["category"] = "Office"
    page.run()
    assert [e.value for e in page.exception] == []
    assert [i.value for i in page.info] == [
        "The sales dashboard is for signed-in users of the chat: sign in there (one account for both), "
        "then reload this page."
    ]
    assert [(b.label, b.proto.url) for b in page.link_button] == [("Sign in", CHAT_URL)]
    assert list(page.metric) == [] and list(page.dataframe) == [] and list(page.date_input) == []
    assert page.query_params == {"category": "Office"}  # the link is kept for after the sign-in


def test_the_secret_file_is_made_once_for_every_process(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "var")
    first = sessions.session_secret(settings)
    assert len(first) >= 40 and sessions.session_secret(settings) == first
    assert (tmp_path / "var" / "session_secret").stat().st_mode & 0o777 == 0o600
    assert list((tmp_path / "var").iterdir()) == [tmp_path / "var" / "session_secret"]  # no temporary left
