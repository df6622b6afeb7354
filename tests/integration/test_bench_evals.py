"""`chatdash bench evals` with tiny counts: the result's shape and its figures' consistency, and the
RESULTS.md section; no timing assertions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from typer.testing import CliRunner

from chatdash.bench import evals as bench
from chatdash.cli import app
from chatdash.config import load_settings

RUN_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def test_bench_evals_shape_and_consistency(tmp_path: Path) -> None:
    result = bench.run(load_settings(var_dir=tmp_path), executions=12, concurrency=3, cases=4, rounds=2)
    json.dumps(result)  # what --json prints
    assert (result["name"], result["executions"], result["cases"], result["rounds"]) == ("evals", 12, 4, 2)
    assert len(result["runs_ms"]) == len(result["baseline_runs_ms"]) == 2
    assert result["median_ms"] > 0 and result["baseline_median_ms"] > 0 and result["untraced_median_ms"] > 0
    assert result["speedup"] == round(result["baseline_median_ms"] / result["median_ms"], 4)
    assert result["added_ms"] == round(result["median_ms"] - result["baseline_median_ms"], 3)
    assert result["wall_s"] > 0 and result["baseline_wall_s"] > 0 and result["provider_ms"] > 0
    assert 0 < result["latency_median_ms"] <= result["latency_p95_ms"]
    assert isinstance(result["met_overhead"], bool) and isinstance(result["met_wall"], bool)
    assert result["sales_qa"] is None
    assert {"cpu", "cores", "python"} <= result["machine"].keys()

    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    section = runner.report([{**result, "measured_at": "2024-01-01T00:00:00"}])
    assert "## Test bed runner (`chatdash bench evals`)" in section
    assert f"| runner, tracing on | {result['median_ms']} |" in section


def test_the_cli_prints_one_json_object(cli_env: Path) -> None:
    ran = CliRunner().invoke(
        app, ["bench", "evals", "--executions", "6", "--cases", "3", "--rounds", "1", "--json"]
    )
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.output.strip().splitlines()[-1])
    assert result["name"] == "evals" and result["executions"] == 6 and "baseline_median_ms" in result
