"""Storage of MinHash signatures and copy groups (``articles.duplicate_of``).

A copy group is an original (``duplicate_of IS NULL``) and the articles whose
``duplicate_of`` points at it; the original is the group's earliest article, so
"also published by ..." lists the others in the order they appeared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from newsdesk.store.tables import ArticleRow, ArticleSignatureRow
from newsdesk.store.upsert import insert_for


def save_signature(session: Session, article_id: int, data: bytes) -> None:
    """Insert or replace an article's signature.

    One upsert rather than "get, then add": two workers enriching the same
    article at once must not fail on the primary key.
    """
    stmt = insert_for(session, ArticleSignatureRow).values(article_id=article_id, minhash=data)
    session.execute(stmt.on_conflict_do_update(index_elements=["article_id"],
                                               set_={"minhash": stmt.excluded.minhash}))


def iter_signatures(session: Session, batch: int = 5000) -> Iterator[tuple[int, bytes]]:
    """All stored signatures, in id order, streamed in batches."""
    last = 0
    while True:
        rows = session.execute(
            select(ArticleSignatureRow.article_id, ArticleSignatureRow.minhash)
            .where(ArticleSignatureRow.article_id > last)
            .order_by(ArticleSignatureRow.article_id).limit(batch)).all()
        if not rows:
            return
        for article_id, data in rows:
            yield int(article_id), bytes(data)
        last = int(rows[-1][0])


def mark_duplicate(session: Session, article_id: int, original_id: int | None) -> None:
    """Point an article at its group's original (None: it is an original)."""
    row = session.get(ArticleRow, article_id)
    if row is not None and row.duplicate_of != original_id:
        row.duplicate_of = original_id
        session.flush()


def group_members(session: Session, article_ids: Iterable[int]) -> list[int]:
    """Every article in the copy groups of these articles (originals and copies)."""
    ids = list(article_ids)
    if not ids:
        return []
    roots = {int(r if r is not None else i) for i, r in session.execute(
        select(ArticleRow.id, ArticleRow.duplicate_of).where(ArticleRow.id.in_(ids)))}
    members = session.scalars(select(ArticleRow.id).where(
        or_(ArticleRow.id.in_(roots), ArticleRow.duplicate_of.in_(roots))))
    return sorted({int(m) for m in members} | set(ids))


def earliest(session: Session, article_ids: Iterable[int]) -> int:
    """The article that appeared first (publication time, else ingest time, then id)."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    first = session.scalar(select(ArticleRow.id).where(ArticleRow.id.in_(list(article_ids)))
                           .order_by(when, ArticleRow.id).limit(1))
    if first is None:
        raise LookupError("none of these articles exists")
    return int(first)


def duplicates_of(session: Session, article_id: int) -> list[ArticleRow]:
    """The other articles of this one's copy group, earliest first ("also published by")."""
    row = session.get(ArticleRow, article_id)
    if row is None:
        return []
    root = row.duplicate_of or row.id
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    stmt = (select(ArticleRow)
            .where(or_(ArticleRow.id == root, ArticleRow.duplicate_of == root),
                   ArticleRow.id != article_id)
            .order_by(when, ArticleRow.id))
    return list(session.scalars(stmt))
