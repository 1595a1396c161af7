"""The store on both backends: migrations, idempotent saves, search, sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from newsdesk.model import Article
from newsdesk.store import articles, search, sources
from newsdesk.store.db import Database


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _article(n: int, outlet: str = "Wire", **kw: object) -> Article:
    return Article(url=f"https://example.com/{n}", title=f"Harbour strike day {n}",
                   text=f"Dock workers walked out on day {n}.\nTalks resume on Thursday.",
                   outlet=outlet, **kw)  # type: ignore[arg-type]


def test_migrate_twice_is_a_no_op(db: Database) -> None:
    db.migrate()
    with db.read() as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_sqlite_keeps_fts_triggers(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    with db.read() as session:
        names = {r[0] for r in session.execute(
            text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
        mode = session.execute(text("PRAGMA journal_mode")).scalar()
    assert {"articles_ai", "articles_ad", "articles_au"} <= names
    assert mode == "wal"


def test_save_is_idempotent_and_updates_edits(db: Database) -> None:
    with db.write() as session:
        first = articles.save_article(session, _article(1))
        again = articles.save_article(session, _article(1))
        edited = _article(1)
        edited.text += "\nA late paragraph."
        updated = articles.save_article(session, edited)
        moved = _article(1)
        moved.text = edited.text
        moved.url = "https://example.com/amp/1"  # same outlet, same text, another URL
        dup = articles.save_article(session, moved)
    assert first.status == "created"
    assert again == articles.SaveResult(first.article_id, "unchanged")
    assert updated == articles.SaveResult(first.article_id, "updated")
    assert dup == articles.SaveResult(first.article_id, "duplicate")
    with db.read() as session:
        assert articles.count_articles(session) == 1


def test_failed_write_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        articles.save_article(session, _article(7))
        raise RuntimeError("crash mid-way")
    with db.read() as session:
        assert articles.count_articles(session) == 0


def test_latest_is_newest_first(db: Database) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    with db.write() as session:
        for n in range(5):
            articles.save_article(session, _article(n, published_at=base + timedelta(hours=n)))
    with db.read() as session:
        rows = articles.latest_articles(session, limit=3)
        assert [r.title for r in rows] == [f"Harbour strike day {n}" for n in (4, 3, 2)]
        assert rows[0].published_at == base + timedelta(hours=4)


@pytest.mark.parametrize("query", ["' OR 1=1--", 'NEAR(a b', '"', "col:x", "*", "a AND",
                                   "\x00", "((((", "title:harbour", "-", "^strike"])
def test_hostile_search_never_errors(db: Database, query: str) -> None:
    with db.write() as session:
        articles.save_article(session, _article(1))
    with db.read() as session:
        search.search(session, query)


def test_search_finds_words_and_filters_outlet(db: Database) -> None:
    with db.write() as session:
        articles.save_article(session, _article(1, outlet="A"))
        articles.save_article(session, Article(url="https://e.com/x", title="Glacier melt",
                                               text="Satellites map glaciers.", outlet="B"))
    with db.read() as session:
        assert [h.article.outlet for h in search.search(session, "dock workers")] == ["A"]
        assert search.search(session, "glaciers", outlet="A") == []
        assert [h.article.title for h in search.search(session, "glacier")] == ["Glacier melt"]


def test_failing_source_backs_off_exponentially_capped(db: Database) -> None:
    schedule = sources.Schedule(min_minutes=5, max_backoff_minutes=60)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with db.write() as session:
        src, _ = sources.add_source(session, "https://feeds.example.com/rss")
        waits = []
        for _ in range(6):
            sources.record_failure(session, src, schedule, "boom", now=now)
            assert src.next_check_at is not None
            waits.append((src.next_check_at - now).total_seconds() / 60)
        assert waits == [5, 10, 20, 40, 60, 60]
        assert src.last_error == "boom" and src.error_count == 6
        sources.record_success(session, src, schedule, etag='"x"', last_modified=None, now=now)
        assert src.error_count == 0 and src.last_error == ""
    with db.read() as session:
        assert sources.due_sources(session, now=now) == []
        assert len(sources.due_sources(session, now=now + timedelta(days=2))) == 1
