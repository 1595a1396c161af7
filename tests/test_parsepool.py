"""A refresh of many sources: parse processes give the same results, a crash costs one
feed, and 304s are recorded in batches."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import update

from newsdesk.config import Settings
from newsdesk.eval.feedfarm import FarmSpec, FeedFarm
from newsdesk.ingest.entries import parse_source
from newsdesk.ingest.feeds import FeedError
from newsdesk.ingest.parsepool import ParsePool, ParserCrashed, pool_size
from newsdesk.ingest.pipeline import CHECK_BATCH, MIN_SOURCES_FOR_PARSE_POOL, Pipeline
from newsdesk.store import articles as article_store
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import SourceRow


def die_if_asked(document: bytes) -> bytes:
    """What a C parser crashing on a hostile document looks like to the pool."""
    if document == b"crash":
        os._exit(3)
    return document


def test_pool_size_is_one_per_spare_core_unless_set() -> None:
    assert pool_size(-1, cpus=2) == 1
    assert pool_size(-1, cpus=1) == 0
    assert pool_size(-1, cpus=64) == 4
    assert pool_size(0, cpus=64) == 0 and pool_size(3, cpus=1) == 3


def test_a_dead_parse_process_fails_its_call_and_the_next_call_works() -> None:
    async def scenario(pool: ParsePool) -> None:
        assert await pool.run(die_if_asked, b"fine") == b"fine"
        with pytest.raises(ParserCrashed):
            await pool.run(die_if_asked, b"crash")
        assert await pool.run(die_if_asked, b"again") == b"again"
        with pytest.raises(FeedError, match="not a feed"):  # the child's error, as raised
            await pool.run(parse_source, "feed", b"<html></html>", "https://x.example/", "", 10)

    pool = ParsePool(1)
    try:
        asyncio.run(scenario(pool))
    finally:
        pool.close()


def _subscribe(db: Database, urls: list[str]) -> None:
    with db.write() as session:
        for url in urls:
            source_store.add_source(session, url, kind="feed")


def _ingest(settings: Settings, urls: list[str]) -> tuple[int, list[tuple[str, str, str]]]:
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        _subscribe(db, urls)
        report = asyncio.run(Pipeline(settings, db).run_due())
        assert report.errors == [] and report.failed_sources == 0
        with db.read() as session:
            rows = article_store.latest_articles(session, limit=10_000)
            return report.created, sorted((r.url, r.title, r.text) for r in rows)
    finally:
        db.dispose()


@pytest.mark.parametrize("crawl", ["auto", "always"])  # feed text / every page extracted
def test_a_refresh_with_parse_processes_stores_what_one_without_stores(
        settings: Settings, crawl: str) -> None:
    feeds = MIN_SOURCES_FOR_PARSE_POOL + 2
    settings = settings.with_(crawl_pages=crawl, database_url="")  # SQLite on either backend:
    with FeedFarm(FarmSpec(feeds=feeds, items=4, words=200)) as farm:  # this is about parsing
        alone = _ingest(settings.with_(parse_processes=0, data_dir=settings.data_dir / "alone"),
                        farm.feed_urls)
        pooled = _ingest(settings.with_(parse_processes=1, data_dir=settings.data_dir / "pool"),
                         farm.feed_urls)
        assert farm.stats().pages == (2 * feeds * 4 if crawl == "always" else 0)
    assert alone[0] == pooled[0] == feeds * 4
    assert alone[1] == pooled[1]


def test_a_run_of_many_304s_records_every_check_in_batches(settings: Settings,
                                                           db: Database) -> None:
    feeds = CHECK_BATCH + 5  # one full batch and a remainder
    with FeedFarm(FarmSpec(feeds=feeds, items=1, words=200)) as farm:
        _subscribe(db, farm.feed_urls)
        first = asyncio.run(Pipeline(settings, db).run_due())
        assert first.created == feeds
        with db.write() as session:
            session.execute(update(SourceRow).values(next_check_at=None))
        second = asyncio.run(Pipeline(settings, db).run_due())
        assert second.not_modified == feeds and second.errors == []
    with db.read() as session:
        rows = source_store.list_sources(session)
        assert len(rows) == feeds
        assert all(r.next_check_at is not None and r.error_count == 0 for r in rows)
        assert all(r.etag for r in rows)  # validators kept for the next conditional GET
