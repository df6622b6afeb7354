"""`chatdash bench chat` end to end with the scripted provider and tiny counts: shape and consistency,
no timing assertions."""

from __future__ import annotations

import json

from chatdash.bench import chat as bench
from chatdash.config import load_settings


def test_bench_chat_scripted_shape_and_consistency() -> None:
    result = bench.run(
        load_settings(),
        repeat=5,
        warmup=1,
        providers=("scripted",),
        list_requests=40,
        clients=5,
        chats=3,
    )
    json.dumps(result)  # what --json prints
    assert result["name"] == "chat"
    level, untraced = result["levels"]
    assert (level["provider"], level["tracing"], untraced["tracing"]) == ("scripted", True, False)
    assert level["requests"] == 5 and len(level["added_ms"]) == 5
    assert result["median_ms"] == level["median_ms"] > 0
    assert result["baseline_median_ms"] == level["baseline_median_ms"] > 0
    # Through the API the first token comes after the provider's own first token.
    assert level["ttft_median_ms"] > level["baseline_median_ms"]
    assert level["added_max_ms"] >= level["median_ms"]
    assert result["speedup"] == round(result["baseline_median_ms"] / result["median_ms"], 4)
    listing = result["list_chats"]
    assert listing["requests"] == 40 and listing["clients"] == 5 and listing["chats"] == 3
    assert listing["errors"] == 0, listing["first_error"]
    assert listing["rps"] > 0
    assert 0 < listing["p50_ms"] <= listing["p95_ms"]
    assert listing["healthz_rps"] > 0
    tracing = result["tracing"]
    assert tracing["ttft_cost_ms"] == round(level["median_ms"] - untraced["median_ms"], 3)
    assert tracing["list_rps_on"] == listing["rps"] and tracing["list_rps_off"] > 0
    assert {"cpu", "cores", "python"} <= result["machine"].keys()
