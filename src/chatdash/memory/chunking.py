"""Splitting Markdown and plain-text documents into chunks worth retrieving on their own.

A chunk is a run of whole paragraphs from one section, up to ``max_chars``: a retrieved passage then
reads as written, and its section heading (kept with it and embedded with it) says what it is about.
Fenced code blocks are never cut; a paragraph longer than a chunk is cut at sentence ends, and only a
single overlong sentence is cut mid-way. Every chunk keeps its position and first line, so an answer
can cite ``handbook.md:42``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 1200
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    position: int
    """0-based order of the chunk in its document."""
    start_line: int
    """1-based line where the chunk starts."""
    heading: str = ""
    """The section path, e.g. ``Handbook > Returns``; empty before the first heading."""

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the heading gives a short passage its topic."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass(frozen=True, slots=True)
class _Block:
    text: str
    line: int
    heading: str


def split_document(text: str, *, markdown: bool = True, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """The chunks of one document, in order. Empty documents give no chunks."""
    chunks: list[Chunk] = []
    pending: list[_Block] = []

    def flush() -> None:
        if pending:
            body = "\n\n".join(block.text for block in pending)
            chunks.append(Chunk(body, len(chunks), pending[0].line, pending[0].heading))
            pending.clear()

    for block in _blocks(text, markdown):
        for piece in _fit(block.text, max_chars):
            size = sum(len(b.text) + 2 for b in pending) + len(piece)
            if pending and (block.heading != pending[0].heading or size > max_chars):
                flush()
            pending.append(_Block(piece, block.line, block.heading))
    flush()
    return chunks


def _blocks(text: str, markdown: bool) -> list[_Block]:
    """Paragraphs (and whole fenced code blocks) with their first line and section path."""
    blocks: list[_Block] = []
    headings: list[str] = []
    lines: list[str] = []
    start = 0
    fenced = False

    def close() -> None:
        body = "\n".join(lines).strip()
        if body:
            blocks.append(_Block(body, start, " > ".join(headings)))
        lines.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if markdown and _FENCE.match(line):
            if not fenced:
                close()
                start = number
            fenced = not fenced
            lines.append(line)
            if not fenced:
                close()
            continue
        heading = _HEADING.match(line) if markdown and not fenced else None
        if heading:
            close()
            level = len(heading.group(1))
            headings[level - 1 :] = [heading.group(2)]
            continue
        if not line.strip() and not fenced:
            close()
            continue
        if not lines:
            start = number
        lines.append(line)
    close()
    return blocks


def _fit(text: str, max_chars: int) -> list[str]:
    """``text`` in pieces of at most ``max_chars``, cut at sentence ends where possible."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > max_chars:  # one sentence longer than a chunk: cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces
