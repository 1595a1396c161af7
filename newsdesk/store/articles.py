"""Article repository: idempotent writes and the reads the reader needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsdesk.model import Article
from newsdesk.store.tables import ArticleRow, utcnow


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


def known_urls(session: Session, urls: list[str]) -> set[str]:
    """Which of ``urls`` are stored (as fetched or canonical URL): one query per 300 URLs.

    A feed refresh asks this for all its entries at once instead of one
    ``find_by_url`` round trip per entry.
    """
    found: set[str] = set()
    for start in range(0, len(urls), 300):
        chunk = urls[start:start + 300]
        stmt = select(ArticleRow.key_url, ArticleRow.url, ArticleRow.canonical_url).where(or_(
            ArticleRow.key_url.in_(chunk), ArticleRow.url.in_(chunk),
            ArticleRow.canonical_url.in_(chunk)))
        for row in session.execute(stmt):
            found.update(row)
    return found.intersection(urls)


def save_article(session: Session, article: Article, source_id: int | None = None) -> SaveResult:
    """Insert or update one article, idempotently, and safely against concurrent writers.

    The canonical URL identifies an article; the content hash tells an edit
    (same URL, new text: update in place) from a re-ingest (same text: nothing)
    and catches one outlet serving the same text under two URLs.

    Several workers may save the same article at once. On PostgreSQL a
    transaction-scoped advisory lock on (outlet, content hash) serialises saves
    of the same text, so the twin check below sees the other's committed row;
    the insert itself runs in a SAVEPOINT, so losing the race on the unique
    ``key_url`` rolls back only the insert and the outer transaction goes on
    to treat the winner's row as the existing one. SQLite writers are already
    serialised by ``BEGIN IMMEDIATE``.
    """
    digest = article.content_hash
    _lock_content(session, article.outlet, digest)
    existing = find_by_url(session, article.key_url) or find_by_url(session, article.url)
    if existing is not None:
        return _save_existing(session, existing, article, digest)
    twin = session.scalars(
        select(ArticleRow).where(
            ArticleRow.content_hash == digest, ArticleRow.outlet == article.outlet
        ).limit(1)
    ).first()
    if twin is not None:
        return SaveResult(twin.id, "duplicate")
    return _insert(session, article, digest, source_id)


def _save_existing(session: Session, existing: ArticleRow, article: Article,
                   digest: str) -> SaveResult:
    if existing.content_hash == digest and existing.title == article.title:
        return SaveResult(existing.id, "unchanged")
    _apply(existing, article, digest)
    session.flush()
    return SaveResult(existing.id, "updated")


def _insert(session: Session, article: Article, digest: str,
            source_id: int | None) -> SaveResult:
    """Insert a new row in a savepoint; a concurrent insert of the same key_url wins.

    Only a unique violation whose winning row is then visible is a lost race;
    any other integrity error (a vanished source, say) is raised as it is.
    """
    row = ArticleRow(key_url=article.key_url, source_id=source_id)
    _apply(row, article, digest)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = session.scalars(
            select(ArticleRow).where(ArticleRow.key_url == article.key_url)).first()
        if winner is None:
            raise
        return _save_existing(session, winner, article, digest)
    return SaveResult(row.id, "created")


def _lock_content(session: Session, outlet: str, digest: str) -> None:
    """PostgreSQL: hold a transaction lock on this outlet's text until commit.

    Without it two workers saving the same text under two URLs would both
    miss the other's uncommitted row and store the article twice.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = hashlib.blake2b(f"article|{outlet}|{digest}".encode(), digest_size=8).digest()
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": int.from_bytes(key, "big", signed=True)})


def save_articles(session: Session, articles: list[Article],
                  source_id: int | None = None) -> list[SaveResult]:
    """Save a batch (one feed's new items) with the outcome ``save_article`` gives each.

    The common case, a new URL with a new text, costs two set-wise queries and
    one multi-row INSERT for the whole batch instead of four statements per
    article. Anything else (a stored URL, a text this outlet already has or
    that repeats within the batch, an insert race lost to another worker) goes
    through ``save_article`` one by one, after the batch insert, so it sees it.
    """
    digests = [a.content_hash for a in articles]
    for outlet, digest in sorted({(a.outlet, d) for a, d in zip(articles, digests, strict=True)}):
        _lock_content(session, outlet, digest)
    known = known_urls(session, [u for a in articles for u in (a.key_url, a.url)])
    stored = _stored_texts(session, digests)
    fast: list[int] = []
    slow: list[int] = []
    seen: set[object] = set()
    for i, (article, digest) in enumerate(zip(articles, digests, strict=True)):
        marks = {article.key_url, (article.outlet, digest)}
        clash = {article.key_url, article.url} & known or (article.outlet, digest) in stored
        (slow if clash or marks & seen else fast).append(i)
        seen |= marks
    results: dict[int, SaveResult] = {}
    try:
        with session.begin_nested():
            results.update(_insert_many(session, articles, digests, fast, source_id))
    except IntegrityError:
        slow = sorted(slow + fast)  # another worker won a key_url: settle each on its own
    for i in slow:
        results[i] = save_article(session, articles[i], source_id)
    return [results[i] for i in range(len(articles))]


def _stored_texts(session: Session, digests: list[str]) -> set[tuple[str, str]]:
    """(outlet, content hash) pairs already stored among these hashes."""
    stmt = select(ArticleRow.outlet, ArticleRow.content_hash).where(
        ArticleRow.content_hash.in_(set(digests)))
    return {(outlet, digest) for outlet, digest in session.execute(stmt)}


def _insert_many(session: Session, articles: list[Article], digests: list[str],
                 which: list[int], source_id: int | None) -> dict[int, SaveResult]:
    if not which:
        return {}
    rows = []
    for i in which:
        row = ArticleRow(key_url=articles[i].key_url, source_id=source_id, ingested_at=utcnow())
        _apply(row, articles[i], digests[i])
        rows.append({c.key: getattr(row, c.key) for c in _INSERT_COLUMNS})
    stmt = insert(ArticleRow).returning(ArticleRow.id, sort_by_parameter_order=True)
    ids = session.scalars(stmt, rows).all()
    return {i: SaveResult(int(article_id), "created")
            for i, article_id in zip(which, ids, strict=True)}


_INSERT_COLUMNS = [c for c in ArticleRow.__table__.columns
                   if c.key not in ("id", "story_id", "duplicate_of", "enriched_at",
                                    "search_vector")]


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
