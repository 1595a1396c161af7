"""Article vectors: the ``article_vectors`` table is the truth, an HNSW file the speed.

Vectors are stored as float32 bytes in the database, so every node (and a
restore from backup) has them. The approximate nearest-neighbour index is an
hnswlib graph kept in ``settings.data_dir``, one file per database and model;
it is only a cache: missing, unreadable or stale (its element count differs
from the table's) means it is rebuilt from the table. hnswlib was chosen over
faiss-cpu by measurement at 100k vectors (see docs/benchmarks.md and
``newsdesk.eval.bench_search``): the same recall at a lower p99, arbitrary
article ids as labels without an id map, and in-place updates.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleVectorRow

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_CHUNK = 5000


def to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def save_vectors(session: Session, ids: Sequence[int], vectors: np.ndarray,
                 model: str = DEFAULT_MODEL) -> None:
    """Insert or replace the vectors of ``ids`` (delete + insert works on both backends)."""
    if not len(ids):
        return
    latest = {int(i): v for i, v in zip(ids, vectors, strict=True)}  # a repeated id: last wins
    ids = list(latest)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        session.execute(delete(ArticleVectorRow).where(ArticleVectorRow.article_id.in_(part)))
    rows = [{"article_id": i, "model": model, "vector": to_bytes(v)} for i, v in latest.items()]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(ArticleVectorRow), rows[start:start + _CHUNK])


def load_vectors(session: Session, ids: Iterable[int] | None = None,
                 model: str = DEFAULT_MODEL) -> tuple[list[int], np.ndarray]:
    """Stored vectors (all, or those of ``ids``) as article ids and an ``(n, dim)`` matrix."""
    stmt = select(ArticleVectorRow.article_id, ArticleVectorRow.vector).where(
        ArticleVectorRow.model == model)
    if ids is not None:
        stmt = stmt.where(ArticleVectorRow.article_id.in_([int(i) for i in ids]))
    rows = session.execute(stmt.order_by(ArticleVectorRow.article_id)).all()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [int(r[0]) for r in rows], np.stack([from_bytes(r[1]) for r in rows])


def vector_of(session: Session, article_id: int, model: str = DEFAULT_MODEL) -> np.ndarray | None:
    """One article's stored vector, or None when it has not been embedded yet."""
    blob = session.scalar(select(ArticleVectorRow.vector).where(
        ArticleVectorRow.article_id == article_id, ArticleVectorRow.model == model))
    return None if blob is None else from_bytes(blob)


def count_vectors(session: Session, model: str = DEFAULT_MODEL) -> int:
    return int(session.scalar(select(func.count()).select_from(ArticleVectorRow).where(
        ArticleVectorRow.model == model)) or 0)


class VectorIndex:
    """An HNSW index over the stored vectors, persisted per node next to the database.

    ``add`` updates the in-memory graph (the caller writes the table with
    :func:`save_vectors` in its transaction); ``save`` writes the file
    atomically. Opening compares the file with the table and rebuilds on any
    count mismatch, so a crash between a commit and a save costs one rebuild.
    """

    def __init__(self, settings: Settings, db: Database, dim: int,
                 model: str = DEFAULT_MODEL, *, m: int = 16, ef_construction: int = 200,
                 ef_search: int = 128) -> None:
        self.settings, self.db, self.dim, self.model = settings, db, dim, model
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self._lock = threading.RLock()
        self._index: Any = None
        key = hashlib.sha1(f"{db.url}|{model}".encode(), usedforsecurity=False).hexdigest()[:12]
        self.path = Path(settings.data_dir) / f"vectors-{key}.hnsw"
        self.meta_path = self.path.with_suffix(".json")

    # -- lifecycle -------------------------------------------------------------------

    def _new(self, capacity: int) -> Any:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=self.dim)  # unit vectors: ip == cosine
        index.init_index(max_elements=max(capacity, 1024), M=self.m,
                         ef_construction=self.ef_construction, allow_replace_deleted=False)
        index.set_ef(self.ef_search)
        return index

    def open(self) -> VectorIndex:
        """Load the file if it matches the table, else rebuild it from the table."""
        with self._lock:
            with self.db.read() as session:
                expected = count_vectors(session, self.model)
            if self._load_file() and len(self) == expected:
                return self
            self.rebuild()
            return self

    def _load_file(self) -> bool:
        import hnswlib

        if not (self.path.exists() and self.meta_path.exists()):
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
            if meta.get("dim") != self.dim or meta.get("model") != self.model:
                return False
            index = hnswlib.Index(space="ip", dim=self.dim)
            index.load_index(str(self.path), max_elements=int(meta["capacity"]))
            index.set_ef(self.ef_search)
        except (OSError, RuntimeError, ValueError, KeyError):
            return False  # a torn or foreign file is just a cache miss
        self._index = index
        return True

    def rebuild(self) -> int:
        """Rebuild the graph from the table and save it; returns the number of vectors."""
        with self._lock:
            with self.db.read() as session:
                ids, matrix = load_vectors(session, model=self.model)
            index = self._new(int(len(ids) * 1.25) + 1)
            if ids:
                index.add_items(matrix, np.asarray(ids, dtype=np.int64))
            self._index = index
            self.save()
            return len(ids)

    def save(self) -> None:
        """Write the graph and its metadata atomically (temp file + rename)."""
        with self._lock:
            index = self._ensure()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".hnsw.tmp")
            index.save_index(str(tmp))
            os.replace(tmp, self.path)
            meta = {"dim": self.dim, "model": self.model, "count": len(self),
                    "capacity": int(index.get_max_elements())}
            self.meta_path.write_text(json.dumps(meta))

    def _ensure(self) -> Any:
        if self._index is None:
            self.open()
        return self._index

    def __len__(self) -> int:
        index = self._index
        return 0 if index is None else int(index.get_current_count())

    # -- use -------------------------------------------------------------------------

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace vectors in the graph, growing it as needed."""
        if not len(ids):
            return
        with self._lock:
            index = self._ensure()
            need = len(self) + len(ids)
            if need > index.get_max_elements():
                index.resize_index(max(need, int(index.get_max_elements() * 1.5)))
            index.add_items(np.asarray(vectors, dtype=np.float32),
                            np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int,
               exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """The ``k`` nearest article ids by cosine, best first, ``exclude`` left out."""
        index = self._ensure()
        skip = {int(i) for i in exclude}
        size = len(self)
        want = min(k + len(skip), size)
        if want <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        with self._lock:  # a concurrent add() may resize the graph under the query
            index.set_ef(max(self.ef_search, want))
            labels, distances = index.knn_query(query, k=want)
        found = [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0], strict=True)]
        return [(i, s) for i, s in found if i not in skip][:k]


def exact_search(ids: Sequence[int], matrix: np.ndarray, vector: np.ndarray,
                 k: int) -> list[tuple[int, float]]:
    """Brute-force cosine neighbours: the ground truth the ANN's recall is measured on."""
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
    top = top[np.argsort(-scores[top])]
    return [(int(ids[i]), float(scores[i])) for i in top]
