"""Vector memory on real Qdrant: local mode always; server mode when CHATDASH_TEST_QDRANT_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chatdash.cli import app
from chatdash.config import Settings, get_settings
from chatdash.errors import DocumentError, MemoryStoreError
from chatdash.llm.embeddings import get_embedder
from chatdash.memory import EVERYONE, ChatMemory, DocumentStore, Remembered, VectorStore

pytestmark = pytest.mark.timeout(60)

QDRANT_SKIP = (
    "CHATDASH_TEST_QDRANT_URL is not set: server mode needs a real Qdrant (e.g. http://127.0.0.1:6333)"
)


@pytest.fixture(params=["local", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """An empty store: a local folder, or collections with a unique prefix on the test server."""
    if request.param == "local":
        opened = VectorStore.open(Settings(var_dir=tmp_path, qdrant_url=None, embeddings="wordllama"))
        yield opened
        opened.close()
        return
    url = os.environ.get("CHATDASH_TEST_QDRANT_URL")
    if not url:
        pytest.skip(QDRANT_SKIP)
    prefix = f"test_{uuid.uuid4().hex[:10]}_"
    opened = VectorStore.open(Settings(qdrant_url=url, embeddings="wordllama"), prefix=prefix)
    yield opened
    for collection in opened.client.get_collections().collections:
        if collection.name.startswith(prefix):
            opened.client.delete_collection(collection.name)
    opened.close()


def remember(memory: ChatMemory, owner: str, chat_id: str, *texts: str) -> None:
    memory.remember(owner, [Remembered(chat_id, f"{chat_id}-{i}", "user", t) for i, t in enumerate(texts)])


def test_one_users_memory_never_reaches_another(store: VectorStore) -> None:
    memory = ChatMemory(store, min_score=-1.0)
    remember(
        memory, "alice", "a1", "My favourite product is the standing desk.", "I manage the Berlin office."
    )
    remember(memory, "bob", "b1", "My favourite product is the standing desk too.", "Bob likes chairs.")
    recalled = memory.recall("alice", "which desk is my favourite?", k=10)
    assert {r.chat_id for r in recalled} == {"a1"}
    assert len(recalled) == 2
    assert memory.count("alice") == 2 and memory.count("bob") == 2
    with pytest.raises(ValueError, match="owner"):
        memory.recall("", "anything")


def test_recall_returns_the_top_k_by_similarity(store: VectorStore) -> None:
    memory = ChatMemory(store, min_score=-1.0)
    texts = [
        "Laptop sales doubled in March.",
        "We sold many laptops and monitors this spring.",
        "The coffee maker in the kitchen is broken.",
        "Printer paper is running low.",
        "Electronics revenue grew by ten percent.",
        "My cat sleeps all day.",
        "Notebook and pen orders are steady.",
        "The quarterly laptop report is ready.",
    ]
    remember(memory, "alice", "c1", *texts)
    query = "how did laptop sales go?"
    recalled = memory.recall("alice", query, k=4)
    # An independent ranking: cosine similarity of the same embeddings, computed here.
    vectors = get_embedder(Settings(embeddings="wordllama")).embed([query, *texts])
    expected = np.argsort(-(vectors[1:] @ vectors[0]))[:4]
    assert [r.text for r in recalled] == [texts[i] for i in expected]
    scores = [r.score for r in recalled]
    assert scores == sorted(scores, reverse=True)
    assert np.allclose(scores, (vectors[1:] @ vectors[0])[expected], atol=1e-4)


def test_the_score_floor_leaves_out_weak_matches(store: VectorStore) -> None:
    memory = ChatMemory(store, min_score=0.3)
    remember(memory, "alice", "c1", "I ordered ten office chairs.", "The sky was blue over the mountains.")
    everything = memory.recall("alice", "office chairs order", min_score=-1.0)
    floored = memory.recall("alice", "office chairs order")
    assert len(everything) == 2
    assert [r.text for r in floored] == ["I ordered ten office chairs."]
    assert all(r.score >= 0.3 for r in floored)


def test_delete_by_chat_and_by_user(store: VectorStore) -> None:
    memory = ChatMemory(store, min_score=-1.0)
    remember(memory, "alice", "a1", "first chat message", "another in the first chat")
    remember(memory, "alice", "a2", "second chat message")
    remember(memory, "bob", "b1", "bob's message")
    memory.remember("alice", [Remembered("a2", "a2-0", "user", "second chat message, edited")])  # same id
    assert memory.count("alice", "a2") == 1
    memory.forget_chat("alice", "a1")
    assert memory.count("alice") == 1 and memory.count("alice", "a1") == 0
    assert [r.chat_id for r in memory.recall("alice", "chat message", chat_id="a2")] == ["a2"]
    store.forget_user("alice")
    assert memory.count("alice") == 0 and memory.count("bob") == 1


HANDBOOK = """# Returns

Customers may return products within 30 days of delivery.

# Shipping

We ship office furniture worldwide within five working days.

# Warranty

Electronics carry a two-year warranty.
"""


def test_adding_a_document_again_replaces_its_chunks(store: VectorStore, tmp_path: Path) -> None:
    docs = DocumentStore(store, min_score=-1.0)
    path = tmp_path / "handbook.md"
    path.write_text(HANDBOOK)
    first = docs.add_file(path)
    assert (first.status, first.chunks) == ("added", 3)
    assert docs.add_file(path).status == "unchanged"

    path.write_text("# Returns\n\nCustomers may return products within 14 days.\n")
    again = docs.add_file(path)
    assert (again.status, again.chunks) == ("replaced", 1)
    chunks = docs.chunks_of(str(path.resolve()))
    assert [c.text for c in chunks] == ["Customers may return products within 14 days."]
    assert chunks[0].heading == "Returns" and chunks[0].start_line == 3
    top = docs.search("anyone", "how many days to return a product?", k=3)
    assert [p.text for p in top] == ["Customers may return products within 14 days."]


def test_documents_are_shared_or_private(store: VectorStore, tmp_path: Path) -> None:
    docs = DocumentStore(store, min_score=-1.0)
    docs.add_text("handbook", HANDBOOK, owner=EVERYONE)
    docs.add_text("alice-notes", "# Notes\n\nMy warranty claim for the monitor is pending.", owner="alice")
    alice = {p.source for p in docs.search("alice", "warranty", k=10)}
    bob = {p.source for p in docs.search("bob", "warranty", k=10)}
    assert alice == {"handbook", "alice-notes"}
    assert bob == {"handbook"}
    store.forget_user("alice")
    assert {p.source for p in docs.search("alice", "warranty", k=10)} == {"handbook"}


def test_a_local_folder_is_held_by_one_client(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, qdrant_url=None)
    first = VectorStore.open(settings)
    try:
        with pytest.raises(MemoryStoreError, match="CHATDASH_QDRANT_URL"):
            VectorStore.open(settings)
    finally:
        first.close()


class EightDims:
    name, dim = "eight", 8

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_switching_embeddings_is_refused_with_a_way_out(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, qdrant_url=None, embeddings="wordllama")
    store = VectorStore.open(settings)
    ChatMemory(store).remember("alice", [Remembered("c", "1", "user", "hello")])
    store.close()
    other = VectorStore.open(settings, embedder=EightDims())
    try:
        with pytest.raises(MemoryStoreError, match=r"size 256.*have 8"):
            ChatMemory(other).recall("alice", "hello")
    finally:
        other.close()


def test_docs_add_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "handbook.md").write_text(HANDBOOK)
    (tmp_path / "kb" / "faq.txt").write_text("Opening hours are nine to five.")
    (tmp_path / "kb" / "image.png").write_bytes(b"\x89PNG")
    for name in list(os.environ):
        if name.startswith("CHATDASH_") and not name.startswith("CHATDASH_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["docs", "add", "kb"])
        assert result.exit_code == 0, result.output
        assert "added  kb/faq.txt  (1 chunks)" in result.output
        assert "2 added; 4 chunks" in result.output
        assert (tmp_path / "var" / "qdrant").is_dir()
        result = runner.invoke(app, ["docs", "add", "kb/handbook.md"])
        assert "unchanged" in result.output
        result = runner.invoke(app, ["docs", "search", "opening hours"])
        assert "faq.txt:1" in result.output
        result = runner.invoke(app, ["docs", "add", "kb/image.png"])
        assert result.exit_code == 1 and "only Markdown" in result.output
    finally:
        get_settings.cache_clear()


def test_a_folder_is_added_all_or_nothing_and_links_out_of_it_are_skipped(
    store: VectorStore, tmp_path: Path
) -> None:
    docs = DocumentStore(store, min_score=-1.0)
    outside = tmp_path / "outside.md"
    outside.write_text("# Secret\n\nThe root password is hunter2.\n")
    folder = tmp_path / "kb"
    (folder / "sub").mkdir(parents=True)
    (folder / "handbook.md").write_text(HANDBOOK)
    (folder / "sub" / "leak.md").symlink_to(outside)
    (folder / "sub" / "inside.md").symlink_to(folder / "handbook.md")  # stays in the folder: read
    (folder / "broken.txt").write_bytes(b"caf\xe9 au lait\n")  # not UTF-8
    with pytest.raises(DocumentError, match=r"broken\.txt: not UTF-8"):
        docs.add_paths([folder])
    assert docs.search("anyone", "warranty", k=10) == []  # nothing of the folder was stored
    (folder / "broken.txt").unlink()
    added, skipped = docs.add_paths([folder])
    assert skipped == [folder / "sub" / "leak.md"]
    assert [(path.name, Path(a.source).name) for path, a in added] == [
        ("handbook.md", "handbook.md"),
        ("inside.md", "handbook.md"),  # a link that stays in the folder is read, as the file it names
    ]
    assert all("hunter2" not in p.text for p in docs.search("anyone", "root password", k=20))
