"""The API's text rules as its OpenAPI document spells them agree with what the service takes."""

from __future__ import annotations

import re
import sys

from chatdash.chat.api.schemas import NO_NUL, NOT_BLANK, SPACE
from chatdash.chat.http_errors import DESCRIPTIONS, STATUS

EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))


def test_the_schema_names_exactly_what_strip_removes() -> None:
    spelled = set(re.findall(f"[{SPACE}]", EVERY_CHARACTER))
    assert spelled == {c for c in EVERY_CHARACTER if c.isspace()}


def test_not_blank_is_what_the_service_keeps() -> None:
    for text in ("a", " a ", "\u3000x\n", "\u200b", "é"):
        assert re.match(NOT_BLANK, text) and text.strip(), repr(text)
    for text in ("", " ", "\t\n\x1c\u2029", "a\x00b", "\x00"):
        assert not re.match(NOT_BLANK, text), repr(text)
    assert re.match(NO_NUL, "") and not re.match(NO_NUL, "\x00")


def test_every_status_an_error_maps_to_is_described() -> None:
    assert {status for _, status in STATUS} <= set(DESCRIPTIONS)
