"""Traces, spans and feedback for the AI-quality tests, and the independent side of their figures.

``seed`` writes a deterministic mix with the ORM (users, chats, replies, traces with their spans,
feedback) and returns the same rows as plain Python values; ``pick``, ``nearest_rank`` and
``expected`` compute every figure from those values alone, never through ``chatdash.tracing``.
The mix has what the definitions turn on: errors and stopped replies, traces without a time to first
token, tokens or a prompt, every kind of figure check, replies rated by two users, a reply that two
traces name, traces without a reply or a user, and traces at the first and last microsecond of a
UTC day.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from chatdash.dashboard.quality.format import count, ms, rate, score
from chatdash.db.engine import session_factory
from chatdash.db.models import Chat, ChatMessage, Feedback, Span, Trace, User

FIRST_DAY = dt.date(2025, 3, 1)
DAYS = 6
USERS = ("alice", "bob", "carol")
"""alice is the first account, so an admin; bob and carol are not."""
PROMPTS: list[tuple[str, int] | None] = [("chat-system", 1), ("chat-system", 2), ("sales-fallback", 1), None]
MODELS = ("smollm2-135m", "qwen2.5-0.5b")
PIPELINES = ("chat", "sales", "eval-chat")
FIGURE_CHECKS = (
    None,
    "shown",
    "shown",
    "empty",
    "the figure 42 is not in the answer",
    "unchecked number 3.5",
)
SCORES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Exact in binary, so every backend's sum is the same number."""


@dataclass
class Seeded:
    traces: list[dict[str, Any]] = field(default_factory=list)
    """Each trace's columns, ``user`` (username or None) and ``prompt`` (``name@version`` or None)."""
    feedback: list[dict[str, Any]] = field(default_factory=list)
    """``message_id`` and ``score`` of each feedback row."""
    spans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """trace id -> its spans' columns, in run order."""


def seed(engine: Engine, count: int = 160, rng_seed: int = 11) -> Seeded:
    rng = random.Random(rng_seed)
    seeded = Seeded()
    with session_factory(engine).begin() as session:
        people = [User(username=name, is_admin=name == "alice") for name in USERS]
        session.add_all(people)
        session.flush()
        chats = [Chat(id=f"{i:032x}", user_id=user.id, title="t") for i, user in enumerate(people)]
        session.add_all(chats)
        session.flush()
        messages: list[ChatMessage] = []
        last_message: tuple[int, int | None] | None = None  # (user index, message id)
        for i in range(count):
            started = _moment(i, rng)
            who = rng.randrange(len(USERS) + 1)  # len(USERS): no user (a test-bed run)
            prompt = rng.choice(PROMPTS)
            model = rng.choice(MODELS) if prompt is not None or rng.random() < 0.3 else None
            message_id: int | None = None
            if who < len(USERS):
                if last_message and last_message[0] == who and rng.random() < 0.15:
                    message_id = last_message[1]  # a reply two traces name (a retried run)
                elif rng.random() < 0.85:
                    message = ChatMessage(
                        chat_id=chats[who].id,
                        position=len(messages),
                        role="assistant",
                        content=f"reply {i}",
                        status="complete",
                    )
                    session.add(message)
                    session.flush()
                    messages.append(message)
                    message_id = message.id
                last_message = (who, message_id)
            latency = round(rng.uniform(40, 6000), 1) if i % 17 else 1000.0  # some equal values
            status = rng.choices(("complete", "stopped", "error"), (0.75, 0.1, 0.15))[0]
            row: dict[str, Any] = {
                "id": f"{i + 1:032x}",
                "user_id": people[who].id if who < len(USERS) else None,
                "chat_id": chats[who].id if who < len(USERS) else None,
                "message_id": message_id,
                "source": "eval" if who == len(USERS) else rng.choice(("web", "api", "v1")),
                "pipeline": rng.choice(PIPELINES),
                "input": f"question {i}: what was revenue in {2010 + i % 14}?",
                "output": "" if status == "error" else f"Revenue was {i * 3}.",
                "status": status,
                "error": "the model server did not answer" if status == "error" else None,
                "started_at": started,
                "ended_at": started + dt.timedelta(milliseconds=latency),
                "latency_ms": latency,
                "ttft_ms": round(rng.uniform(5, latency), 1) if rng.random() < 0.7 else None,
                "model": model,
                "prompt_name": prompt[0] if prompt else None,
                "prompt_version": prompt[1] if prompt else None,
                "prompt_tokens": rng.randrange(20, 900) if rng.random() < 0.8 else None,
                "completion_tokens": rng.randrange(1, 300) if rng.random() < 0.8 else None,
                "figure_check": rng.choice(FIGURE_CHECKS),
            }
            session.add(Trace(**row))
            seeded.spans[row["id"]] = _spans(row, rng)
            seeded.traces.append(
                row
                | {
                    "user": USERS[who] if who < len(USERS) else None,
                    "prompt": f"{prompt[0]}@{prompt[1]}" if prompt else None,
                }
            )
        session.flush()  # the traces before their spans (no ORM relationship orders them)
        session.add_all(Span(**span) for spans in seeded.spans.values() for span in spans)
        for message in messages:
            owner = next(i for i, chat in enumerate(chats) if chat.id == message.chat_id)
            raters = [owner] if rng.random() < 0.6 else []
            if rng.random() < 0.25:
                raters.append((owner + 1) % len(USERS))
            for rater in raters:
                score = rng.choice(SCORES)
                session.add(
                    Feedback(
                        message_id=message.id,
                        user_id=people[rater].id,
                        kind="scale",
                        rating=None,
                        score=score,
                    )
                )
                seeded.feedback.append({"message_id": message.id, "score": score})
    return seeded


def _moment(i: int, rng: random.Random) -> dt.datetime:
    """Spread over DAYS days; every 23rd trace on the first microsecond of a day, every 29th on the
    last one (the UTC day edges)."""
    day = FIRST_DAY + dt.timedelta(days=i % DAYS)
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
    if i % 23 == 0:
        return midnight
    if i % 29 == 0:
        return midnight + dt.timedelta(days=1, microseconds=-1)
    return midnight + dt.timedelta(seconds=rng.randrange(86_400), microseconds=i)


def _spans(trace: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """A root span and two steps (the second an LLM call with the trace's model and prompt)."""
    root_id = trace["id"][-12:] + "0000"
    base = {"trace_id": trace["id"], "started_at": trace["started_at"]}
    failed = trace["status"] == "error"
    return [
        base
        | {
            "id": root_id,
            "parent_id": None,
            "position": 0,
            "name": trace["pipeline"],
            "kind": "pipeline",
            "status": "error" if failed else "ok",
            "error": trace["error"],
            "latency_ms": trace["latency_ms"],
            "input": json.dumps({"message": trace["input"]}),
            "output": json.dumps(trace["output"]),
            "attributes": json.dumps({"source": trace["source"]}),
        },
        base
        | {
            "id": trace["id"][-12:] + "0001",
            "parent_id": root_id,
            "position": 1,
            "name": "recall",
            "kind": "retrieve",
            "status": "ok",
            "latency_ms": round(rng.uniform(1, 30), 1),
            "input": json.dumps({"query": trace["input"]}),
            "output": json.dumps([{"text": "Revenue is counted in cents.", "score": 0.8}]),
            "attributes": json.dumps({"k": 3}),
        },
        base
        | {
            "id": trace["id"][-12:] + "0002",
            "parent_id": root_id,
            "position": 2,
            "name": "reply",
            "kind": "llm",
            "status": "error" if failed else "ok",
            "error": trace["error"],
            "latency_ms": trace["latency_ms"] - 1,
            "ttft_ms": trace["ttft_ms"],
            "model": trace["model"],
            "prompt_name": trace["prompt_name"],
            "prompt_version": trace["prompt_version"],
            "prompt_tokens": trace["prompt_tokens"],
            "completion_tokens": trace["completion_tokens"],
            "input": json.dumps([{"role": "user", "content": trace["input"]}]),
            "output": "not JSON: plain text",
            "attributes": json.dumps({"temperature": 0.2}),
        },
    ]


# -- the independent side ----------------------------------------------------------------------


def pick(
    traces: list[dict[str, Any]],
    start: dt.date | None = None,
    end: dt.date | None = None,
    prompts: tuple[str, ...] = (),
    models: tuple[str, ...] = (),
    pipelines: tuple[str, ...] = (),
    users: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The traces a filter keeps: whole UTC days, both ends included; an empty tuple keeps all."""
    kept = []
    for t in traces:
        day = t["started_at"].astimezone(dt.UTC).date()
        if (start and day < start) or (end and day > end):
            continue
        if (prompts and t["prompt"] not in prompts) or (models and t["model"] not in models):
            continue
        if (pipelines and t["pipeline"] not in pipelines) or (users and t["user"] not in users):
            continue
        kept.append(t)
    return kept


def nearest_rank(values: list[float], p: int) -> float | None:
    """The smallest value with at least p% of the values at or below it (the nearest-rank percentile,
    from its definition rather than the index formula the query uses)."""
    if not values:
        return None
    return min(v for v in values if sum(x <= v for x in values) * 100 >= p * len(values))


def expected(traces: list[dict[str, Any]], feedback: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure of ``chatdash.tracing.quality.QualityMetrics`` over ``traces``."""
    replies = {t["message_id"] for t in traces if t["message_id"] is not None}
    scores = [f["score"] for f in feedback if f["message_id"] in replies]
    checked = [t for t in traces if t["figure_check"] not in (None, "empty")]
    latencies = [t["latency_ms"] for t in traces]
    ttfts = [t["ttft_ms"] for t in traces if t["ttft_ms"] is not None]
    return {
        "requests": len(traces),
        "errors": sum(t["status"] == "error" for t in traces),
        "latency_p50_ms": nearest_rank(latencies, 50),
        "latency_p95_ms": nearest_rank(latencies, 95),
        "ttft_p50_ms": nearest_rank(ttfts, 50),
        "ttft_p95_ms": nearest_rank(ttfts, 95),
        "prompt_tokens": sum(t["prompt_tokens"] or 0 for t in traces),
        "completion_tokens": sum(t["completion_tokens"] or 0 for t in traces),
        "scores": len(scores),
        "score_sum": sum(scores),
        "checked": len(checked),
        "failed": sum(t["figure_check"] != "shown" for t in checked),
    }


def as_figures(metrics: Any) -> dict[str, Any]:
    """A ``QualityMetrics`` as the dict ``expected`` returns."""
    names = expected([], []).keys()
    return {name: getattr(metrics, name) for name in names}


def shown(figures: dict[str, Any]) -> list[str]:
    """The ten metric values the page must show for ``expected``'s figures, in the page's order (two
    rows of five: requests, error rate, mean score, figure check failed, prompt tokens; latency p50
    and p95, time to first token p50 and p95, completion tokens)."""
    mean = figures["score_sum"] / figures["scores"] if figures["scores"] else None
    return [
        count(figures["requests"]),
        rate(figures["errors"], figures["requests"]),
        score(mean),
        rate(figures["failed"], figures["checked"]),
        count(figures["prompt_tokens"]),
        ms(figures["latency_p50_ms"]),
        ms(figures["latency_p95_ms"]),
        ms(figures["ttft_p50_ms"]),
        ms(figures["ttft_p95_ms"]),
        count(figures["completion_tokens"]),
    ]
