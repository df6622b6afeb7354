"""Stop, through the API, at 50 random moments of replies the real bundled model is streaming from a real
``chatdash serve``: each ends ``stopped`` with the text streamed so far (it used to be lost now and then,
and the reply ran on to ``complete``). The stop latencies are printed (run with ``-s``)."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.faults.servers import Stream, chatdash_serve

ESSAY = "Write a very long essay about lamps, at least 1000 words."


def test_fifty_stops_at_random_moments(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDASH_")}
    env |= {
        "CHATDASH_VAR_DIR": str(tmp_path / "var"),
        "CHATDASH_API_RATE_LIMIT": "1000/second",
        "CHATDASH_SESSION_SECRET": "stop-" + "s" * 40,
    }
    app = chatdash_serve(env, tmp_path / "app.log")
    app.start(seconds=120)
    chatdash = str(Path(sys.executable).with_name("chatdash"))
    account = [chatdash, "users", "create", "alice", "--password-stdin"]
    subprocess.run(account, env=env, input=b"long enough password\n", capture_output=True, check=True)
    command = [chatdash, "keys", "create", "stop", "--user", "alice"]
    made = subprocess.run(command, env=env, capture_output=True)
    key = made.stdout.decode().split()[-1]
    pick = random.Random(5)
    outcomes: list[tuple[str, int]] = []
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            for _ in range(50):
                stream = Stream(client, ESSAY).start()
                chat_id, message_id = stream.ids(60)
                time.sleep(pick.uniform(0, 1.5))
                path = f"/chats/{chat_id}/messages/{message_id}"
                asked = time.monotonic()
                stop = client.post(path + "/stop")
                latencies.append(time.monotonic() - asked)
                assert stop.status_code == 200, stop.text
                stream.join(30)
                stored = client.get(path).json()
                assert stored["content"] == stream.text_streamed()  # the text kept is what was streamed
                outcomes.append((stored["status"], len(stored["content"].split())))
    finally:
        app.stop()
    assert all(status == "stopped" for status, _ in outcomes), outcomes
    print(
        f"\n50 stops: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; words kept {min(w for _, w in outcomes)}"
        f"..{max(w for _, w in outcomes)}"
    )
