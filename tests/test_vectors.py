"""Vectors in the table and the persisted HNSW index, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsdesk.config import Settings
from newsdesk.model import Article
from newsdesk.store import articles
from newsdesk.store.db import Database
from newsdesk.store.vectors import (
    VectorIndex,
    count_vectors,
    exact_search,
    load_vectors,
    save_vectors,
    vector_of,
)

DIM = 16


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """This module's tests run on SQLite and PostgreSQL in every run."""
    return db_on_each_backend


def _unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _articles(db: Database, n: int) -> list[int]:
    with db.write() as session:
        return [articles.save_article(session, Article(
            url=f"https://example.com/{i}", title=f"Story {i}", text=f"Body number {i}.",
            outlet="Wire")).article_id for i in range(n)]


def _stored(db: Database, n: int, seed: int = 0) -> tuple[list[int], np.ndarray]:
    ids, vectors = _articles(db, n), _unit(n, seed)
    with db.write() as session:
        save_vectors(session, ids, vectors)
    return ids, vectors


def test_vectors_round_trip_and_replace(db: Database) -> None:
    ids, vectors = _stored(db, 3)
    with db.write() as session:
        save_vectors(session, [ids[0]], vectors[1:2])  # re-embedding replaces
    with db.read() as session:
        got_ids, matrix = load_vectors(session)
        assert count_vectors(session) == 3
        single = vector_of(session, ids[2])
        assert vector_of(session, 10_000) is None
    assert got_ids == ids and matrix.dtype == np.float32
    assert np.array_equal(matrix[0], vectors[1]) and np.array_equal(matrix[1:], vectors[1:])
    assert single is not None and np.array_equal(single, vectors[2])


def test_index_search_exclude_and_persist(db: Database, settings: Settings) -> None:
    ids, vectors = _stored(db, 50)
    index = VectorIndex(settings, db, DIM).open()
    assert len(index) == 50 and index.path.exists()
    top = index.search(vectors[7], 3)
    assert top[0][0] == ids[7] and top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert ids[7] not in [i for i, _ in index.search(vectors[7], 3, exclude=[ids[7]])]
    stamp = index.path.stat().st_mtime_ns
    again = VectorIndex(settings, db, DIM).open()  # loads the file, no rebuild
    assert index.path.stat().st_mtime_ns == stamp
    assert again.search(vectors[7], 1)[0][0] == ids[7]


def test_add_grows_and_save_round_trips(db: Database, settings: Settings) -> None:
    index = VectorIndex(settings, db, DIM).open()
    assert index.search(_unit(1)[0], 5) == []
    ids, vectors = _stored(db, 1500, seed=3)  # past the initial capacity
    index.add(ids, vectors)
    index.save()
    reopened = VectorIndex(settings, db, DIM).open()
    assert len(reopened) == 1500
    assert reopened.search(vectors[1234], 1)[0][0] == ids[1234]


def test_stale_missing_or_torn_file_is_rebuilt(db: Database, settings: Settings) -> None:
    _stored(db, 20)
    index = VectorIndex(settings, db, DIM).open()
    more = _articles(db, 25)[20:]
    with db.write() as session:  # rows written, index not told: count mismatch
        save_vectors(session, more, _unit(5, seed=9))
    assert len(VectorIndex(settings, db, DIM).open()) == 25
    index.path.unlink()
    assert len(VectorIndex(settings, db, DIM).open()) == 25
    index.path.write_bytes(b"not an index")
    assert len(VectorIndex(settings, db, DIM).open()) == 25


def test_index_file_lives_in_data_dir(db: Database, settings: Settings) -> None:
    index = VectorIndex(settings, db, DIM)
    assert Path(index.path).parent == settings.data_dir


def test_ann_recall_against_exact(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.migrate()
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, DIM))
    points = (centres[rng.integers(0, 40, 3000)] + 0.5 * rng.normal(size=(3000, DIM)))
    points = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    ids = _articles(db, 3000)
    with db.write() as session:
        save_vectors(session, ids, points)
    index = VectorIndex(Settings(data_dir=tmp_path), db, DIM).open()
    recalls = []
    for q in points[:100]:
        truth = {i for i, _ in exact_search(ids, points, q, 10)}
        recalls.append(len(truth & {i for i, _ in index.search(q, 10)}) / 10)
    db.dispose()
    assert float(np.mean(recalls)) >= 0.95
