"""A chat reply through the real pipeline: a sales question gets the database's exact figures in
the prompt and, stored with the reply, under it (API and web page), whatever the model writes."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from chatdash.chat.responder import PipelineResponder
from chatdash.config import Settings
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.pipeline import load_pipeline
from chatdash.sales.answer import format_figure
from chatdash.sales.generator import generate_frame
from tests.conftest import SAMPLE_ROWS, SAMPLE_SEED, Database
from tests.integration.chat_helpers import api
from tests.integration.test_chat_web import csrf, sign_up, wait_until_written


def grounded(loaded: Database):  # type: ignore[no-untyped-def]
    def make(provider: ScriptedProvider, settings: Settings) -> PipelineResponder:
        return PipelineResponder(
            load_pipeline("chat"), provider, engine=loaded.engine, memory=None, settings=settings
        )

    return make


def revenue_2019(loaded: Database) -> str:
    """2019's revenue from the rows ``loaded`` holds, with Polars (never the app's query layer)."""
    rows = generate_frame(SAMPLE_ROWS, SAMPLE_SEED).filter(pl.col("order_date").dt.year() == 2019)
    return format_figure(Decimal(int(rows["total_cents"].sum())).scaleb(-2))


def test_sales_figures_reach_the_prompt_and_the_stored_sources(loaded: Database) -> None:
    expected = revenue_2019(loaded)
    with api(loaded, "The model's own wording.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("grounded-api")
        answer = a.client.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": "What was the total revenue in 2019?"}]},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        content = answer.json()["message"]["content"]  # the database's answer first, then the model's words
        assert content.startswith(f"Revenue in 2019: {expected}.") and content.endswith(
            "The model's own wording."
        )
        assert any(expected in line for line in answer.json()["sources"])
        chat_id = answer.json()["conversation_id"]
        messages = a.client.get(f"/chats/{chat_id}/messages", headers=headers).json()["data"]
        reply = messages[-1]
        assert reply["status"] == "complete"
        assert any(expected in line and "2019" in line for line in reply["sources"]), reply["sources"]
        assert messages[0]["sources"] == []  # the user's own message has none
        prompt = "\n".join(m.content for m in a.provider.requests[-1].messages)
        assert expected in prompt  # the model was given the figure verbatim


def test_a_plain_message_has_no_sales_source(loaded: Database) -> None:
    with api(loaded, "Hello to you too.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("grounded-plain")
        answer = a.client.post(
            "/api/chat", json={"messages": [{"role": "user", "content": "Hello there!"}]}, headers=headers
        )
        chat_id = answer.json()["conversation_id"]
        reply = a.client.get(f"/chats/{chat_id}/messages", headers=headers).json()["data"][-1]
        assert reply["sources"] == []


def test_the_web_page_shows_the_figures_under_the_reply(loaded: Database) -> None:
    expected = revenue_2019(loaded)
    with api(loaded, "Here you are.", responder=grounded(loaded), session_secret="s" * 40) as a:
        sign_up(a.client, "grounded-web")
        created = a.client.post(
            "/c",
            data={"csrf": csrf(a.client, "/c"), "content": "total revenue in 2019"},
            follow_redirects=False,
        )
        page = wait_until_written(a.client, created.headers["location"])
        # the answer's card under the reply holds the query and its figure (no second copy under Sources)
        assert 'class="card"' in page and expected in page and "Revenue, 2019-01-01 to 2019-12-31" in page
        assert "Sources" not in page


def test_api_chat_takes_json_sent_as_curl_does(database: Database) -> None:
    """``curl -d '{...}'`` labels its JSON form-urlencoded; the API still reads it as JSON."""
    with api(database, "Hi!") as a:
        _, headers = a.user_key("curl-user")
        form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        body = '{"messages": [{"role": "user", "content": "Hello"}]}'
        answer = a.client.post("/api/chat", content=body, headers=form)
        assert answer.status_code == 200, answer.text
        assert answer.json()["message"]["content"] == "Hi!"
        broken = a.client.post("/api/chat", content="messages=hello", headers=form)
        assert broken.status_code == 422
        assert "the body must be JSON" in broken.text


def test_the_pipeline_files_max_tokens_reaches_the_model_and_the_setting_caps_it(loaded: Database) -> None:
    """``max_tokens = 256`` in pipelines/chat.toml is the default; CHATDASH_CHAT_MAX_TOKENS only lowers it."""
    ask = {"messages": [{"role": "user", "content": "Hello there!"}]}
    for setting, sent in ((None, 256), (64, 64), (4096, 256)):
        with api(loaded, "Hi.", responder=grounded(loaded), chat_max_tokens=setting) as a:
            _, headers = a.user_key(f"tokens-{setting}")
            assert a.client.post("/api/chat", json=ask, headers=headers).status_code == 200
            assert a.provider.requests[-1].options.max_tokens == sent, setting
