"""`chatdash bench ...`: benchmarks that time our way and a baseline in the same run."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from chatdash.cli.common import console, edge
from chatdash.config import get_settings

app = typer.Typer(help="Benchmarks (results in benchmarks/RESULTS.md).", no_args_is_help=True)


def _report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
        return
    table = Table(title=f"bench {result['name']}", show_header=False)
    for key in (
        "rows",
        "backend",
        "median_ms",
        "baseline_median_ms",
        "speedup",
        "runs_ms",
        "baseline_runs_ms",
    ):
        if key in result:
            table.add_row(key, str(result[key]))
    console.print(table)


@app.command("dashboard")
@edge
def dashboard(
    rows: int = typer.Option(100_000, min=1, help="Orders in the benchmark database."),
    database_url: str | None = typer.Option(
        None,
        help="PostgreSQL URL to run on (a schema bench_dashboard_<rows> is used). "
        "Default: a SQLite file under var/bench/.",
    ),
    repeat: int = typer.Option(15, min=1, help="Timed refreshes through the query layer."),
    baseline_repeat: int = typer.Option(3, min=1, help="Timed refreshes the naive way."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Full dashboard refresh: query layer + rollup vs aggregates over the raw table."""
    from chatdash.bench import dashboard as bench

    settings = get_settings()
    url = settings.model_validate({"database_url": database_url}).database_url if database_url else None
    _report(bench.run(rows, url, settings.var_dir, repeat, baseline_repeat), as_json)


@app.command("generate")
@edge
def generate(
    rows: int = typer.Option(1_000_000, min=1, help="Rows to generate."),
    repeat: int = typer.Option(5, min=1, help="Timed runs of the vectorised generator."),
    baseline_repeat: int = typer.Option(1, min=1, help="Timed runs of the row-by-row generator."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Vectorised generator vs a row-by-row Python generator."""
    from chatdash.bench import generate as bench

    _report(bench.run(rows, repeat, baseline_repeat), as_json)


@app.command("llm")
@edge
def llm(
    max_tokens: int = typer.Option(48, min=1, help="Tokens generated per request."),
    concurrency: list[int] = typer.Option(
        [1, 16], help="Simultaneous requests; repeat for several levels (1: the single-stream rate)."
    ),
    threads: list[int] = typer.Option([1, 2], min=1, help="llama.cpp threads; repeat for several runs."),
    rounds: int = typer.Option(3, min=1, help="Rounds per level and side (medians reported)."),
    embedded: bool = typer.Option(
        True, help="Also time the embedded provider, for reference (first thread count only)."
    ),
    points: list[int] = typer.Option(
        [10_000, 100_000], help="Stored vectors for the search timing; repeatable."
    ),
    queries: int = typer.Option(200, min=1, help="Searches timed per store size."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """`chatdash lm serve` vs llama.cpp's llama-server as the issue ran it (same model, same run);
    the embedded provider for reference; embeddings/s; search p50/p95."""
    from chatdash.bench import llm as bench

    result = bench.run(
        get_settings(),
        max_tokens=max_tokens,
        concurrency=concurrency,
        threads=threads,
        rounds=rounds,
        embedded=embedded,
        points=points,
        queries=queries,
    )
    if as_json:
        _report(result, as_json)
        return
    _report({k: v for k, v in result.items() if k not in ("runs", "search", "embeddings")}, as_json)
    for run in result["runs"]:
        for level in run["levels"]:
            console.print({"threads": run["threads"], **level}, highlight=False)
        console.print({"threads": run["threads"], "ours / theirs": run["ratios"]}, highlight=False)
    console.print({"bar": result["bar"], "met": result["bar_met"]}, highlight=False)
    console.print(result["embeddings"], highlight=False)
    for row in result["search"]:
        console.print(row, highlight=False)


@app.command("chat")
@edge
def chat(
    repeat: int = typer.Option(50, min=1, help="Timed streamed replies with the scripted provider."),
    model_repeat: int = typer.Option(5, min=1, help="Timed streamed replies with the bundled model."),
    model_max_tokens: int = typer.Option(8, min=1, help="Tokens per reply of the bundled model."),
    model: bool = typer.Option(True, help="Also time the bundled model (--no-model: scripted only)."),
    list_requests: int = typer.Option(2000, min=1, help="GET /chats requests in the load test."),
    clients: int = typer.Option(50, min=1, help="Concurrent GET /chats clients."),
    chats: int = typer.Option(20, min=1, help="Chats the listing user owns."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time to first token added by the chat stack (POST /api/chat over TCP) and GET /chats req/s."""
    from chatdash.bench import chat as bench

    result = bench.run(
        get_settings(),
        repeat=repeat,
        model_repeat=model_repeat,
        model_max_tokens=model_max_tokens,
        providers=bench.PROVIDERS if model else ("scripted",),
        list_requests=list_requests,
        clients=clients,
        chats=chats,
    )
    if as_json:
        _report(result, as_json)
        return
    _report({k: v for k, v in result.items() if k not in ("levels", "list_chats", "machine")}, as_json)
    for level in result["levels"]:
        console.print({k: v for k, v in level.items() if k != "added_ms"}, highlight=False)
    console.print({"GET /chats": result["list_chats"]}, highlight=False)


@app.command("load")
@edge
def load(
    users: int = typer.Option(100, min=1, help="Simulated users: web users and API clients together."),
    seconds: int = typer.Option(30, min=1, help="How long the load lasts (then each reply being read ends)."),
    url: str = typer.Option(
        "http://127.0.0.1:8088", help="The chatdash to load: `stack up`'s nginx, or a `chatdash serve`."
    ),
    spawn_rate: float = typer.Option(20.0, min=0.1, help="Users started per second."),
    api_share: float = typer.Option(0.2, min=0.0, max=1.0, help="Share of the users that are API clients."),
    think: float = typer.Option(1.0, min=0.0, help="Mean seconds a user pauses between two steps."),
    database_url: str | None = typer.Option(
        None, help="The server's database, where the users are made. Default: CHATDASH_DATABASE_URL."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Locust, headless: signed-in web users and API clients at once; per route req/s and p50/p95/p99."""
    from chatdash.bench import load as bench

    settings = get_settings()
    if database_url:
        checked = settings.model_validate({"database_url": database_url}).database_url
        settings = settings.model_copy(update={"database_url": checked})
    result = bench.run(
        settings,
        url=url,
        users_count=users,
        seconds=seconds,
        spawn_rate=spawn_rate,
        api_share=api_share,
        think_s=think,
    )
    if as_json:
        _report(result, as_json)
        return
    title = f"bench load: {result['users']} users, {result['seconds']} s, model {result['model']}"
    table = Table(title=title)
    for column in ("route", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for group in ("routes", "model_routes"):
        for route, row in result[group].items():
            cells = [row.get(k, "") for k in ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms")]
            name = escape(route) + (" (model)" if group == "model_routes" else "")
            table.add_row(name, *map(str, cells))
    console.print(table)
    console.print(
        f"median {result['median_ms']} ms (routes without the model), {result['rps']} req/s, "
        f"{result['errors']} errors; accounts {result['accounts_prefix']}-*",
        highlight=False,
    )
    if result["steady"]:
        steady = result["steady"]
        console.print(
            f"after the ramp ({result['ramp_s']} s of users starting and signing in): median "
            f"{steady['median_ms']} ms, {steady['rps']} req/s; per route in --json",
            highlight=False,
        )


@app.command("evals")
@edge
def evals(
    executions: int = typer.Option(1000, min=1, help="Executions of the overhead scenario per round."),
    concurrency: int = typer.Option(8, min=1, max=64, help="Executions at a time."),
    cases: int = typer.Option(100, min=1, help="Distinct cases (each repeated to make the executions)."),
    rounds: int = typer.Option(3, min=1, help="Timed rounds (runner and baseline each); medians reported."),
    full: bool = typer.Option(False, "--full", help="Also run scenarios/sales-qa.yaml with the model."),
    full_rows: int = typer.Option(100_000, min=1, help="With --full: orders in its database."),
    full_cases: int = typer.Option(30, min=0, help="With --full: its first N questions (0: all of them)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The test bed's runner: overhead per execution over bare pipeline runs (scripted model)."""
    from chatdash.bench import evals as bench

    result = bench.run(
        get_settings(),
        executions=executions,
        concurrency=concurrency,
        cases=cases,
        rounds=rounds,
        full=full,
        full_rows=full_rows,
        full_cases=full_cases,
    )
    _report(result, as_json)
    if as_json:
        return
    for key in (
        "executions",
        "added_ms",
        "untraced_median_ms",
        "wall_s",
        "baseline_wall_s",
        "met_overhead",
        "met_wall",
    ):
        console.print(f"{key}: {result[key]}", highlight=False)
    if result["sales_qa"] is not None:
        console.print({"sales-qa": result["sales_qa"]}, highlight=False)


@app.command("answers")
@edge
def answers(
    rows: int = typer.Option(
        1_000_000, min=1, help="Orders in the benchmark database (shared with bench dashboard)."
    ),
    database_url: str | None = typer.Option(
        None,
        help="PostgreSQL URL to run on (schema bench_dashboard_<rows>). Default: SQLite under var/bench/.",
    ),
    repeat: int = typer.Option(7, min=1, help="Timed runs of each question."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A question in words to the answer's card (reading + queries): p50 and p95 over typical questions."""
    from chatdash.bench import answers as bench

    settings = get_settings()
    url = settings.model_validate({"database_url": database_url}).database_url if database_url else None
    result = bench.run(rows, url, settings.var_dir, repeat)
    if as_json:
        print(json.dumps(result, default=str))
        return
    table = Table(title=f"bench answers, {result['rows']:,} rows, {result['backend']}")
    table.add_column("question")
    table.add_column("median ms", justify="right")
    table.add_column("card")
    for q in result["per_question"]:
        table.add_row(q["question"], f"{q['median_ms']:.1f}", q["card"])
    console.print(table)
    console.print(
        f"p50 {result['median_ms']} ms, p95 {result['p95_ms']} ms (rollup questions p95 "
        f"{result['rollup_p95_ms']} ms; questions reading order rows p95 {result['order_rows_p95_ms']} ms)"
    )
