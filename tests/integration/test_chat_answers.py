"""Answers a user can trust, through the API and the page with a scripted model: the reply leads with
the database's answer, the model's words are shown only when their numbers are the answer's, a question
the data cannot answer says so (and the model is not asked), and a follow-up keeps its context.

Expected figures come from Polars over the loaded rows, never from the query layer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.sales import format_figure
from tests.conftest import Database
from tests.integration.chat_helpers import api
from tests.integration.test_chat_grounded import grounded
from tests.integration.test_chat_web import csrf, sign_up, wait_until_written


def revenue(frame: pl.DataFrame, year: int, category: str | None = None) -> Decimal:
    rows = frame.filter(pl.col("order_date").dt.year() == year)
    if category:
        rows = rows.filter(pl.col("categories") == category)
    return Decimal(int(rows["total_cents"].sum())).scaleb(-2)


def orders(frame: pl.DataFrame, year: int, category: str) -> int:
    rows = frame.filter((pl.col("order_date").dt.year() == year) & (pl.col("categories") == category))
    return rows.height


def ask(a, headers, text: str, conversation: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"messages": [{"role": "user", "content": text}]}
    if conversation:
        body["conversation_id"] = conversation
    answer = a.client.post("/api/chat", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_reply_leads_with_the_database_and_drops_a_model_that_invents_numbers(
    loaded: Database, sample_frame: pl.DataFrame
) -> None:
    expected = format_figure(revenue(sample_frame, 2019))
    invented = "That is approximately $3.5 billion, up 12% on 2018."
    with api(loaded, invented, responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-api")
        reply = ask(a, headers, "What was our revenue in 2019?")
        text = reply["message"]["content"]
        assert text.splitlines()[0] == f"Revenue in 2019: {expected}."
        assert "3.5" not in text and "billion" not in text  # the invented figure is not shown
        answer = reply["answer"]
        assert answer["value"] == str(revenue(sample_frame, 2019)) and answer["metric"] == "revenue"
        assert answer["period"] == {"start": "2019-01-01", "end": "2019-12-31"}
        assert "3.5 billion" in answer["commentary"]  # the reply records why the words were dropped
        assert answer["dashboard"] == {"start": ["2019-01-01"], "end": ["2019-12-31"]}
        assert answer["dashboard_url"] == "http://127.0.0.1:8501/?start=2019-01-01&end=2019-12-31"
        stored = a.client.get(f"/chats/{reply['conversation_id']}/messages", headers=headers).json()
        assert stored["data"][-1]["answer"]["value"] == answer["value"]


def test_commentary_without_numbers_is_shown_after_the_answer(
    loaded: Database, sample_frame: pl.DataFrame
) -> None:
    with api(loaded, "A steady year for the business.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-words")
        reply = ask(a, headers, "revenue in 2019")
        first, *rest = reply["message"]["content"].split("\n\n")
        assert format_figure(revenue(sample_frame, 2019)) in first
        assert rest == ["A steady year for the business."]
        assert reply["answer"]["commentary"] == "shown"


def test_a_name_the_data_lacks_is_declined_and_the_model_is_not_asked(loaded: Database) -> None:
    with api(loaded, "Toys made 1,000,000.00 in 2019.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-decline")
        reply = ask(a, headers, "How much did we sell of Toys in 2019?")
        text = reply["message"]["content"]
        assert "'toys'" in text and "Electronics" in text and "1,000,000" not in text
        assert reply["answer"] == {"declined": text}
        assert a.provider.requests == []  # no model call for a question the data cannot answer


def test_a_follow_up_keeps_the_question_through_the_api(loaded: Database, sample_frame: pl.DataFrame) -> None:
    with api(loaded, "Fine.", "Fine.", "Fine.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-follow")
        first = ask(a, headers, "How many orders did Office have in 2019?")
        assert first["answer"]["value"] == orders(sample_frame, 2019, "Office")
        chat = first["conversation_id"]
        second = ask(a, headers, "and in 2020?", chat)
        assert second["answer"]["value"] == orders(sample_frame, 2020, "Office")
        assert "carried over" in " ".join(second["answer"]["notes"])
        third = ask(a, headers, "what about Sundry?", chat)
        assert third["answer"]["value"] == orders(sample_frame, 2020, "Sundry")
        assert third["message"]["content"].startswith("Orders of Sundry in 2020:")


def test_the_page_shows_the_card_with_its_table_and_dashboard_link(
    loaded: Database, sample_frame: pl.DataFrame
) -> None:
    with api(loaded, "Here you are.", responder=grounded(loaded), session_secret="s" * 40) as a:
        sign_up(a.client, "trust-web")
        created = a.client.post(
            "/c",
            data={"csrf": csrf(a.client, "/c"), "content": "revenue by category in 2019"},
            follow_redirects=False,
        )
        page = wait_until_written(a.client, created.headers["location"])
        assert 'class="card"' in page and "<table>" in page
        for category in ("Electronics", "Office", "Stationery", "Sundry"):
            assert f"<td>{category}</td>" in page
            assert format_figure(revenue(sample_frame, 2019, category)) in page
        assert "http://127.0.0.1:8501/?start=2019-01-01&amp;end=2019-12-31" in page


def test_a_misspelt_name_is_corrected_and_said(loaded: Database, sample_frame: pl.DataFrame) -> None:
    with api(loaded, "Ok.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-spelling")
        reply = ask(a, headers, "stationary revenue in 2019")
        assert reply["answer"]["value"] == str(revenue(sample_frame, 2019, "Stationery"))
        assert "read 'stationary' as Stationery" in reply["message"]["content"]


def test_dates_it_cannot_read_are_asked_back(loaded: Database) -> None:
    with api(loaded, "Spring was good.", responder=grounded(loaded)) as a:
        _, headers = a.user_key("trust-dates")
        reply = ask(a, headers, "What was revenue in spring 2016?")
        assert "spring" in reply["message"]["content"] and "Which dates" in reply["message"]["content"]
        assert "declined" in reply["answer"]
        assert dt.date(2016, 1, 1).isoformat() not in reply["message"]["content"]


def test_a_deleted_chat_is_not_recalled_in_later_chats(database: Database, tmp_path: Path) -> None:
    """Real embeddings (wordllama), a real local Qdrant store: a secret told in a chat is recalled in a
    new chat while the first exists, and no longer once it is deleted."""
    from chatdash.chat.responder import PipelineResponder
    from chatdash.config import Settings
    from chatdash.memory import VectorStore
    from chatdash.pipeline import load_pipeline

    settings = Settings(var_dir=tmp_path, qdrant_url=None, embeddings="wordllama", memory_min_score=0.2)
    store = VectorStore.open(settings)
    secret = "My locker code at the Berlin office is 4711."

    def responder(provider: ScriptedProvider, config: Settings) -> PipelineResponder:
        return PipelineResponder(
            load_pipeline("chat"), provider, engine=None, memory=store, settings=settings
        )

    try:
        with api(database, "Noted.", "Here.", "Here.", responder=responder) as a:
            _, headers = a.user_key("secret-keeper")
            told = ask(a, headers, secret)["conversation_id"]
            ask(a, headers, "What is the locker code at the Berlin office?")
            assert "4711" in a.provider.requests[-1].messages[0].content  # recalled from the first chat
            assert a.client.delete(f"/chats/{told}", headers=headers).status_code == 204
            ask(a, headers, "What is the locker code at the Berlin office?")
            assert "4711" not in a.provider.requests[-1].messages[0].content
    finally:
        store.close()
