"""schemathesis hooks for ``test_api_fuzz`` (loaded by ``st run`` through ``SCHEMATHESIS_HOOKS``).

One rule of the chat routes is beyond what JSON Schema can say: the *last* message is the question, so
it is the user's and has some text (their schemas say so in words). A generated body whose last message
breaks that gets the user's role and a question instead, so that schema-valid requests are valid ones;
the check that a valid request is accepted (``positive_data_acceptance``) stays on, and so does every
other. Invalid bodies stay invalid: only values the schema allows are swapped for others it allows.

The upload of `POST /documents` gets readable content the same way.

These are case hooks (``map_case``, not ``map_body``): the coverage phase applies only those.
"""

from __future__ import annotations

from typing import Any

import schemathesis

QUESTION = "What was the revenue in 2015?"


def last_message(case: schemathesis.Case) -> dict[str, Any] | None:
    messages = case.body.get("messages") if isinstance(case.body, dict) else None
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict):
        return None
    messages[-1] = last = dict(last)  # a copy: generated values may be shared between cases
    return last


def text_part(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)


@schemathesis.hook.apply_to(path="/api/chat", method="POST")
def map_case(_context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    last = last_message(case)
    if last is not None and last.get("role") == "assistant":
        last["role"] = "user"
    return case


@schemathesis.hook("map_case").apply_to(path="/v1/chat/completions", method="POST")
def question_last(_context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """OpenAI's shape: any role, and text that may be null, a string or a list of text parts."""
    last = last_message(case)
    if last is None:
        return case
    if last.get("role") in ("system", "developer", "assistant"):
        last["role"] = "user"
    content = last.get("content")
    parts = content if isinstance(content, list) and all(map(text_part, content)) else None
    if content is None or (isinstance(content, str) and not content.strip()):
        last["content"] = QUESTION
    elif parts is not None and not "".join(part["text"] for part in parts).strip():
        last["content"] = [*parts, {"type": "text", "text": QUESTION}]
    return case


DOCUMENT = "# Returns\n\nLamps may be returned within 45 days.\n"
"""A string, not bytes: the case is checked against its schema again after the hook, and JSON Schema's
``string`` (what ``format: binary`` is) takes no bytes."""


@schemathesis.hook("map_case").apply_to(path="/documents", method="POST")
def a_readable_file(_context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A file's content must be UTF-8 text or a PDF with text, beyond what a schema says of bytes: in a
    schema-valid case the generated file (any bytes) becomes a short Markdown document; invalid cases
    stay as generated."""
    positive = case.meta is None or case.meta.generation.mode.name == "POSITIVE"
    if positive and isinstance(case.body, dict) and isinstance(case.body.get("file"), bytes | str):
        case.body = {**case.body, "file": DOCUMENT}
    return case


@schemathesis.hook("filter_case").apply_to(path="/documents", method="POST")
def deliverable_file(_context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """A multipart part is text whatever the schema says: a "boolean" or "number" file arrives as the
    file ``true`` or ``1``, valid content, so a case that breaks the schema only that way cannot be told
    from a valid one by any server. Those cases are left out; every other invalid one stays."""
    file = case.body.get("file") if isinstance(case.body, dict) else None
    return file is None or isinstance(file, bytes | str)
