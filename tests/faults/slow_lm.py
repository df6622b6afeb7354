"""A slow OpenAI-compatible chat server: a stand-in model whose replies take as long as a fault test needs.

Every chat completion streams ``--words`` words, one each ``--delay`` seconds; the fault tests kill
things while it does. Run as ``python -m tests.faults.slow_lm --port P``. The model paths themselves are
tested against the real bundled model elsewhere; this one only makes the timing of a reply certain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def create(words: int, delay: float) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "slow", "object": "model"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def complete(request: Request) -> StreamingResponse | JSONResponse:
        body = await request.json()
        if not body.get("stream"):
            text = " ".join(f"w{i}" for i in range(min(words, 8)))
            return JSONResponse(_completion(text))
        return StreamingResponse(_chunks(words, delay), media_type="text/event-stream")

    return app


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "slow",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "slow",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
    }


async def _chunks(words: int, delay: float) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {
            "id": "slow",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "slow",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for i in range(words):
        await asyncio.sleep(delay)
        yield chunk({"content": f"w{i} "})
    yield chunk({}, "stop")
    usage = {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
    last = {"id": "slow", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    yield f"data: {json.dumps(last)}\n\n"
    yield "data: [DONE]\n\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    uvicorn.run(create(args.words, args.delay), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
