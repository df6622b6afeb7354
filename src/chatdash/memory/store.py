"""The vector store: qdrant-client on a local folder (``<VAR_DIR>/qdrant``) or a Qdrant server.

Every point carries an ``owner`` (a user id, or ``EVERYONE`` for shared documents), and every write,
search, scroll, count and delete here takes the owner as an argument: there is no method that reaches
points without one, so one user's memory cannot reach another's results by omission.

How owners are kept apart depends on the mode, for speed:

- **Server** (``CHATDASH_QDRANT_URL``): one collection per kind, ``owner`` indexed as a tenant field
  (Qdrant's multitenancy layout), and every request filtered by it.
- **Local**: one collection per kind *and owner*. qdrant-client's local mode evaluates payload filters
  in Python, point by point (measured here: ~40 µs a point, ~4 s per search at 100k points), while an
  unfiltered search is one numpy product. A user's search then scans only that user's points (2 ms
  p50 at 100k points over 100 users, `chatdash bench llm`).

Local mode is Qdrant's engine run in process and persisted in SQLite, one commit per point. It keeps
the embedded default free of servers, but its folder is locked by one process at a time (the web server
and ``chatdash docs add`` cannot both hold it), and qdrant-client itself advises against it beyond
~20,000 points per collection. Replicas and large stores need a Qdrant server.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from chatdash.config import Settings, get_settings
from chatdash.errors import MemoryStoreError
from chatdash.llm import Embedder, get_embedder

EVERYONE = "*"
"""Owner of shared points (company documents): searches by any user include them. Never a user id."""

Kind = Literal["chat", "documents"]
COLLECTIONS: dict[Kind, str] = {"chat": "chat_memory", "documents": "documents"}
INDEXED_FIELDS: dict[Kind, tuple[str, ...]] = {"chat": ("chat_id",), "documents": ("source",)}
_NAMESPACE = uuid.UUID("6f1c2d0e-9a57-4c1e-8f43-3b7d5e2a9c10")

T = TypeVar("T")


def point_id(*parts: str) -> str:
    """A stable point id from its natural key: storing the same thing again overwrites it."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def field_is(name: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=name, match=models.MatchValue(value=value))


def _owners(owners: str | Sequence[str]) -> list[str]:
    wanted = [owners] if isinstance(owners, str) else list(dict.fromkeys(owners))
    if not wanted or not all(wanted):
        raise ValueError("an owner (user id) is required for every vector store operation")
    return wanted


class VectorStore:
    """Chat memory and documents, kept per owner, and the embedder that fills them."""

    def __init__(
        self, client: QdrantClient, embedder: Embedder, *, local: bool, where: str, prefix: str = "chatdash_"
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.local = local
        self.where = where
        self.prefix = prefix
        self._lock = threading.RLock()  # local mode is plain Python state; serialize its callers
        self._checked: set[str] = set()

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, embedder: Embedder | None = None, prefix: str = "chatdash_"
    ) -> VectorStore:
        """Connect (server) or open the local folder, refusing with a clear message when it cannot."""
        settings = settings or get_settings()
        embedder = embedder or get_embedder(settings)
        if settings.qdrant_url:
            client = QdrantClient(url=settings.qdrant_url, timeout=int(settings.llm_timeout))
            store = cls(client, embedder, local=False, where=settings.qdrant_url, prefix=prefix)
            store._call(client.get_collections)  # fail now, with the URL in the message, not mid-request
            return store
        folder = Path(settings.var_dir) / "qdrant"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            client = QdrantClient(path=str(folder), force_disable_check_same_thread=True)
        except RuntimeError as exc:  # portalocker: another process holds the folder
            raise MemoryStoreError(
                f"the local vector store {folder} is open in another process (e.g. `chatdash serve`); stop "
                "it first, or run a Qdrant server and set CHATDASH_QDRANT_URL so processes can share it"
            ) from exc
        return cls(client, embedder, local=True, where=str(folder), prefix=prefix)

    def close(self) -> None:
        with self._lock:
            self.client.close()

    # -- collections ------------------------------------------------------------------------------

    def collection_name(self, kind: Kind, owner: str) -> str:
        """Where ``owner``'s points of ``kind`` live (one shared collection on a server)."""
        name = self.prefix + COLLECTIONS[kind]
        if not self.local:
            return name
        tag = "shared" if owner == EVERYONE else hashlib.sha256(owner.encode()).hexdigest()[:24]
        return f"{name}_{tag}"

    def _existing(self, kind: Kind, owner: str) -> str | None:
        """The collection if it exists (checked against the embedder once), else None; reads never create."""
        name = self.collection_name(kind, owner)
        if name in self._checked:
            return name
        with self._lock:
            if not self._call(self.client.collection_exists, name):
                return None
            self._check_dimension(name)
            self._checked.add(name)
        return name

    def _create(self, kind: Kind, owner: str) -> str:
        name = self._existing(kind, owner)
        if name is not None:
            return name
        name = self.collection_name(kind, owner)
        with self._lock:
            vectors = models.VectorParams(size=self.embedder.dim, distance=models.Distance.COSINE)
            self._call(self.client.create_collection, name, vectors_config=vectors)
            if not self.local:  # payload indexes only exist on a server
                self._index(name, "owner", tenant=True)
                for field in INDEXED_FIELDS[kind]:
                    self._index(name, field)
            self._checked.add(name)
        return name

    def _index(self, name: str, field: str, *, tenant: bool = False) -> None:
        schema = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=tenant or None)
        self._call(self.client.create_payload_index, name, field, field_schema=schema)

    def _check_dimension(self, name: str) -> None:
        info = self._call(self.client.get_collection, name)
        params = info.config.params.vectors
        size = params.size if isinstance(params, models.VectorParams) else None
        if size != self.embedder.dim:
            raise MemoryStoreError(
                f"collection {name} in {self.where} holds vectors of size {size}, but the embeddings "
                f"({self.embedder.name}) have {self.embedder.dim}: CHATDASH_EMBEDDINGS changed. Delete the "
                "collection (or the local folder) and add the documents again"
            )

    def _filter(self, owner: str, conditions: Sequence[models.Condition]) -> models.Filter | None:
        """The owner's filter; in local mode the collection already is the owner's."""
        if self.local:
            return models.Filter(must=list(conditions)) if conditions else None
        return models.Filter(must=[field_is("owner", owner), *conditions])

    # -- points -----------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [row.tolist() for row in self.embedder.embed(texts)]

    def upsert(self, kind: Kind, owner: str, points: list[models.PointStruct]) -> None:
        """Store ``owner``'s points; each payload's ``owner`` is set here, not trusted from the caller."""
        (owner,) = _owners(owner)
        if not points:
            return
        for point in points:
            point.payload = {**(point.payload or {}), "owner": owner}
        self._call(self.client.upsert, self._create(kind, owner), points=points, wait=True)

    def search(
        self,
        kind: Kind,
        owners: str | Sequence[str],
        text: str,
        *,
        conditions: Sequence[models.Condition] = (),
        limit: int,
        min_score: float,
    ) -> list[models.ScoredPoint]:
        """The ``limit`` points of ``owners`` most similar to ``text``, best first, above ``min_score``."""
        wanted = _owners(owners)
        vector = self.embed([text])[0]
        if not self.local:
            match = models.MatchAny(any=wanted) if len(wanted) > 1 else models.MatchValue(value=wanted[0])
            scope = models.Filter(must=[models.FieldCondition(key="owner", match=match), *conditions])
            return self._query(self.collection_name(kind, wanted[0]), vector, scope, limit, min_score)
        found: list[models.ScoredPoint] = []
        for owner in wanted:
            name = self._existing(kind, owner)
            if name is not None:
                found += self._query(name, vector, self._filter(owner, conditions), limit, min_score)
        return sorted(found, key=lambda point: point.score, reverse=True)[:limit]

    def _query(
        self, name: str, vector: list[float], scope: models.Filter | None, limit: int, min_score: float
    ) -> list[models.ScoredPoint]:
        result = self._call(
            self.client.query_points,
            name,
            query=vector,
            query_filter=scope,
            limit=limit,
            score_threshold=min_score,
            with_payload=True,
        )
        return list(result.points)

    def scroll(
        self, kind: Kind, owner: str, conditions: Sequence[models.Condition] = (), *, page: int = 256
    ) -> Iterator[models.Record]:
        """Every point of ``owner`` matching ``conditions``, page by page (payload only)."""
        (owner,) = _owners(owner)
        name = self._existing(kind, owner)
        offset: Any = None
        while name is not None:
            records, offset = self._call(
                self.client.scroll,
                name,
                scroll_filter=self._filter(owner, conditions),
                limit=page,
                offset=offset,
            )
            yield from records
            if offset is None:
                return

    def count(self, kind: Kind, owner: str, conditions: Sequence[models.Condition] = ()) -> int:
        (owner,) = _owners(owner)
        name = self._existing(kind, owner)
        if name is None:
            return 0
        result = self._call(self.client.count, name, count_filter=self._filter(owner, conditions), exact=True)
        return int(result.count)

    def delete(self, kind: Kind, owner: str, conditions: Sequence[models.Condition] = ()) -> None:
        """Delete ``owner``'s points matching ``conditions`` (all of them when there are none)."""
        (owner,) = _owners(owner)
        name = self._existing(kind, owner)
        if name is None:
            return
        if self.local and not conditions:  # the whole collection is the owner's: drop it
            with self._lock:
                self._call(self.client.delete_collection, name)
                self._checked.discard(name)
            return
        scope = self._filter(owner, conditions) or models.Filter()
        selector = models.FilterSelector(filter=scope)
        self._call(self.client.delete, name, points_selector=selector, wait=True)

    def forget_user(self, owner: str) -> int:
        """Delete everything ``owner`` has stored: chat memory and their own documents (never the shared
        ones); how many points that was."""
        (owner,) = _owners(owner)
        if owner == EVERYONE:
            raise ValueError("the shared documents belong to no user: remove them by source")
        removed = 0
        for kind in COLLECTIONS:
            removed += self.count(kind, owner)
            self.delete(kind, owner)
        return removed

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a client call under the lock, turning transport failures into ``MemoryStoreError``."""
        with self._guard(), self._lock:
            return method(*args, **kwargs)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (ResponseHandlingException, UnexpectedResponse, ConnectionError, TimeoutError) as exc:
            raise MemoryStoreError(
                f"the vector store at {self.where} failed ({exc}); check CHATDASH_QDRANT_URL and that "
                "Qdrant is running"
            ) from exc


_stores: dict[tuple[str | None, str], VectorStore] = {}
_stores_lock = threading.Lock()


def get_store(settings: Settings | None = None) -> VectorStore:
    """The process-wide store for these settings (a local folder can only be opened once)."""
    settings = settings or get_settings()
    if not settings.memory:
        raise MemoryStoreError("vector memory is off here (CHATDASH_MEMORY=false)")
    key = (settings.qdrant_url, str(Path(settings.var_dir).resolve()))
    with _stores_lock:
        if key not in _stores:
            _stores[key] = VectorStore.open(settings)
        return _stores[key]


@atexit.register
def _close_stores() -> None:
    """Release local folders while the interpreter can still run qdrant-client's clean-up."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
