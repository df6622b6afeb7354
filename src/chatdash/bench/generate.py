"""`chatdash bench generate`: the vectorised generator against a row-by-row Python one built like
the published generator (a Python loop drawing each field, dates via timedelta)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from chatdash.bench.timing import machine, median, peak_rss_mib, time_runs
from chatdash.sales.generator import (
    CATEGORY_OF,
    CUSTOMER_IDS,
    CUSTOMER_NAME_NUMBERS,
    FIRST_DAY,
    FIRST_PRODUCT_ID,
    LAST_DAY,
    PRICE_CENTS,
    PRODUCTS,
    QUANTITY,
    generate,
)


def row_by_row(rows: int, seed: int = 42) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    span = (LAST_DAY - FIRST_DAY).days
    out = []
    for order_id in range(1, rows + 1):
        index = rng.randrange(len(PRODUCTS))
        product = PRODUCTS[index]
        quantity = rng.randint(*QUANTITY)
        price = round(rng.randint(*PRICE_CENTS) / 100, 2)
        out.append(
            (
                order_id,
                FIRST_DAY + dt.timedelta(days=rng.randint(0, span)),
                rng.randint(*CUSTOMER_IDS),
                f"Customer_{rng.randint(*CUSTOMER_NAME_NUMBERS)}",
                FIRST_PRODUCT_ID + index,
                product,
                CATEGORY_OF[product],
                quantity,
                price,
                round(price * quantity, 2),
            )
        )
    return out


def ours(rows: int) -> int:
    return sum(frame.height for frame in generate(rows, 42))


def run(rows: int, repeat: int, baseline_repeat: int) -> dict[str, Any]:
    our_runs = time_runs(lambda: ours(rows), repeat)
    base_runs = time_runs(lambda: row_by_row(rows), baseline_repeat, warmup=0)
    return {
        "name": "generate",
        "rows": rows,
        "backend": "memory",
        "median_ms": median(our_runs),
        "baseline_median_ms": median(base_runs),
        "speedup": round(median(base_runs) / median(our_runs), 1),
        "runs_ms": [round(r, 1) for r in our_runs],
        "baseline_runs_ms": [round(r, 1) for r in base_runs],
        "rows_per_second": round(rows / (median(our_runs) / 1000)),
        "peak_rss_mib": peak_rss_mib(),
        "machine": machine(),
    }
