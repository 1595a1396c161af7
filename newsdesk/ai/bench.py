"""Latency of the AI block on real articles: ``python -m newsdesk.ai.bench``.

Measures what the reader waits for: summary + key points for an article not
yet cached and for a cached one, and a question over 10,000 articles (BBC
corpus copies in a SQLite FTS5 table built at run time, BM25 top-20 as the
candidate retrieval, then :func:`newsdesk.ai.ask.ask`). Prints one JSON line.

The 10,000 articles are the 2,225 BBC texts repeated, so BM25's top 20 holds
each retrieved text four or five times. The store's retrieval drops syndicated
copies instead; ``--distinct`` does the same here (20 different texts, about
four times the sentences to read), the harder and more realistic case.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from newsdesk.ai.service import AIService
from newsdesk.ai.text import content_words
from newsdesk.ai.types import ArticleLike, Doc, Embedder


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    ms = sorted(1000 * s for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(p95, 3),
            "max_ms": round(ms[-1], 3)}


def read_corpus(path: Path) -> list[Doc]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            docs.append(Doc(i, row["title"], row["text"], row.get("outlet", "BBC")))
    return docs


class FtsIndex:
    """A throwaway SQLite FTS5 index: the simplest realistic candidate retrieval."""

    def __init__(self, docs: Sequence[Doc], size: int, directory: Path,
                 distinct: bool = False) -> None:
        self.distinct = distinct
        self.docs: dict[int, Doc] = {}
        self.db = sqlite3.connect(directory / "bench.db")
        self.db.execute("CREATE VIRTUAL TABLE a USING fts5(title, text, tokenize='porter')")
        rows = []
        for n in range(size):
            src = docs[n % len(docs)]
            doc = Doc(n, src.title, src.text, src.outlet)
            self.docs[n] = doc
            rows.append((n, doc.title, doc.text))
        self.db.executemany("INSERT INTO a(rowid, title, text) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def retrieve(self, question: str, k: int = 20) -> list[ArticleLike]:
        terms = " OR ".join(f'"{w}"' for w in dict.fromkeys(content_words(question)))
        if not terms:
            return []
        limit = 8 * k if self.distinct else k  # a text is repeated at most 5 times
        ids = self.db.execute("SELECT rowid FROM a WHERE a MATCH ? ORDER BY bm25(a) LIMIT ?",
                              (terms, limit)).fetchall()
        found = [self.docs[i] for (i,) in ids]
        kept: list[ArticleLike] = [*(first_copies(found) if self.distinct else found)[:k]]
        return kept


def first_copies(docs: Sequence[Doc]) -> list[Doc]:
    """The first article of each text, in order: what the store's ``duplicate_of`` keeps."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.text not in seen:
            seen.add(doc.text)
            out.append(doc)
    return out


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_article(service: AIService, docs: Sequence[Doc]) -> dict[str, Any]:
    """Uncached (fresh caches per article) and cached summary + key points."""
    def both(doc: Doc) -> None:
        service.summary(doc)
        service.key_points(doc)

    cold = []
    for doc in docs:
        service.clear()
        cold += time_calls(lambda d=doc: both(d), 1)  # type: ignore[misc]
    for doc in docs:
        both(doc)  # fill the cache, then time hits
    warm = [t for doc in docs for t in time_calls(lambda d=doc: both(d), 3)]  # type: ignore[misc]
    return {"uncached": percentiles(cold), "cached": percentiles(warm)}


def questions(docs: Sequence[Doc], n: int, rng: random.Random) -> list[str]:
    """Half answerable (built from article titles), half about absent things."""
    absent = ["What did the Pope say about the World Cup?", "How tall is the Eiffel Tower?",
              "Who won the Tour de France?", "What is the price of bitcoin?",
              "When will the Mars rover land?"]
    picked = rng.sample(list(docs), n // 2)
    asked = [f"What happened with {d.title.lower()}?" for d in picked]
    return asked + [absent[i % len(absent)] for i in range(n - len(asked))]


def bench_questions(embedder: Embedder, corpus: Path, size: int, n: int,
                    distinct: bool = False) -> dict[str, Any]:
    docs = read_corpus(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index = FtsIndex(docs, size, Path(tmp), distinct)
        built = time.perf_counter() - start
        service = AIService(embedder, retrieve=index.retrieve)
        qs = questions(docs, n, random.Random(7))
        service.ask(qs[0])  # warm-up: tokenizer and model pages
        samples, found = [], 0
        for q in qs:
            service.clear()
            start = time.perf_counter()
            found += service.ask(q).found
            samples.append(time.perf_counter() - start)
        index.db.close()
    return {"articles": size, "distinct": distinct, "index_seconds": round(built, 2),
            "found": found, **percentiles(samples)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="AI block latency")
    parser.add_argument("--corpus", type=Path,
                        default=Path("../shared/data/corpus/bbc-news-2225.jsonl"))
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--distinct", action="store_true",
                        help="retrieve 20 different texts (drop copies, as the store does)")
    parser.add_argument("--questions-only", action="store_true",
                        help="skip the summary timings")
    args = parser.parse_args(argv)
    from newsdesk.enrich.embed import load_embedder

    embedder = load_embedder()
    result: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 2)}
    if not args.questions_only:
        sample = random.Random(3).sample(read_corpus(args.corpus), args.articles)
        service = AIService(embedder)
        service.summary(sample[0])  # warm-up
        result["article"] = bench_article(service, sample)
    result["question"] = bench_questions(embedder, args.corpus, args.size, args.questions,
                                         args.distinct)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
