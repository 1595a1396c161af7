"""Article repository: idempotent writes and the reads the reader needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from newsdesk.model import Article
from newsdesk.store.tables import ArticleRow


@dataclass(frozen=True)
class SaveResult:
    """What happened to one article on save."""

    article_id: int
    status: str  # "created" | "updated" | "unchanged" | "duplicate"


def find_by_url(session: Session, url: str) -> ArticleRow | None:
    """An article stored under this URL, fetched or canonical."""
    stmt = select(ArticleRow).where(
        or_(ArticleRow.key_url == url, ArticleRow.url == url, ArticleRow.canonical_url == url)
    )
    return session.scalars(stmt.limit(1)).first()


def save_article(session: Session, article: Article, source_id: int | None = None) -> SaveResult:
    """Insert or update one article, idempotently.

    The canonical URL identifies an article; the content hash tells an edit
    (same URL, new text: update in place) from a re-ingest (same text: nothing)
    and catches one outlet serving the same text under two URLs.
    """
    digest = article.content_hash
    existing = find_by_url(session, article.key_url) or find_by_url(session, article.url)
    if existing is not None:
        if existing.content_hash == digest and existing.title == article.title:
            return SaveResult(existing.id, "unchanged")
        _apply(existing, article, digest)
        session.flush()
        return SaveResult(existing.id, "updated")
    twin = session.scalars(
        select(ArticleRow).where(
            ArticleRow.content_hash == digest, ArticleRow.outlet == article.outlet
        ).limit(1)
    ).first()
    if twin is not None:
        return SaveResult(twin.id, "duplicate")
    row = ArticleRow(key_url=article.key_url, source_id=source_id)
    _apply(row, article, digest)
    session.add(row)
    session.flush()
    return SaveResult(row.id, "created")


def _apply(row: ArticleRow, article: Article, digest: str) -> None:
    row.url = article.url
    row.canonical_url = article.canonical_url
    row.content_hash = digest
    row.title = article.title
    row.text = article.text
    row.outlet = article.outlet
    row.byline = article.byline
    row.published_at = article.published_at
    row.language = article.language
    row.copyright = article.copyright
    row.image = article.image
    row.description = article.description
    row.word_count = len(article.text.split())


def get_article(session: Session, article_id: int) -> ArticleRow | None:
    return session.get(ArticleRow, article_id)


def _newest_first() -> tuple[object, ...]:
    """Publication time, newest first; undated articles (old corpora) after the dated ones."""
    return (ArticleRow.published_at.desc().nulls_last(), ArticleRow.id.desc())


def latest_articles(
    session: Session, *, limit: int = 30, offset: int = 0, outlet: str | None = None
) -> list[ArticleRow]:
    """Newest first by publication time; articles without a known date come last."""
    stmt = select(ArticleRow)
    if outlet is not None:
        stmt = stmt.where(ArticleRow.outlet == outlet)
    stmt = stmt.order_by(*_newest_first()).limit(limit).offset(offset)  # type: ignore[arg-type]
    return list(session.scalars(stmt))


def count_articles(session: Session, outlet: str | None = None) -> int:
    stmt = select(func.count(ArticleRow.id))
    if outlet is not None:
        stmt = stmt.where(ArticleRow.outlet == outlet)
    return int(session.scalar(stmt) or 0)


def outlets(session: Session) -> list[tuple[str, int]]:
    """Outlets with their article counts, most prolific first."""
    stmt = (
        select(ArticleRow.outlet, func.count(ArticleRow.id))
        .where(ArticleRow.outlet != "")
        .group_by(ArticleRow.outlet)
        .order_by(func.count(ArticleRow.id).desc(), ArticleRow.outlet)
    )
    return [(name, int(n)) for name, n in session.execute(stmt)]
