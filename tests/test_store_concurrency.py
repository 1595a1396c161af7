"""Concurrent writers on both backends: the same article or tag saved at the same moment.

Each worker gets its own ``Database`` (its own engine and connections), like
separate Celery worker processes would, and all start together at a barrier.
On PostgreSQL they really run in parallel; on SQLite they queue on the
database lock (``BEGIN IMMEDIATE``) across connections. Either way every
worker must finish without an error and the store must hold each row once.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from newsdesk.model import Article, Tag
from newsdesk.store import articles, dedup, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, ArticleSignatureRow, ArticleTagRow, TagRow

WORKERS = 6
ROUNDS = 4
T = TypeVar("T")


@pytest.fixture
def dbs(database_url: str) -> Iterator[list[Database]]:
    """One migrated database seen through ``WORKERS`` independent engines."""
    first = Database(database_url)
    first.migrate()
    others = [Database(database_url) for _ in range(WORKERS - 1)]
    yield [first, *others]
    for db in (first, *others):
        db.dispose()


def hammer(dbs: list[Database], work: Callable[[int, Database], T]) -> list[T]:
    """Run ``work(i, db_i)`` in one thread per database, released together; re-raise errors."""
    barrier = threading.Barrier(len(dbs))
    results: list[T | None] = [None] * len(dbs)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i, dbs[i])
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(dbs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _article(url: str, text: str, outlet: str = "Wire") -> Article:
    return Article(url=url, title="Harbour strike", outlet=outlet,
                   text=f"{text}\nDock workers walked out.\nTalks resume on Thursday.")


def _save(article: Article) -> Callable[[int, Database], articles.SaveResult]:
    def work(_: int, db: Database) -> articles.SaveResult:
        with db.write() as session:
            return articles.save_article(session, article)
    return work


def _count(db: Database, column: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]


def test_same_article_saved_at_once_is_stored_once(dbs: list[Database]) -> None:
    for n in range(ROUNDS):
        article = _article(f"https://example.com/same/{n}", f"Round {n}.")
        results = hammer(dbs, _save(article))
        statuses = Counter(r.status for r in results)
        assert statuses == {"created": 1, "unchanged": WORKERS - 1}
        assert len({r.article_id for r in results}) == 1
    assert _count(dbs[0], ArticleRow.id) == ROUNDS


def test_same_url_with_different_texts_keeps_one_row(dbs: list[Database]) -> None:
    """Different texts take different content locks: the unique key_url settles it (savepoint)."""
    for n in range(ROUNDS):
        url = f"https://example.com/edited/{n}"

        def edit(i: int, db: Database, n: int = n, url: str = url) -> articles.SaveResult:
            return _save(_article(url, f"Version {i} of round {n}."))(i, db)

        results = hammer(dbs, edit)
        statuses = Counter(r.status for r in results)
        assert statuses["created"] == 1
        assert set(statuses) <= {"created", "updated", "unchanged"}
        assert len({r.article_id for r in results}) == 1
    assert _count(dbs[0], ArticleRow.id) == ROUNDS


def test_same_text_under_many_urls_is_one_article(dbs: list[Database]) -> None:
    """One outlet serving one text under several URLs at once: one row, the rest duplicates."""
    for n in range(ROUNDS):
        def copy(i: int, db: Database, n: int = n) -> articles.SaveResult:
            return _save(_article(f"https://example.com/r{n}/copy-{i}", f"Shared text {n}."))(
                i, db)

        results = hammer(dbs, copy)
        statuses = Counter(r.status for r in results)
        assert statuses == {"created": 1, "duplicate": WORKERS - 1}
    assert _count(dbs[0], ArticleRow.id) == ROUNDS


def _seed_articles(db: Database, count: int) -> list[int]:
    with db.write() as session:
        return [articles.save_article(session, _article(f"https://example.com/t/{i}",
                                                        f"Tagged story {i}.")).article_id
                for i in range(count)]


def test_new_tags_created_by_many_workers_at_once(dbs: list[Database]) -> None:
    ids = _seed_articles(dbs[0], WORKERS)
    for n in range(ROUNDS):
        slugs = [f"Topic{n}x{k}" for k in range(5)]

        def work(i: int, db: Database, slugs: list[str] = slugs) -> None:
            mine = [Tag(slug=s, name=s, kind="topic", score=1.0 / (k + 1))
                    for k, s in enumerate(slugs)]
            random.Random(i).shuffle(mine)  # every worker in its own order: no deadlock
            with db.write() as session:
                tags.set_article_tags(session, ids[i], mine)

        hammer(dbs, work)
        with dbs[0].read() as session:
            stored = Counter(session.scalars(select(TagRow.slug).where(TagRow.slug.in_(slugs))))
            links = session.scalar(select(func.count()).select_from(ArticleTagRow).join(
                TagRow, TagRow.id == ArticleTagRow.tag_id).where(TagRow.slug.in_(slugs)))
        assert stored == dict.fromkeys(slugs, 1)
        assert links == WORKERS * len(slugs)


def test_one_article_enriched_twice_at_once(dbs: list[Database]) -> None:
    """Two enrichers on one article: tag links and the MinHash signature are upserts."""
    (article_id,) = _seed_articles(dbs[0], 1)
    for n in range(ROUNDS):
        def work(i: int, db: Database, n: int = n) -> None:
            with db.write() as session:
                tags.set_article_tags(session, article_id, [
                    Tag(slug=f"Shared{k}", name=f"Shared {k}", kind="topic", score=float(i))
                    for k in range(3)])
                dedup.save_signature(session, article_id, f"sig {n} {i}".encode())

        hammer(dbs, work)
        with dbs[0].read() as session:
            scores = set(session.scalars(select(ArticleTagRow.score).where(
                ArticleTagRow.article_id == article_id)))
            signature = session.scalar(select(ArticleSignatureRow.minhash))
        assert len(scores) == 1  # one writer's links, never a mix or a failure
        assert signature is not None and signature.startswith(f"sig {n} ".encode())
    assert _count(dbs[0], ArticleTagRow.tag_id) == 3
    assert _count(dbs[0], ArticleSignatureRow.article_id) == 1
