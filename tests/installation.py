"""A small but complete installation for the migrate and check tests.

Articles from two outlets (one syndicated copy whose original has the higher
id, so ``duplicate_of`` points forward), enriched with the real embedder
(tags, signatures, vectors, stories, the HNSW file), and a reader with a
comment, a reply, a follow and a saved article: a row in every table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from newsdesk.config import Settings
from newsdesk.model import Article
from newsdesk.store import articles, sources
from newsdesk.store.db import Database
from newsdesk.store.tables import (
    ApiTokenRow,
    ArticleRow,
    ArticleStateRow,
    CommentReportRow,
    CommentRow,
    FollowRow,
    LoginAttemptRow,
    UserRow,
    UserSessionRow,
)

T0 = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)

_HARBOUR = (
    "Dock workers at the Rotterdam harbour walked out on Monday after talks over pay and "
    "night shifts collapsed late on Sunday evening. The union said cargo ships would wait "
    "offshore until the port authority returned with a better offer for the crane crews. "
    "Exporters warned that perishable goods could spoil within days if the strike lasted. "
    "Talks are expected to resume in Amsterdam on Thursday with a mediator from Europe.")
_VOLCANO = (
    "A volcano on the Iceland coast erupted before dawn, sending ash several kilometres "
    "into the sky and forcing the closure of two regional airports for the whole day. "
    "Villagers living on the slopes were evacuated by bus to schools in the capital while "
    "scientists from Reykjavik measured sulphur emissions from a research vessel offshore. "
    "No injuries were reported, and flights are expected to restart once the wind shifts.")
_CHESS = (
    "The chess olympiad opened in the old exhibition hall with teams from ninety countries "
    "competing over eleven rounds of classical games across the next fortnight of play. "
    "The defending champions fielded a young squad after two veterans withdrew with illness. "
    "Organisers installed electronic boards so that spectators online could follow moves live, "
    "and a new anti cheating protocol screens every player before the round begins.")


def _article(url: str, title: str, text: str, outlet: str, published: datetime | None,
             canonical: str = "") -> Article:
    return Article(url=url, canonical_url=canonical, title=title, text=text, outlet=outlet,
                   byline="Staff", published_at=published, language="en")


def seed_articles() -> list[Article]:
    """Five articles; the third copies the second's text but was published earlier."""
    return [
        _article("https://wire.example/harbour", "Harbour strike halts cargo", _HARBOUR,
                 "Wire", T0, canonical="https://wire.example/harbour"),
        _article("https://daily.example/volcano", "Volcano erupts before dawn", _VOLCANO,
                 "Daily", T0 + timedelta(hours=2)),
        _article("https://herald.example/volcano-copy", "Island volcano erupts", _VOLCANO,
                 "Herald", T0 + timedelta(hours=1)),
        _article("https://daily.example/chess", "Chess olympiad opens", _CHESS, "Daily",
                 T0 + timedelta(hours=3)),
        _article("https://wire.example/undated", "Harbour talks to resume",
                 _HARBOUR.replace("Monday", "Tuesday") + " Ferries were not affected.",
                 "Wire", None),
    ]


def build(settings: Settings, db: Database, embedder: object) -> list[int]:
    """Fill ``db`` (already migrated) with a complete installation; returns the article ids."""
    from newsdesk.enrich.enricher import Enricher

    with db.write() as session:
        source, _ = sources.add_source(session, "https://wire.example/feed.xml", title="Wire")
        ids = [articles.save_article(session, a, source.id).article_id for a in seed_articles()]
    Enricher(settings, db, embedder=embedder).enrich(ids)  # type: ignore[arg-type]
    _add_reader(db, ids)
    return ids


def _add_reader(db: Database, ids: list[int]) -> None:
    with db.write() as session:
        user = UserRow(username="ada", password_hash="x", is_admin=True, created_at=T0)
        session.add(user)
        session.flush()
        story_id = session.scalar(select(ArticleRow.story_id).where(ArticleRow.id == ids[0]))
        comment = CommentRow(user_id=user.id, article_id=ids[0], body="Good piece.",
                             created_at=T0)
        session.add(comment)
        session.flush()
        session.add_all([
            CommentRow(user_id=user.id, story_id=story_id, parent_id=comment.id,
                       body="Agreed.", created_at=T0, edited_at=T0 + timedelta(minutes=5)),
            CommentReportRow(comment_id=comment.id, user_id=user.id, reason="test",
                             resolved=True, created_at=T0),
            UserSessionRow(token_hash="s" * 64, user_id=user.id, csrf_token="c" * 32,
                           created_at=T0, expires_at=T0 + timedelta(days=30)),
            ApiTokenRow(user_id=user.id, token_hash="t" * 64, kind="fever", label="reader",
                        created_at=T0),
            LoginAttemptRow(key="ip:127.0.0.1", at=T0),
            FollowRow(user_id=user.id, kind="tag", target="NorthKorea", mode="follow",
                      created_at=T0),
            ArticleStateRow(user_id=user.id, article_id=ids[1], read_at=T0, saved_at=None),
        ])


def build_template(directory: Path, embedder: object) -> tuple[Settings, list[int]]:
    """A complete SQLite installation in ``directory``, to copy into each test's database."""
    settings = Settings(data_dir=directory, sample="")
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        ids = build(settings, db, embedder)
    finally:
        db.dispose()
    return settings, ids
