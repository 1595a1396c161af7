"""Search benchmarks at scale: ANN vs exact, related articles, hybrid and full-text search.

The collection is synthetic on purpose, and the output says so: the BBC corpus
(2,225 articles) repeated until ``n`` articles, each copy with another outlet
and date. Only the 2,225 originals are embedded (cached in the bench
directory); every copy's vector is its original's plus small Gaussian noise,
renormalised, which gives 100k distinct vectors in tight topical clusters (a
hard case for an ANN: many near-ties). ``run`` returns one dict; the lead wires
it into ``make bench``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from newsdesk.config import Settings
from newsdesk.enrich.embed import Embedder, article_text, load_embedder
from newsdesk.model import content_hash
from newsdesk.store import search
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow
from newsdesk.store.vectors import VectorIndex, exact_search, save_vectors

NOISE = 0.02  # per-dimension sigma of the Gaussian noise added to derived vectors
MIX = 0.5  # weight of a second, random original mixed into each derived vector
OUTLETS = [f"Outlet {i:02d}" for i in range(40)]
COMMON_WORDS = ("government", "people")
# Rare to moderately common at 100k (90, 630 and 3,214 matching articles): their
# results must not change when the most common words' ranking is bounded.
OTHER_WORDS = ("volcano", "referendum", "broadband")
BENCH_VERSION = 2  # in the database's file name: a change of the data model rebuilds it
_CHUNK = 5000


def _bbc(corpus: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def base_vectors(embedder: Embedder, corpus: Path, cache: Path) -> np.ndarray:
    """The originals' vectors, embedded once and cached next to the bench database."""
    if cache.exists():
        return np.load(cache)
    records = _bbc(corpus)
    vectors = embedder.encode([article_text(r["title"], r["text"]) for r in records])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def perturb(vectors: np.ndarray, seed: int) -> np.ndarray:
    """Each row plus N(0, NOISE^2) noise, renormalised."""
    noisy = vectors + np.random.default_rng(seed).normal(0, NOISE, size=vectors.shape)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def derived_vectors(base: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    """``n`` vectors: the originals, then for copy ``k`` of original ``i``
    ``base[i] + MIX * base[j]`` (``j`` random) plus noise, renormalised.

    The mix makes each copy "another article on a related subject" rather than
    a jittered clone: pure jitter gives 45 equidistant siblings per article,
    whose top-10 order is decided by noise (10th-11th gap 5e-4), which no
    collection of real articles looks like.
    """
    rng = np.random.default_rng(seed)
    others = base[rng.integers(0, len(base), n)]
    out = perturb(base[np.arange(n) % len(base)] + MIX * others, seed)
    first = min(n, len(base))
    out[:first] = base[:first]
    return out


def _row(record: dict[str, str], i: int, copy: int) -> dict[str, Any]:
    text = record["text"] if copy == 0 else f"{record['text']}\n(Republished, edition {copy}.)"
    when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * i)
    return {"key_url": f"https://bench.example/{i}", "url": f"https://bench.example/{i}",
            "canonical_url": "", "content_hash": content_hash(text), "title": record["title"],
            "text": text, "outlet": OUTLETS[i % len(OUTLETS)], "published_at": when,
            "word_count": len(text.split()), "description": record.get("category", "")}


def build_collection(db: Database, corpus: Path, n: int, vectors: np.ndarray | None) -> None:
    """Insert ``n`` articles and their vectors in chunks (one transaction per chunk).

    ``vectors=None`` stores text only: enough for full-text search, and no
    embedder is needed to build it.
    """
    records = _bbc(corpus)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        rows = [_row(records[i % len(records)], i, i // len(records)) for i in range(start, stop)]
        with db.write() as session:
            session.execute(insert(ArticleRow), rows)
            if vectors is None:
                continue
            ids = session.scalars(select(ArticleRow.id).where(
                ArticleRow.key_url.in_([r["key_url"] for r in rows]))
                .order_by(ArticleRow.id)).all()
            save_vectors(session, list(ids), vectors[start:stop])


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "n": len(samples)}


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_ann(index: VectorIndex, ids: list[int], matrix: np.ndarray,
              queries: np.ndarray) -> dict[str, Any]:
    """ANN latency and recall@10 against brute-force cosine on the same vectors."""
    index.search(queries[0], 10)
    times, recalls = [], []
    for q in queries:
        start = time.perf_counter()
        got = index.search(q, 10)
        times.append(time.perf_counter() - start)
        truth = {i for i, _ in exact_search(ids, matrix, q, 10)}
        recalls.append(len(truth & {i for i, _ in got}) / 10)
    exact = [_timed(partial(exact_search, ids, matrix, q, 10)) for q in queries[:50]]
    return {**_percentiles(times), "recall_at_10": round(float(np.mean(recalls)), 4),
            "exact_search": _percentiles(exact)}


def compare_faiss(matrix: np.ndarray, queries: np.ndarray, ids: list[int]) -> dict[str, Any]:
    """faiss-cpu HNSW with the same M, efConstruction, efSearch: why hnswlib was chosen."""
    try:
        import faiss
    except ImportError:
        return {"skipped": "faiss-cpu not installed"}
    start = time.perf_counter()
    index = faiss.IndexHNSWFlat(matrix.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 200
    index.add(matrix)
    built = time.perf_counter() - start
    index.hnsw.efSearch = 128
    times, recalls = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, found = index.search(q.reshape(1, -1), 10)
        times.append(time.perf_counter() - t0)
        truth = {i for i, _ in exact_search(ids, matrix, q, 10)}
        recalls.append(len(truth & {ids[j] for j in found[0] if j >= 0}) / 10)
    return {**_percentiles(times), "recall_at_10": round(float(np.mean(recalls)), 4),
            "build_s": round(built, 1)}


def bench_queries(db: Database, index: VectorIndex, embedder: Embedder, sample: list[int],
                  titles: list[str]) -> dict[str, Any]:
    """Related articles, hybrid search and FTS of common words, end to end through the DB."""
    from newsdesk.enrich.related import related_articles
    from newsdesk.enrich.semantic import hybrid_search

    out: dict[str, Any] = {}
    with db.read() as session:
        rows = [session.get(ArticleRow, i) for i in sample]
        present = [r for r in rows if r is not None]
        fast = [_timed(partial(related_articles, session, index, embedder, r, lexical=False))
                for r in present]
        out["related_articles_semantic_entity_recency"] = _percentiles(fast)
        full = [_timed(partial(related_articles, session, index, embedder, r))
                for r in present]
        out["related_articles_with_bm25_key_terms"] = _percentiles(full)
        embed = [_timed(partial(embedder.encode, [t])) for t in titles]
        out["query_embedding"] = _percentiles(embed)
        hybrid = [_timed(partial(hybrid_search, session, index, embedder, t, limit=20))
                  for t in titles]
        out["hybrid_search"] = _percentiles(hybrid)
    out.update(bench_fts(db, (*COMMON_WORDS, *OTHER_WORDS)))
    return out


def bench_fts(db: Database, words: Sequence[str], repeats: int = 50) -> dict[str, Any]:
    """Latency of a first page of full-text results (20 hits) per word, with its match count."""
    out: dict[str, Any] = {}
    with db.read() as session:
        for word in words:
            matches = search.document_frequency(session, word)
            fts = [_timed(partial(search.search, session, word, limit=20))
                   for _ in range(repeats)]
            out[f"fts_{word}"] = {**_percentiles(fts), "matching_articles": matches}
    return out


def run_fts(database_url: str, corpus: Path, n: int = 100_000,
            words: Sequence[str] = (*COMMON_WORDS, *OTHER_WORDS),
            repeats: int = 50) -> dict[str, Any]:
    """Only the full-text part, on a text-only ``n``-article collection (built if missing).

    It needs no embedder and no vectors, so it runs in a few minutes and can
    target PostgreSQL too. Give it a database of its own: the full bench
    reuses a collection only when it has vectors.
    """
    db = Database(database_url)
    db.migrate()
    try:
        t0 = time.perf_counter()
        with db.read() as session:
            have = int(session.scalar(select(func.count(ArticleRow.id))) or 0)
        if have == 0:
            build_collection(db, corpus, n, None)
        elif have != n:
            raise ValueError(f"{database_url} holds {have} articles, not {n}: use an empty one")
        return {"articles": n, "backend": db.dialect, "build_s": round(time.perf_counter() - t0, 1),
                **bench_fts(db, words, repeats)}
    finally:
        db.dispose()


def run(settings: Settings, n: int = 100_000, queries: int = 200,
        corpus: Path | None = None) -> dict[str, Any]:
    """Build (or reuse) the ``n``-article bench collection in ``settings.data_dir`` and measure."""
    corpus = corpus or Path(settings.sample) / "corpus" / "bbc-news-2225.jsonl"
    if not corpus.exists():
        return {"skipped": f"BBC corpus not found at {corpus}"}
    bench_dir = Path(settings.data_dir)
    db = Database(f"sqlite:///{bench_dir / f'bench-{n}-v{BENCH_VERSION}.db'}")
    db.migrate()
    embedder = load_embedder(settings)
    t0 = time.perf_counter()
    vectors = derived_vectors(base_vectors(embedder, corpus, bench_dir / "bbc-vectors.npy"), n)
    result: dict[str, Any] = {
        "articles": n,
        "note": (f"synthetic: the {len(_bbc(corpus))} BBC articles repeated with varied "
                 f"outlets and dates; only the originals are embedded, each copy's vector is "
                 f"its original + {MIX} x a random other original + N(0, {NOISE}^2) noise, "
                 f"renormalised; queries are stored vectors + the same noise"),
    }
    with db.read() as session:
        have = int(session.scalar(select(func.count(ArticleRow.id))) or 0)
    if have != n:
        build_collection(db, corpus, n, vectors)
    result["build_s"] = round(time.perf_counter() - t0, 1)
    index = VectorIndex(settings.with_(data_dir=bench_dir), db, embedder.dim)
    t1 = time.perf_counter()
    index.open()
    result["index_open_s"] = round(time.perf_counter() - t1, 1)
    with db.read() as session:
        ids = list(session.scalars(select(ArticleRow.id).order_by(ArticleRow.id)))
    rng = np.random.default_rng(11)
    picks = rng.choice(len(ids), size=min(queries, len(ids)), replace=False)
    query_vectors = perturb(vectors[picks], seed=13)  # near, never equal, to stored ones
    result["ann"] = bench_ann(index, ids, vectors, query_vectors)
    result["faiss_hnsw_same_params"] = compare_faiss(vectors, query_vectors[:100], ids)
    titles = [_bbc(corpus)[int(p) % 2225]["title"] for p in picks[:100]]
    result.update(bench_queries(db, index, embedder, [ids[int(p)] for p in picks[:100]],
                                titles))
    db.dispose()
    return result


def main(argv: list[str]) -> None:
    """``[n] [data_dir]`` for the whole search bench; ``--fts DATABASE_URL [n]`` for FTS only."""
    if argv[:1] == ["--fts"]:
        settings = Settings.from_env()
        corpus = Path(settings.sample) / "corpus" / "bbc-news-2225.jsonl"
        n = int(argv[2]) if len(argv) > 2 else 100_000
        print(json.dumps(run_fts(argv[1], corpus, n)))
        return
    n = int(argv[0]) if argv else 100_000
    data_dir = Path(argv[1]) if len(argv) > 1 else Path("data") / "bench"
    print(json.dumps(run(Settings.from_env().with_(data_dir=data_dir), n=n)))


if __name__ == "__main__":
    main(sys.argv[1:])
