"""Knowledge-base documents: Markdown, text and PDF files, chunked, embedded and searchable.

A document is identified by its source (the file's absolute path) and owner. Adding it again replaces
its chunks without a gap: the new chunks overwrite the old ones position by position, then whatever is
left of the previous version is deleted, so a search running meanwhile sees one version or the other,
never neither. An unchanged file (same content hash) is not embedded again.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from qdrant_client import models

from chatdash.errors import DocumentError
from chatdash.memory.chunking import split_document
from chatdash.memory.store import EVERYONE, VectorStore, field_is, point_id

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | PDF_SUFFIXES
KINDS = "Markdown (.md, .markdown), text (.txt) and PDF (.pdf)"


@dataclass(frozen=True, slots=True)
class Added:
    source: str
    chunks: int
    status: Literal["added", "replaced", "unchanged"]

    @property
    def id(self) -> str:
        return document_id(self.source)


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk found for a query: where it comes from (``source:start_line``) and how close it is."""

    source: str
    position: int
    start_line: int
    heading: str
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as its owner sees it in their list; ``id`` names it in URLs (its source may hold
    slashes)."""

    id: str
    source: str
    chunks: int
    added_at: float

    @property
    def name(self) -> str:
        return PurePath(self.source).name


class DocumentStore:
    """The documents collection of a ``VectorStore``. Shared documents belong to ``EVERYONE``."""

    def __init__(self, store: VectorStore, *, min_score: float = 0.3) -> None:
        self.store = store
        self.min_score = min_score

    def add_file(self, path: Path, *, owner: str = EVERYONE) -> Added:
        """Add (or replace) one Markdown, text or PDF file."""
        return self.add_bytes(str(path.resolve()), read_bytes(path), owner=owner)

    def add_bytes(self, source: str, data: bytes, *, owner: str = EVERYONE) -> Added:
        """Add (or replace) a file's content, read by the suffix of ``source`` (an upload's name)."""
        text = document_text(source, data)
        if not text.strip():
            raise DocumentError(f"{PurePath(source).name}: is empty: there is nothing in it to remember")
        return self.add_text(source, text, owner=owner, markdown=_is_markdown(PurePath(source)))

    def add_paths(
        self, paths: Sequence[Path], *, owner: str = EVERYONE
    ) -> tuple[list[tuple[Path, Added]], list[Path]]:
        """Files, and the Markdown and text files of folders (recursively), all or nothing: every file
        is read and checked before the first is stored, so one bad file stores none. A link inside a
        folder that leads out of it is skipped (returned second), never followed."""
        files, skipped = collect_documents(paths)
        texts = [(path, read_document(path)) for path in files]
        added = [
            (path, self.add_text(str(path.resolve()), text, owner=owner, markdown=_is_markdown(path)))
            for path, text in texts
        ]
        return added, skipped

    def owned(self, owner: str) -> list[StoredDocument]:
        """``owner``'s documents (not the shared ones, unless ``owner`` is ``EVERYONE``), newest first."""
        found: dict[str, list[float]] = {}
        for record in self.store.scroll("documents", owner):
            if record.payload:
                seen = found.setdefault(str(record.payload["source"]), [0, 0.0])
                seen[0] += 1
                seen[1] = max(seen[1], float(record.payload.get("added_at", 0.0)))
        documents = [StoredDocument(document_id(s), s, int(n), at) for s, (n, at) in found.items()]
        return sorted(documents, key=lambda d: (-d.added_at, d.source))

    def remove_id(self, owner: str, id_: str) -> StoredDocument | None:
        """Delete ``owner``'s document named ``id_`` in their list; None when they have none such."""
        document = next((d for d in self.owned(owner) if d.id == id_), None)
        if document is not None:
            self.remove(document.source, owner=owner)
        return document

    def add_text(self, source: str, text: str, *, owner: str = EVERYONE, markdown: bool = True) -> Added:
        """Add (or replace) the document ``source`` with ``text``."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        this_source = field_is("source", source)
        before = self.store.count("documents", owner, [this_source])
        chunks = split_document(text, markdown=markdown)
        if before and before == len(chunks):
            same = self.store.count("documents", owner, [this_source, field_is("sha256", digest)])
            if same == before:
                return Added(source, before, "unchanged")
        vectors = self.store.embed([chunk.embedding_text for chunk in chunks])
        now = time.time()
        points = [
            models.PointStruct(
                id=point_id("documents", owner, source, str(chunk.position)),
                vector=vector,
                payload={
                    "source": source,
                    "position": chunk.position,
                    "start_line": chunk.start_line,
                    "heading": chunk.heading,
                    "text": chunk.text,
                    "sha256": digest,
                    "added_at": now,
                },
            )
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        self.store.upsert("documents", owner, points)
        if before:
            stale = models.Filter(must_not=[field_is("sha256", digest)])
            self.store.delete("documents", owner, [this_source, stale])
        return Added(source, len(chunks), "replaced" if before else "added")

    def search(self, owner: str, query: str, *, k: int = 5, min_score: float | None = None) -> list[Passage]:
        """The ``k`` passages closest to ``query`` among ``owner``'s and the shared documents."""
        owners = [owner] if owner == EVERYONE else [owner, EVERYONE]
        floor = self.min_score if min_score is None else min_score
        points = self.store.search("documents", owners, query, limit=k, min_score=floor)
        return [
            Passage(
                source=str(p.payload["source"]),
                position=int(p.payload["position"]),
                start_line=int(p.payload["start_line"]),
                heading=str(p.payload["heading"]),
                text=str(p.payload["text"]),
                score=float(p.score),
            )
            for p in points
            if p.payload
        ]

    def chunks_of(self, source: str, *, owner: str = EVERYONE) -> list[Passage]:
        """The stored chunks of one document, in order (score 0)."""
        records = self.store.scroll("documents", owner, [field_is("source", source)])
        passages = [
            Passage(
                source=source,
                position=int(r.payload["position"]),
                start_line=int(r.payload["start_line"]),
                heading=str(r.payload["heading"]),
                text=str(r.payload["text"]),
                score=0.0,
            )
            for r in records
            if r.payload
        ]
        return sorted(passages, key=lambda p: p.position)

    def remove(self, source: str, *, owner: str = EVERYONE) -> None:
        """Delete a document's chunks."""
        self.store.delete("documents", owner, [field_is("source", source)])


def document_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def read_document(path: Path) -> str:
    """The text of a Markdown, text or PDF file; ``DocumentError`` saying why one cannot be added."""
    return document_text(str(path), read_bytes(path))


def read_bytes(path: Path) -> bytes:
    _check_suffix(str(path))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot be read ({exc.strerror})") from None


def document_text(name: str, data: bytes) -> str:
    """The text of file ``name`` holding ``data``: UTF-8 (a byte-order mark allowed) for Markdown and
    text, the text layer of each page for PDF. A name without a suffix (as some upload tools send) is
    read by its content: a PDF by its header, else as text."""
    suffix = PurePath(name).suffix.lower()
    if suffix:
        _check_suffix(name)
    if suffix in PDF_SUFFIXES or (not suffix and data.startswith(b"%PDF-")):
        return _pdf_text(name, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if "\x00" in text:
        raise DocumentError(f"{name}: holds NUL characters, so it is not a text file")
    return text


def _check_suffix(name: str) -> None:
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise DocumentError(f"{name}: only {KINDS} files can be added")


def _pdf_text(name: str, data: bytes) -> str:
    """Pages' text joined by blank lines. pypdf raises many kinds of errors on a damaged file, and
    any of them means the same to the user: this PDF cannot be read."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: is protected by a password: save it without one and add it again")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{name}: is not a readable PDF ({type(exc).__name__}: {exc})"[:300]) from None
    text = "\n\n".join(page for page in pages if page).replace("\x00", "")
    if not text.strip():
        raise DocumentError(f"{name}: has no text layer (a scanned PDF needs text recognition first)")
    return text


def collect_documents(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Files as given, and the Markdown/text files of folders in order; and the links skipped because
    they lead out of the folder given (a link inside it stays inside it or is not read)."""
    files: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for found in sorted(path.rglob("*")):
                if found.suffix.lower() not in SUFFIXES or not found.is_file():
                    continue
                if found.resolve().is_relative_to(root):
                    files.append(found)
                else:
                    skipped.append(found)
        elif path.is_file():
            files.append(path)
        else:
            raise DocumentError(f"{path}: no such file or folder")
    return files, skipped


def _is_markdown(path: PurePath) -> bool:
    return path.suffix.lower() in MARKDOWN_SUFFIXES
