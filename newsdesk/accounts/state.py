"""Per-reader article state: read and saved.

One ``article_states`` row per reader and article holds both timestamps, so
"saved" survives the article being read and unsaving keeps it read. Every
function takes the reader's own id from the session, never from the request,
which is what keeps one reader's state invisible to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from newsdesk.store.tables import ArticleRow, ArticleStateRow, ArticleTagRow, TagRow, utcnow


class StateError(LookupError):
    """The article does not exist."""


def _row(session: Session, user_id: int, article_id: int) -> ArticleStateRow:
    if session.get(ArticleRow, article_id) is None:
        raise StateError("We couldn't find that article.")
    row = session.get(ArticleStateRow, (user_id, article_id))
    if row is None:
        row = ArticleStateRow(user_id=user_id, article_id=article_id)
        session.add(row)
    return row


def mark_read(session: Session, user_id: int, article_id: int,
              now: datetime | None = None) -> None:
    """Record the first time the reader opened the article; later visits write nothing."""
    row = _row(session, user_id, article_id)
    if row.read_at is None:
        row.read_at = now or utcnow()
        session.flush()


def set_saved(session: Session, user_id: int, article_id: int, saved: bool,
              now: datetime | None = None) -> None:
    row = _row(session, user_id, article_id)
    row.saved_at = (row.saved_at or now or utcnow()) if saved else None
    session.flush()


@dataclass(frozen=True)
class State:
    read: bool = False
    saved: bool = False


def states(session: Session, user_id: int, article_ids: list[int]) -> dict[int, State]:
    """Read/saved flags for a page of articles in one query."""
    if not article_ids:
        return {}
    rows = session.scalars(select(ArticleStateRow).where(
        ArticleStateRow.user_id == user_id, ArticleStateRow.article_id.in_(article_ids)))
    return {r.article_id: State(r.read_at is not None, r.saved_at is not None) for r in rows}


def state_of(session: Session, user_id: int, article_id: int) -> State:
    return states(session, user_id, [article_id]).get(article_id, State())


def saved_articles(session: Session, user_id: int, limit: int = 50,
                   offset: int = 0) -> list[ArticleRow]:
    """The reader's saved articles, most recently saved first."""
    stmt = (select(ArticleRow).join(ArticleStateRow, ArticleStateRow.article_id == ArticleRow.id)
            .where(ArticleStateRow.user_id == user_id, ArticleStateRow.saved_at.is_not(None))
            .order_by(ArticleStateRow.saved_at.desc(), ArticleRow.id.desc())
            .limit(limit).offset(offset))
    return list(session.scalars(stmt))


def count_saved(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(ArticleStateRow).where(
        ArticleStateRow.user_id == user_id, ArticleStateRow.saved_at.is_not(None))) or 0)


def _is_read(user_id: int) -> object:
    return exists().where(ArticleStateRow.user_id == user_id,
                          ArticleStateRow.article_id == ArticleRow.id,
                          ArticleStateRow.read_at.is_not(None))


def unread_for_tag(session: Session, user_id: int, slug: str) -> int:
    """Articles with this tag (copies shown once) the reader has not opened."""
    stmt = (select(func.count(ArticleRow.id))
            .join(ArticleTagRow, ArticleTagRow.article_id == ArticleRow.id)
            .join(TagRow, TagRow.id == ArticleTagRow.tag_id)
            .where(TagRow.slug == slug, ArticleRow.duplicate_of.is_(None),
                   ~_is_read(user_id)))  # type: ignore[operator]
    return int(session.scalar(stmt) or 0)
