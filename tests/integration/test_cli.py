"""The `chatdash` command as a newcomer uses it, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import get_settings
from tests.conftest import cli, pg_url

runner = CliRunner()


run = cli


def test_init_generate_load_stats(cli_env: Path) -> None:
    out = run("init", "--rows", "0")
    assert "0 orders in sales_data" in out
    assert (cli_env / "var" / "chatdash.db").is_file()

    out = run("init", "--rows", "2000", "--seed", "3")
    assert "replace: 2,000 rows" in out
    assert "2,000 orders in sales_data" in run("init")  # a second init keeps the data

    # Generated ids 1..1500 collide with the 2,000 rows already there: refused, nothing loaded.
    run("data", "generate", "--rows", "1500", "--seed", "4", "--out", "a.csv")
    result = runner.invoke(app, ["data", "load", "a.csv"])
    assert result.exit_code == 1
    assert "line 2: order_id 1 is already in sales_data" in " ".join(result.output.split())
    assert "--replace" in result.output
    assert "2,000" in run("data", "stats")
    assert "replace: 1,500 rows" in run("data", "load", "a.csv", "--replace")


def test_generate_twice_gives_identical_files(cli_env: Path) -> None:
    for name in ("one", "two"):
        run("data", "generate", "--rows", "3000", "--seed", "42", "--out", f"{name}.csv")
        run("data", "generate", "--rows", "3000", "--seed", "42", "--out", f"{name}.parquet")
    assert (cli_env / "one.csv").read_bytes() == (cli_env / "two.csv").read_bytes()
    assert (cli_env / "one.parquet").read_bytes() == (cli_env / "two.parquet").read_bytes()
    header = (cli_env / "one.csv").read_text().splitlines()[0]
    assert (
        header == "order_id,order_date,customer_id,customer_name,product_id,product_names,categories,"
        "quantity,price,total"
    )


def test_load_replace_append_and_a_bad_file(cli_env: Path) -> None:
    run("data", "generate", "--rows", "1000", "--out", "base.parquet")
    assert "replace: 1,000 rows" in run("data", "load", "base.parquet", "--replace")
    out = run("data", "generate", "--rows", "500", "--append")
    assert "append: 500 rows" in out
    stats = run("data", "stats")
    assert "1,500" in stats and "in step" in stats

    bad = cli_env / "bad.csv"
    run("data", "generate", "--rows", "20", "--seed", "9", "--out", "bad.csv")
    lines = bad.read_text().splitlines()
    lines[7] = lines[7].replace(lines[7].split(",")[8], "twelve", 1)
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["data", "load", "bad.csv", "--replace"])
    assert result.exit_code == 1
    assert "line 8: price is not a number" in result.output
    assert "Traceback" not in result.output
    assert "1,500" in run("data", "stats")  # nothing of the bad file, and nothing replaced


def test_errors_are_messages_not_tracebacks(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATDASH_DATABASE_URL", "mysql://nobody@nowhere/db")
    result = runner.invoke(app, ["data", "stats"])
    assert result.exit_code == 1
    assert "CHATDASH_DATABASE_URL" in result.output and "Traceback" not in result.output
    get_settings.cache_clear()
    monkeypatch.setenv("CHATDASH_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = runner.invoke(app, ["data", "stats"])
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output
    get_settings.cache_clear()
    monkeypatch.delenv("CHATDASH_DATABASE_URL")
    result = runner.invoke(app, ["data", "stats"])
    assert result.exit_code == 1
    assert "run `chatdash init`" in result.output


def test_key_metrics_agree_across_databases(cli_env: Path) -> None:
    url = pg_url()
    if url is None:
        pytest.skip("CHATDASH_TEST_DATABASE_URL is not set: needs PostgreSQL to compare with SQLite")
    from chatdash import sales
    from chatdash.db.engine import drop_schema, ensure_schema, make_engine
    from chatdash.db.migrate import upgrade
    from chatdash.sales.files import read_file

    run("data", "generate", "--rows", "100000", "--seed", "42", "--out", "sales.parquet")
    results = []
    ensure_schema(url, "t_cli_compare")
    try:
        for engine in (
            make_engine(f"sqlite:///{cli_env / 'compare.db'}"),
            make_engine(url, schema="t_cli_compare"),
        ):
            upgrade(engine)
            from chatdash.sales.loader import load_frames

            load_frames(engine, read_file(cli_env / "sales.parquet"), replace=True)
            results.append((sales.key_metrics(engine), sales.revenue_by_category(engine)))
            engine.dispose()
    finally:
        drop_schema(url, "t_cli_compare")
    assert results[0] == results[1]
    assert results[0][0].orders == 100_000


def test_bench_commands_print_one_json_object(cli_env: Path) -> None:
    data = json.loads(
        run("bench", "dashboard", "--rows", "3000", "--repeat", "2", "--baseline-repeat", "1", "--json")
    )
    for key in ("name", "rows", "backend", "median_ms", "baseline_median_ms", "speedup"):
        assert key in data
    assert (data["name"], data["rows"], data["backend"], data["same_figures"]) == (
        "dashboard",
        3000,
        "sqlite",
        True,
    )
    assert data["median_ms"] > 0 and data["baseline_median_ms"] > 0
    data = json.loads(run("bench", "generate", "--rows", "5000", "--repeat", "2", "--json"))
    assert (data["name"], data["rows"]) == ("generate", 5000)
    assert data["speedup"] == round(data["baseline_median_ms"] / data["median_ms"], 1)
    data = json.loads(run("bench", "answers", "--rows", "3000", "--repeat", "1", "--json"))
    assert (data["name"], data["rows"], data["backend"]) == ("answers", 3000, "sqlite")
    assert data["p95_ms"] >= data["median_ms"] > 0 and len(data["per_question"]) == data["questions"] >= 20
    cards = {q["question"]: q["card"] for q in data["per_question"]}
    assert cards["What was the total revenue in 2019?"].startswith("Revenue in 2019: ")
    assert "toys" in cards["How much did we sell of Toys in 2019?"]
