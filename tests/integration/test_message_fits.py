"""A message too long for the model is refused when it is sent, in the user's terms, and nothing is
stored; the longest message that passes is answered. Real bundled model, real pipeline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatdash.chat import ChatService
from chatdash.config import load_settings
from chatdash.errors import InvalidInput
from tests.conftest import Database

SENTENCE = "The lamp glows warmly in the quiet evening room."


def test_too_long_for_the_model_is_refused_and_the_longest_that_fits_is_answered(tmp_path: Path) -> None:
    """On SQLite only: the database plays no part, and the longest prompt takes the model a while."""
    database = Database("sqlite", tmp_path)
    settings = load_settings(var_dir=tmp_path, chat_max_tokens=32)
    chat = ChatService(database.engine, settings)
    user = chat.sign_up("alice", "correct horse")

    def fits(words: int) -> bool:
        try:
            chat.responder.check_fits(" ".join([SENTENCE] * (words // 9)))
            return True
        except InvalidInput:
            return False

    with pytest.raises(InvalidInput, match=r"too long for the model: about [\d,]+ words at most"):
        asyncio.run(chat.send(user.id, None, " ".join([SENTENCE] * 300)))
    assert chat.chats(user.id)[1] == 0  # nothing stored: no chat, no message, no reply to retry

    low, high = 9, 9 * 300  # fits, does not
    while high - low > 9:
        middle = (low + high) // 18 * 9
        low, high = (middle, high) if fits(middle) else (low, middle)

    async def longest() -> tuple[str, str | None]:
        _, gen = await chat.send(user.id, None, " ".join([SENTENCE] * (low // 9)))
        await asyncio.wait_for(gen.wait(), 120)
        return gen.status, str(gen.error) if gen.error else None

    assert asyncio.run(longest()) == ("complete", None)
