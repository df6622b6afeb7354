"""The prompt registry on real SQLite and PostgreSQL: immutable versions, labels, references, the
sandboxed rendering, the resolver's cache across two engines (two processes' worth), and
stale-while-error when the database really goes away."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, select, text

from chatdash.chat.api.health import default_checks
from chatdash.config import load_settings
from chatdash.db.engine import make_engine, session_factory
from chatdash.db.migrate import upgrade
from chatdash.db.models import PromptVersion as PromptVersionRow
from chatdash.errors import ChatdashError, DatabaseUnavailable
from chatdash.llm import create
from chatdash.pipeline import Pipeline, PipelineError, RunContext, load_pipeline
from chatdash.prompts import (
    PromptContent,
    PromptError,
    PromptNotFound,
    Resolver,
    diff_versions,
    get_prompt,
    install_shipped,
    list_prompts,
    promote,
    prompt_health,
    prompt_versions,
    push_prompt,
    read_prompt_file,
    render_template,
    shipped_prompts,
)
from tests.conftest import Database

pytestmark = pytest.mark.timeout(120)


def content(body: str, name: str = "greeting", **extra: object) -> PromptContent:
    return PromptContent.parse({"name": name, "text": body, **extra})


# -- versions and labels ---------------------------------------------------------------------------


def test_versions_are_immutable_and_an_unchanged_push_makes_none(database: Database) -> None:
    engine = database.engine
    first = push_prompt(engine, content("Hello {{ who }}."))
    assert first.created and first.version.version == 1 and first.version.labels == ("latest",)
    again = push_prompt(engine, content("Hello {{ who }}."))
    assert not again.created and again.version.version == 1
    second = push_prompt(engine, content("Hi {{ who }}!"))
    assert second.created and second.version.version == 2
    # content already stored as an older version is that version, not a third one
    assert push_prompt(engine, content("Hello {{ who }}.")).version.version == 1
    # other params are other content
    third = push_prompt(engine, content("Hi {{ who }}!", params={"temperature": 0.7}))
    assert third.created and third.version.version == 3 and third.version.params == {"temperature": 0.7}
    assert [v.version for v in prompt_versions(engine, "greeting")] == [1, 2, 3]
    assert get_prompt(engine, "greeting@1").text == "Hello {{ who }}."  # version 1 is as it was
    assert get_prompt(engine, "greeting@1").variables == ("who",)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM prompt_versions")).scalar_one() == 3
    with session_factory(engine).begin() as session, pytest.raises(PromptError, match="immutable"):
        session.scalars(select(PromptVersionRow)).first().text = "edited"  # type: ignore[union-attr]
        session.flush()
    assert get_prompt(engine, "greeting@1").text == "Hello {{ who }}."


def test_promote_moves_a_label_and_latest_follows_the_newest(database: Database) -> None:
    engine = database.engine
    push_prompt(engine, content("one"))
    assert get_prompt(engine, "greeting").version == 1  # no production yet: latest
    promote(engine, "greeting", 1, "production")
    push_prompt(engine, content("two"), label="staging")
    assert get_prompt(engine, "greeting@latest").version == 2
    assert get_prompt(engine, "greeting@staging").version == 2
    assert get_prompt(engine, "greeting").version == 1  # production
    moved = promote(engine, "greeting", 2, "production")
    assert moved.version == 2 and moved.labels == ("latest", "production", "staging")
    assert get_prompt(engine, "greeting@production").text == "two"
    promote(engine, "greeting", 1, "production")  # and back
    assert get_prompt(engine, "greeting").text == "one"
    push_prompt(engine, content("three"))
    assert get_prompt(engine, "greeting@latest").version == 3
    assert get_prompt(engine, "greeting").version == 1
    [info] = list_prompts(engine)
    assert (info.name, info.versions) == ("greeting", 3)
    assert info.labels == {"latest": 3, "production": 1, "staging": 2}
    with pytest.raises(PromptError, match="'latest' always names the newest version"):
        promote(engine, "greeting", 1, "latest")
    with pytest.raises(PromptError, match="a number would read as a version"):
        promote(engine, "greeting", 1, "Prod uction")


def test_references_and_what_unknown_ones_say(database: Database) -> None:
    engine = database.engine
    push_prompt(engine, content("one"))
    push_prompt(engine, content("two"))
    promote(engine, "greeting", 1, "production")
    assert get_prompt(engine, "greeting@2").text == "two"
    assert get_prompt(engine, "greeting@production").text == "one"
    with pytest.raises(PromptNotFound, match=r"no prompt 'nope'; the registry has: greeting") as missing:
        get_prompt(engine, "nope@production")
    assert not missing.value.prompt_exists
    with pytest.raises(
        PromptNotFound, match=r"no label 'staging'; its labels: latest \(v2\), production \(v1\)"
    ):
        get_prompt(engine, "greeting@staging")
    with pytest.raises(PromptNotFound, match=r"no version 7 \(1\.\.2\)"):
        get_prompt(engine, "greeting@7")
    with pytest.raises(PromptNotFound, match="no version 9"):
        promote(engine, "greeting", 9, "production")
    with pytest.raises(PromptError, match="prompt name 'Bad Name'"):
        get_prompt(engine, "Bad Name@production")
    assert "-one\n+two\n" in diff_versions(engine, "greeting", 1, 2)
    assert diff_versions(engine, "greeting", 1, 1) == ""


def test_prompt_files_and_chat_messages(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "support.toml"
    path.write_text(
        'name = "support"\n[params]\nmax_tokens = 64\n'
        '[[messages]]\nrole = "system"\ncontent = "You help {{ company }} customers."\n'
        '[[messages]]\nrole = "assistant"\ncontent = "How can I help?"\n',
        encoding="utf-8",
    )
    version = push_prompt(database.engine, read_prompt_file(path)).version
    assert version.variables == ("company",) and version.params == {"max_tokens": 64}
    rendered = get_prompt(database.engine, "support").render_messages({"company": "ACME"})
    assert [(m.role, m.content) for m in rendered] == [
        ("system", "You help ACME customers."),
        ("assistant", "How can I help?"),
    ]
    with pytest.raises(PromptError, match="is chat messages"):
        version.render({"company": "ACME"})
    path.write_text('name = "support"\ntext = "{% if x %}"\n', encoding="utf-8")
    with pytest.raises(PromptError, match=r"support.toml: .*template does not compile"):
        read_prompt_file(path)
    path.write_text('name = "support"\ntext = "{{ a }} {{ b }}"\nvariables = ["a"]\n', encoding="utf-8")
    with pytest.raises(PromptError, match="the template reads b, which variables does not declare"):
        read_prompt_file(path)
    path.write_text('name = "support"\ntxt = "hi"\n', encoding="utf-8")
    with pytest.raises(PromptError, match=r"txt: unknown key"):
        read_prompt_file(path)


# -- rendering -------------------------------------------------------------------------------------


def test_a_missing_variable_is_an_error_naming_it(database: Database) -> None:
    version = push_prompt(database.engine, content("Dear {{ who }}, {{ what }}.")).version
    with pytest.raises(PromptError, match="greeting@1 needs the variable what, which was not given"):
        version.render({"who": "Ann"})
    assert version.render({"who": "Ann", "what": "hello"}) == "Dear Ann, hello."
    # an undeclared name (inline templates declare none) is refused by StrictUndefined, named too
    with pytest.raises(PromptError, match="'whom' is undefined"):
        render_template("Dear {{ whom }}", {}, "inline")


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ items.append(1) }}",  # the immutable sandbox: no changing of what is passed in
        "{{ data.update({'a': 1}) }}",
    ],
)
def test_sandbox_escapes_are_refused(template: str) -> None:
    with pytest.raises(PromptError) as refused:
        render_template(template, {"items": [], "data": {}}, "evil@1")
    assert isinstance(refused.value, ChatdashError) and "evil@1" in str(refused.value)


def test_user_text_is_data_never_a_template() -> None:
    shown = render_template("You said: {{ message }}", {"message": "{{ 7*7 }} {% raw %}"}, "x")
    assert shown == "You said: {{ 7*7 }} {% raw %}"


def test_a_pipeline_names_its_prompt_and_bad_references_fail_at_load() -> None:
    step = Pipeline.from_dict({"steps": [{"type": "template", "prompt": "chat-system"}]}).steps[0]
    assert step.options.prompt == "chat-system"  # type: ignore[attr-defined]
    # what Pipeline.prompt_frame sizes before a run: the shipped file's text
    assert step.options.system.startswith("You are chatdash")  # type: ignore[attr-defined]
    with pytest.raises(PipelineError, match="prompt name 'Chat System'"):
        Pipeline.from_dict({"steps": [{"type": "template", "prompt": "Chat System@production"}]})
    with pytest.raises(PipelineError, match=r"either prompt .* or system"):
        Pipeline.from_dict({"steps": [{"type": "template", "prompt": "chat-system", "system": "hi"}]})


def test_the_template_steps_span_names_the_prompt_and_its_version(database: Database) -> None:
    install_shipped(database.engine)
    push_prompt(database.engine, content("Version two.", name="chat-system"))
    promote(database.engine, "chat-system", 2, "production")
    provider = create("scripted", replies=["Hi."])
    ctx = RunContext(owner="a", message="hello", provider=provider, engine=database.engine)
    result = asyncio.run(load_pipeline("chat").complete(ctx))
    span = next(s for s in result.spans if s.name == "template")
    assert span.prompt_name == "chat-system" and span.prompt_version == 2
    assert span.attributes["prompt_ref"] == "chat-system@production"
    assert provider.requests[0].messages[0].content == "Version two."


# -- shipped prompts -------------------------------------------------------------------------------


def test_shipped_prompts_install_once_and_new_ones_become_production(database: Database) -> None:
    engine = database.engine
    first = install_shipped(engine)
    assert (
        {p.version.name for p in first} == set(shipped_prompts()) >= {"chat-system", "sales-query-fallback"}
    )
    assert all(p.created and p.labelled == ("latest", "production") for p in first)
    again = install_shipped(engine)
    assert all(not p.created and p.labelled == () for p in again)
    push_prompt(engine, content("v2 of the system prompt", name="chat-system"))
    promote(engine, "chat-system", 2, "production")
    install_shipped(engine)  # the file is version 1 already; production stays where it was put
    assert get_prompt(engine, "chat-system").version == 2
    assert [v.version for v in prompt_versions(engine, "chat-system")] == [1, 2]


# -- the resolver ----------------------------------------------------------------------------------


def second_engine(database: Database) -> Engine:
    """Another engine on the same database: what another process (a replica, the CLI) holds."""
    return make_engine(database.url, schema=database.schema)


def test_a_promotion_is_seen_here_at_once_and_by_another_process_after_the_ttl(database: Database) -> None:
    push_prompt(database.engine, content("one"))
    push_prompt(database.engine, content("two"))
    promote(database.engine, "greeting", 1, "production")
    other = second_engine(database)
    try:
        here, there = Resolver(database.engine, ttl_s=60), Resolver(other, ttl_s=1.5)
        assert here.get("greeting@production").text == "one"
        assert there.get("greeting@production").text == "one"
        read = time.monotonic()
        promote(database.engine, "greeting", 2, "production")
        assert here.get("greeting@production").text == "two"  # invalidated by the promotion itself
        assert there.get("greeting@production").text == "one"  # its cache is still young ...
        assert time.monotonic() - read < 1.5, "the machine is too slow for this TTL"
        time.sleep(max(0.0, 1.6 - (time.monotonic() - read)))
        assert there.get("greeting@production").text == "two"  # ... and read again once it expires
        assert there.cached("greeting@production") is not None
    finally:
        other.dispose()


def test_a_prompt_not_pushed_yet_is_the_shipped_file(database: Database) -> None:
    resolver = Resolver(database.engine, ttl_s=0)
    version = resolver.get("chat-system@production")
    assert version.version == 0 and version.text == shipped_prompts()["chat-system"].text
    install_shipped(database.engine)
    assert resolver.get("chat-system@production").version == 1
    with pytest.raises(PromptNotFound, match="no label 'staging'"):
        resolver.get("chat-system@staging")
    with pytest.raises(PromptNotFound, match="no prompt 'unknown'"):
        resolver.get("unknown@production")


class Relay:
    """A TCP relay in front of PostgreSQL: closing it makes the database go away for its clients, as a
    crashed server or a cut network would (the shared test server itself stays up)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with suppress(OSError):  # shutdown wakes the accept() (close alone would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.sockets:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@contextmanager
def fragile_database(database: Database, tmp_path: Path) -> Iterator[tuple[Engine, object]]:
    """An engine on a database that ``gone()`` takes away for real: a SQLite file whose folder is
    deleted, or a PostgreSQL reached through a relay that is closed."""
    if database.backend == "sqlite":
        folder = tmp_path / "fragile"
        engine = make_engine(f"sqlite:///{folder / 'chatdash.db'}")
        upgrade(engine)

        def gone() -> None:
            engine.dispose()
            shutil.rmtree(folder)

        yield engine, gone
        engine.dispose()
        return
    url = make_url(database.url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(
        url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False),
        schema=database.schema,
    )

    def cut() -> None:
        relay.close()
        engine.dispose()

    try:
        yield engine, cut
    finally:
        relay.close()
        engine.dispose()


def test_stale_while_error_when_the_database_goes_away(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fragile_database(database, tmp_path) as (engine, gone):
        push_prompt(engine, content("one"))
        resolver = Resolver(engine, ttl_s=0.1)
        assert resolver.get("greeting").text == "one"
        checks = default_checks(load_settings(var_dir=tmp_path, llm_provider="scripted"), engine)
        assert asyncio.run(checks["prompts"]()) is None  # nothing stale: "ok"

        gone()  # type: ignore[operator]
        time.sleep(0.15)
        with caplog.at_level(logging.WARNING, logger="chatdash.prompts.resolver"):
            served = resolver.get("greeting")
            assert resolver.get("greeting") is served  # within the TTL: no second try
            time.sleep(0.15)
            assert resolver.get("greeting").text == "one"  # tried again, still down: still served
        assert served.text == "one" and served.version == 1
        warnings = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
        assert len(warnings) == 1 and "serving version 1" in warnings[0]  # logged once, not per reply
        notice = resolver.notice("greeting")
        assert notice is not None and "DatabaseUnavailable" in notice.error
        assert str(notice).startswith("serving stale version 1 of greeting (greeting) since ")
        assert prompt_health(engine).stale == (notice,)
        # /readyz's check reports it, without failing readiness on its own account
        assert asyncio.run(checks["prompts"]()) == str(notice)
        # a reference never read has nothing good to serve: its error, and the check fails
        with pytest.raises(DatabaseUnavailable):
            resolver.get("greeting@staging")
        assert prompt_health(engine).unreadable == ("greeting@staging",)
        with pytest.raises(RuntimeError, match=r"never read.*greeting@staging"):
            asyncio.run(checks["prompts"]())
