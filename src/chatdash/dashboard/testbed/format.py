"""The test bed's figures as the page shows them: scores to three decimals (as `chatdash eval report`
prints them), shares to a tenth of a percent, each half up; variants and run labels. Pure Python."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from chatdash.dashboard.quality.format import DASH, count, utc

__all__ = ["DASH", "count", "plural", "run_label", "score", "share", "signed", "snippet", "utc", "variant"]

_SNIPPET = 80


def _rounded(value: float, places: str) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(places), ROUND_HALF_UP)


def score(value: float | None) -> str:
    """``0.8125 -> '0.813'``; None (nothing scored) -> an em dash."""
    return DASH if value is None else str(_rounded(value, "0.001"))


def signed(value: float) -> str:
    """A difference of scores with its sign: ``0.05 -> '+0.050'``."""
    return f"{_rounded(value, '0.001'):+}"


def share(value: float | None) -> str:
    """``0.875 -> '87.5%'``; None -> an em dash."""
    return DASH if value is None else f"{_rounded(value * 100, '0.1')}%"


def variant(values: Mapping[str, str]) -> str:
    """``{'temperature': '0.7'} -> 'temperature=0.7'``; none -> 'as written' (the scenario's own)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "as written"


def run_label(run_id: str, scenario: str, started: str, values: Mapping[str, str], mean: float | None) -> str:
    """How a run is named in a choice box: when, scenario, variant, mean, and its id's first digits."""
    return f"{started} · {scenario} · {variant(values)} · mean {score(mean)} · {run_id[:8]}"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``(1, 'run') -> '1 run'``, ``(3, 'run') -> '3 runs'``; ``nouns`` for an irregular plural."""
    return f"{count(n)} {noun if n == 1 else nouns or noun + 's'}"


def snippet(text: str, limit: int = _SNIPPET) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
