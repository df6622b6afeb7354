"""The pipeline engine with the scripted provider (created through the real registry) and a small
SQLite file: loading pipeline files, their errors, the event order, figures reaching the prompt and
the Sources event, plugin steps, trimming, per-run options and tracing records."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from chatdash.db.engine import make_engine
from chatdash.db.migrate import upgrade
from chatdash.errors import ChatdashError, ModelBusy, QueryError
from chatdash.llm import Message, create
from chatdash.llm.providers.scripted import ScriptedProvider
from chatdash.memory.chat import Recalled
from chatdash.pipeline import (
    Delta,
    Done,
    Event,
    Pipeline,
    PipelineError,
    Retrieved,
    RunContext,
    Sources,
    SpanRecord,
    Step,
    StepOptions,
    StepRun,
    load_pipeline,
    register_step,
    step_types,
    unregister_step,
)
from chatdash.sales.answer import format_figure
from chatdash.sales.generator import generate_frame
from chatdash.sales.loader import load_frames

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("pipeline") / "sales.db"
    created = make_engine(f"sqlite:///{path}")
    upgrade(created)
    load_frames(created, [generate_frame(3_000, 11)], replace=True)
    yield created
    created.dispose()


def scripted(*replies: Any, **options: Any) -> ScriptedProvider:
    provider = create("scripted", replies=list(replies), **options)
    assert isinstance(provider, ScriptedProvider)
    return provider


def run(pipeline: Pipeline, ctx: RunContext) -> list[Event]:
    async def collect() -> list[Event]:
        return [event async for event in pipeline.run(ctx)]

    return asyncio.run(collect())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- files ---------------------------------------------------------------------------------------


def test_the_packaged_chat_pipeline_loads() -> None:
    pipeline = load_pipeline("chat")
    assert pipeline.name == "chat"
    assert [step.id for step in pipeline.steps] == ["retrieve", "sales_query", "answer", "template", "llm"]
    assert pipeline.source.endswith("pipelines/chat.toml")
    assert {"retrieve", "sales_query", "answer", "template", "llm"} <= set(step_types())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[steps]]\ntype = "summarise"\n',
            r"custom\.toml: step 1: unknown step type 'summarise'; known types: .*llm",
        ),
        (
            '[[steps]]\ntype = "llm"\nmax_token = 5\n',
            r"custom\.toml: step 1 \(llm, type llm\): unknown option 'max_token'",
        ),
        (
            '[[steps]]\ntype = "retrieve"\n[[steps]]\ntype = "retrieve"\nname = "again"\nmemories = -1\n',
            r"custom\.toml: step 2 \(again, type retrieve\): memories: Input should be greater than or equal",
        ),
        (
            '[[steps]]\ntype = "template"\nsystem = "{% if x %}"\n',
            r"step 1 \(template.*system template does not compile",
        ),
        ('[[steps]]\ntype = "llm"\ntemperature = 9\n', r"step 1 \(llm, type llm\): temperature"),
        ('[[steps]]\nname = "x"\n', r"custom\.toml: step 1 has no type"),
        ('name = "empty"\n', r"custom\.toml: no steps"),
        ('steps = []\nmodel = "x"\n', r"custom\.toml: unknown top-level key\(s\) model"),
        ('[[steps]]\ntype = "llm"\n[[steps]]\ntype = "llm"\n', r"step 2: the name 'llm' is used twice"),
        ("[[steps]\n", r"custom\.toml: not valid TOML"),
    ],
)
def test_bad_pipeline_files_name_the_file_and_the_step(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PipelineError, match=message):
        load_pipeline(path)


def test_unknown_builtin_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no built-in pipeline 'nope'; built-in: chat"):
        load_pipeline("nope")
    with pytest.raises(PipelineError, match="cannot be read"):
        load_pipeline(tmp_path / "missing.toml")
    assert isinstance(PipelineError("x"), ChatdashError)


# -- runs ----------------------------------------------------------------------------------------


def test_a_sales_question_streams_sources_then_text_then_done(engine: Engine) -> None:
    provider = scripted("Revenue was as shown below.")
    ctx = RunContext(
        owner="alice",
        message="What was the revenue by category in 2019?",
        provider=provider,
        history=[Message.user("hi"), Message.assistant("Hello!")],
        chat_id="c1",
        engine=engine,
    )
    events = run(load_pipeline("chat"), ctx)
    kinds = [event.kind for event in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"delta"} and len(kinds) > 3
    sources, done = events[0], events[-1]
    assert isinstance(sources, Sources) and isinstance(done, Done)
    sales = sources.sales
    assert sales is not None and sales.spec.group_by == "category" and len(sales.rows) == 4
    # The reply leads with the database's sentence; the model's words (no numbers) follow it.
    written = "".join(e.text for e in events if isinstance(e, Delta))
    assert written == sales.sentence() + "\n\n" + done.text and done.text == "Revenue was as shown below."
    # The model gets the figures verbatim, in the system prompt, ahead of the history.
    sent = provider.requests[0].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[-1].content == ctx.message
    assert sales.description in sent[0].content
    assert format_figure(sales.value) in sent[0].content
    for row in sales.rows:
        assert f"- {row.label}: {format_figure(row.value)}" in sent[0].content
    # One span per step, in order; no vector store means retrieve did nothing.
    assert [(s.name, s.status) for s in done.spans] == [
        ("retrieve", "skipped"),
        ("sales_query", "ok"),
        ("answer", "ok"),
        ("template", "ok"),
        ("llm", "ok"),
    ]
    assert done.spans[1].attributes["query"] == sales.description
    assert done.spans[4].completion_tokens == 5
    assert done.spans[4].attributes["figure_check"] == "shown"
    assert all(s.latency_ms >= 0 for s in done.spans)
    assert done.usage is not None and done.usage.completion_tokens == 5
    assert sources.as_dict()["sales"]["value"] == str(sales.value)
    assert (
        json.loads(json.dumps([event.as_dict() for event in events]))[-1]["usage"]["completion_tokens"] == 5
    )


def test_other_messages_get_no_figures(engine: Engine) -> None:
    provider = scripted("Paris.")
    ctx = RunContext(
        owner="alice", message="What is the capital of France?", provider=provider, engine=engine
    )
    result = asyncio.run(load_pipeline("chat").complete(ctx))
    assert result.text == "Paris." and result.sources.sales is None
    assert "sales database" not in provider.requests[0].messages[0].content
    assert [s.status for s in result.spans] == ["skipped", "skipped", "skipped", "ok", "ok"]
    assert result.spans[2].attributes["written"] is False  # the answer step wrote nothing
    assert result.spans[1].attributes["reason"] == "not a sales question"


def test_long_history_is_trimmed_by_the_provider_and_reported(engine: Engine) -> None:
    provider = scripted("ok", context_window=700)
    history = [Message.user(f"question {i} " + "word " * 20) for i in range(30)]
    ctx = RunContext(owner="a", message="Revenue in 2019?", provider=provider, history=history, engine=engine)
    result = asyncio.run(load_pipeline("chat").complete(ctx))
    sent = provider.requests[0].messages
    assert sent[0].role == "system" and "sales database" in sent[0].content
    assert sent[-1].content == "Revenue in 2019?"
    assert result.completion is not None and result.completion.dropped_messages > 0
    assert result.spans[-1].attributes["dropped_messages"] == result.completion.dropped_messages


def test_run_options_override_the_file_and_are_checked() -> None:
    provider = scripted("one two three four five")
    ctx = RunContext(owner="a", message="hi", provider=provider, llm_options={"max_tokens": 2})
    result = asyncio.run(load_pipeline("chat").complete(ctx))
    assert result.text == "one two " and provider.requests[0].options.max_tokens == 2
    assert provider.requests[0].options.temperature == 0.2  # from chat.toml
    bad = RunContext(owner="a", message="hi", provider=scripted("x"), llm_options={"max_token": 2})
    with pytest.raises(ValidationError):
        asyncio.run(load_pipeline("chat").complete(bad))


def test_model_errors_reach_the_caller_after_the_sources() -> None:
    ctx = RunContext(owner="a", message="hi", provider=scripted(ModelBusy("busy", retry_after=3.0)))
    seen: list[str] = []

    async def consume() -> None:
        async for event in load_pipeline("chat").run(ctx):
            seen.append(event.kind)

    with pytest.raises(ModelBusy):
        asyncio.run(consume())
    assert seen == ["sources"]


def test_leaving_early_closes_the_models_stream() -> None:
    provider = scripted("a b c d e f g h", delay_s=0.01)
    ctx = RunContext(owner="a", message="hi", provider=provider)

    async def first_delta() -> str:
        run = load_pipeline("chat").run(ctx)
        async for event in run:
            if isinstance(event, Delta):
                await run.aclose()
                return event.text
        raise AssertionError("no delta")

    assert asyncio.run(first_delta()) == "a "


# -- steps from outside --------------------------------------------------------------------------


class RememberOptions(StepOptions):
    text: str


class Remember(Step):
    """A plugin step: pretends to recall a memory (with template syntax in it)."""

    id = "test_remember"
    Options = RememberOptions

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        assert isinstance(self.options, RememberOptions)
        run.output = Retrieved([Recalled("c0", "m0", "user", self.options.text, 0.9, 0.0)])


class Broken(Step):
    id = "test_broken"

    async def apply(self, ctx: RunContext, run: StepRun) -> None:
        raise QueryError("the database said no")


class Echo(Step):
    """A plugin step that writes the reply itself."""

    id = "test_echo"
    streams = True

    async def stream(self, ctx: RunContext, run: StepRun) -> AsyncGenerator[str, None]:
        for word in ctx.message.split():
            yield word


@pytest.fixture
def plugins() -> Iterator[None]:
    for step in (Remember, Broken, Echo):
        register_step(step)
    yield
    for step in (Remember, Broken, Echo):
        unregister_step(step.id)


@pytest.mark.usefixtures("plugins")
def test_plugin_steps_work_like_builtins_and_user_text_is_never_a_template(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[steps]]
        type = "test_remember"
        text = "my budget is {{ 7 * 7 }}"

        [[steps]]
        type = "test_broken"
        on_error = "skip"

        [[steps]]
        type = "template"
        system = "Earlier: {% for m in memories %}{{ m.text }}{% endfor %}"
        inputs = { retrieved = "test_remember" }

        [[steps]]
        type = "llm"
        """,
    )
    provider = scripted("fine")
    result = asyncio.run(
        load_pipeline(path).complete(RunContext(owner="a", message="{{ 1 + 1 }}", provider=provider))
    )
    sent = provider.requests[0].messages
    assert sent[0].content == "Earlier: my budget is {{ 7 * 7 }}"
    assert sent[-1].content == "{{ 1 + 1 }}"
    assert result.sources.memories[0].text == "my budget is {{ 7 * 7 }}"
    broken = result.spans[1]
    assert (broken.status, broken.error) == ("error", "QueryError: the database said no")
    with pytest.raises(ValueError, match="already registered"):
        register_step(type("Other", (Remember,), {}))


@pytest.mark.usefixtures("plugins")
def test_failing_steps_stop_the_run_unless_skipped(tmp_path: Path) -> None:
    pipeline = Pipeline.from_dict({"steps": [{"type": "test_broken"}, {"type": "llm"}]})
    with pytest.raises(QueryError, match="said no"):
        asyncio.run(pipeline.complete(RunContext(owner="a", message="x", provider=scripted("y"))))
    trace: list[SpanRecord] = []

    async def consume() -> None:
        async for _ in pipeline.run(RunContext(owner="a", message="x", provider=scripted("y")), trace=trace):
            pass

    with pytest.raises(QueryError):
        asyncio.run(consume())
    assert [(s.name, s.status, s.error) for s in trace] == [
        ("test_broken", "error", "QueryError: the database said no")
    ]


@pytest.mark.usefixtures("plugins")
def test_a_plugin_step_can_write_the_reply() -> None:
    pipeline = Pipeline.from_dict({"steps": [{"type": "test_echo"}]})
    events = run(pipeline, RunContext(owner="a", message="one two", provider=scripted()))
    assert [e.kind for e in events] == ["sources", "delta", "delta", "done"]
    done = events[-1]
    assert isinstance(done, Done) and done.completion is None


# -- the model as a fallback reader of sales questions -------------------------------------------

FALLBACK = {
    "steps": [
        {"type": "sales_query", "model_fallback": True},
        {"type": "template"},
        {"type": "llm"},
    ]
}
VAGUE = "How did the cabinet line do in twenty nineteen?"


def test_rules_first_and_no_model_call_without_the_fallback(engine: Engine) -> None:
    provider = scripted("It did fine.")
    result = asyncio.run(load_pipeline("chat").complete(RunContext("a", VAGUE, provider, engine=engine)))
    # a sales question the rules cannot read whole is declined, and no model guesses instead
    assert result.sources.sales is None and len(provider.requests) == 0
    assert "'twenty'" in result.text and "Cabinet" in result.text
    provider = scripted("Here.")
    ctx = RunContext("a", "revenue in 2019", provider, engine=engine)
    result = asyncio.run(Pipeline.from_dict(FALLBACK).complete(ctx))
    assert result.sources.sales is not None and result.spans[0].attributes["read_by"] == "rules"
    assert [r.schema for r in provider.requests] == [None]  # the rules answered: no structured call


def test_the_models_spec_is_used_only_after_the_vocabulary_check(engine: Engine) -> None:
    proposal = (
        '{"about_sales": true, "spec": {"metric": "quantity", "start": "2019-01-01", "end": "2019-12-31", '
        '"products": ["cabinets"]}}'
    )
    provider = scripted(proposal, "Cabinets sold well.")
    result = asyncio.run(
        Pipeline.from_dict(FALLBACK).complete(RunContext("a", VAGUE, provider, engine=engine))
    )
    sales = result.sources.sales
    assert sales is not None and sales.spec.products == ("Cabinet",) and sales.spec.metric == "quantity"
    assert result.spans[0].attributes["read_by"] == "model"
    assert provider.requests[0].schema is not None
    assert sales.description in provider.requests[1].messages[0].content

    invented = '{"about_sales": true, "spec": {"products": ["Tractor"]}}'
    provider = scripted(invented, "No idea.")
    result = asyncio.run(
        Pipeline.from_dict(FALLBACK).complete(RunContext("a", VAGUE, provider, engine=engine))
    )
    assert result.sources.sales is None
    assert "Tractor" in result.spans[0].attributes["model_spec_rejected"]


def test_the_reply_step_cannot_be_skipped() -> None:
    with pytest.raises(PipelineError, match="not possible for llm"):
        Pipeline.from_dict({"steps": [{"type": "llm", "on_error": "skip"}]}, source="x.toml")


def test_a_max_tokens_cap_lowers_the_files_value_and_never_raises_it() -> None:
    for cap, sent in ((None, 256), (3, 3), (10_000, 256)):
        provider = scripted("one two three four five")
        ctx = RunContext(owner="a", message="hi", provider=provider, max_tokens=cap)
        asyncio.run(load_pipeline("chat").complete(ctx))
        assert provider.requests[0].options.max_tokens == sent, cap
    provider = scripted("one two three")  # an explicit override is capped too
    ctx = RunContext(owner="a", message="hi", provider=provider, llm_options={"max_tokens": 50}, max_tokens=2)
    assert asyncio.run(load_pipeline("chat").complete(ctx)).text == "one two "


def test_commentary_cut_off_by_max_tokens_keeps_whole_sentences(engine: Engine) -> None:
    for words, kept in (
        ("Sales look steady. The Electronics category had the best year of all", "Sales look steady."),
        ("The Electronics category had the best year of all of them", ""),
    ):
        provider = scripted(words)
        ctx = RunContext(owner="a", message="revenue in 2019", provider=provider, engine=engine, max_tokens=8)
        result = asyncio.run(load_pipeline("chat").complete(ctx))
        assert result.sources.sales is not None
        assert result.text == result.sources.sales.sentence() + (f"\n\n{kept}" if kept else "")


# -- named outputs, inputs, pinned outputs: n-step orchestrations -----------------------------------

TWO_MODELS = """
    name = "draft-and-review"
    inputs = ["audience"]

    [[steps]]
    type = "llm"
    name = "draft"
    system = "Write for {{ audience }}."
    temperature = 0.7
    max_tokens = 40

    [[steps]]
    type = "llm"
    name = "review"
    system = "Shorten this draft: {{ draft }}"
    inputs = { draft = "draft" }
    temperature = 0.0
    max_tokens = 10
    model = "reviewer"
"""


def two_models(tmp_path: Path) -> Pipeline:
    return load_pipeline(write(tmp_path, TWO_MODELS))


def test_two_llm_steps_each_with_its_own_prompt_and_parameters_read_each_other(tmp_path: Path) -> None:
    writer, reviewer = scripted("A long and winding draft"), scripted("Short draft", model="reviewer")
    ctx = RunContext(
        owner="a",
        message="Describe our desks",
        provider=writer,
        inputs={"audience": "buyers"},
        providers={"reviewer": reviewer},
    )
    events = run(two_models(tmp_path), ctx)
    deltas = [e for e in events if isinstance(e, Delta)]
    assert {d.step for d in deltas} == {"draft", "review"}  # every piece of text says which step wrote it
    assert "".join(d.text for d in deltas if d.step == "review") == "Short draft"
    done = events[-1]
    assert isinstance(done, Done)
    assert done.outputs["draft"].text == "A long and winding draft"  # each output kept under its name
    assert done.outputs["review"].text == "Short draft" and done.completion == done.outputs["review"]
    # each step sent its own prompt, with its own parameters, to its own model
    (first,), (second,) = writer.requests, reviewer.requests
    assert first.messages[0].content == "Write for buyers."
    assert (first.options.temperature, first.options.max_tokens) == (0.7, 40)
    assert second.messages[0].content == "Shorten this draft: A long and winding draft"
    assert second.messages[-1].content == "Describe our desks"
    assert (second.options.temperature, second.options.max_tokens) == (0.0, 10)
    spans = {s.name: s for s in done.spans}
    assert spans["draft"].model == "scripted" and spans["review"].model == "reviewer"
    assert spans["review"].input["draft"].text == "A long and winding draft"
    assert spans["review"].output.text == "Short draft"


def test_a_pinned_output_replaces_its_step_and_feeds_the_next(tmp_path: Path) -> None:
    reviewer = scripted("Pinned, reviewed", model="reviewer")
    writer = scripted()  # never asked: the draft is pinned
    ctx = RunContext(
        owner="a",
        message="Describe our desks",
        provider=writer,
        inputs={"audience": "buyers"},
        providers={"reviewer": reviewer},
        pinned={"draft": "A fixed draft"},
    )
    result = asyncio.run(two_models(tmp_path).complete(ctx))
    assert writer.requests == []
    assert reviewer.requests[0].messages[0].content == "Shorten this draft: A fixed draft"
    assert result.outputs["draft"] == "A fixed draft"
    assert [(s.name, s.status) for s in result.spans] == [("draft", "pinned"), ("review", "ok")]
    assert result.text == "A fixed draft" + "Pinned, reviewed"
    with pytest.raises(PipelineError, match="cannot pin drafts: no such step"):
        asyncio.run(
            two_models(tmp_path).complete(
                RunContext(
                    owner="a", message="x", provider=writer, inputs={"audience": "x"}, pinned={"drafts": ""}
                )
            )
        )


def test_the_chat_pipeline_can_pin_its_sales_answer_to_measure_the_model_alone(engine: Engine) -> None:
    pipeline = load_pipeline("chat")
    ctx = RunContext(owner="a", message="Revenue in 2019?", provider=scripted("x"), engine=engine)
    answered = asyncio.run(pipeline.complete(ctx)).outputs["sales_query"]
    provider = scripted("Steady.")
    pinned = RunContext(
        owner="a", message="something else entirely", provider=provider, pinned={"sales_query": answered}
    )
    result = asyncio.run(pipeline.complete(pinned))  # no engine: the pinned answer stands in for the query
    assert result.sources.sales is answered.sales
    assert result.text.startswith(answered.sales.sentence())
    assert answered.sales.description in provider.requests[0].messages[0].content


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ('{ draft = "nowhere" }', "input 'draft' reads 'nowhere', which is not an earlier step"),
        ('{ draft = "review" }', "input 'draft' reads 'review', which is not an earlier step"),
        ('{ draft = "input.topic" }', "reads 'input.topic', which the pipeline does not declare"),
        ('"draft"', "inputs must be a table"),
    ],
)
def test_an_input_that_names_nothing_fails_when_the_file_loads(
    tmp_path: Path, inputs: str, message: str
) -> None:
    text = f"""
        [[steps]]
        type = "llm"
        name = "draft"

        [[steps]]
        type = "answer"
        inputs = {inputs}

        [[steps]]
        type = "llm"
        name = "review"
    """
    if "draft =" in inputs:
        text = text.replace('type = "answer"', 'type = "template"')
    with pytest.raises(PipelineError, match=r"custom\.toml: step 2") as caught:
        load_pipeline(write(tmp_path, text))
    assert message in str(caught.value)


def test_a_step_that_reads_no_such_input_and_a_missing_run_input_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[[steps]]\ntype = "retrieve"\ninputs = { sales = "input.message" }\n')
    with pytest.raises(PipelineError, match="a retrieve step has no input 'sales' \\(it reads: none\\)"):
        load_pipeline(path)
    pipeline = two_models(tmp_path)
    with pytest.raises(PipelineError, match="this run lacks the input\\(s\\) audience"):
        asyncio.run(pipeline.complete(RunContext(owner="a", message="x", provider=scripted("y"))))


def test_an_llm_step_naming_a_model_no_provider_serves_says_so(tmp_path: Path) -> None:
    ctx = RunContext(owner="a", message="x", provider=scripted("draft"), inputs={"audience": "y"})
    with pytest.raises(PipelineError, match="no provider serves the model 'reviewer'"):
        asyncio.run(two_models(tmp_path).complete(ctx))


def test_an_llm_step_with_reply_false_feeds_later_steps_but_writes_nothing_of_the_reply(
    tmp_path: Path,
) -> None:
    text = TWO_MODELS.replace('name = "draft"', 'name = "draft"\n    reply = false')
    writer, reviewer = scripted("A long draft"), scripted("Short", model="reviewer")
    ctx = RunContext(
        owner="a", message="x", provider=writer, inputs={"audience": "b"}, providers={"reviewer": reviewer}
    )
    result = asyncio.run(load_pipeline(write(tmp_path, text)).complete(ctx))
    assert result.text == "Short" and result.outputs["draft"].text == "A long draft"
