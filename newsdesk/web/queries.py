"""Reads the reader needs that the store does not offer as such.

Kept beside the pages rather than in ``newsdesk.store`` because they exist
for presentation: a "Latest" list that shows each syndicated text once, a tag
page count, and a trending list that is never empty on an old corpus.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsdesk.store import tags
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow
from newsdesk.web.coverage import tag_path

TRENDING_WINDOW = timedelta(hours=48)
TRENDING_TTL_SECONDS = 30.0

T = TypeVar("T")


def latest_originals(session: Session, *, limit: int, offset: int = 0) -> list[ArticleRow]:
    """Newest first like ``articles.latest_articles``, but copies hidden (shown once)."""
    stmt = (select(ArticleRow).where(ArticleRow.duplicate_of.is_(None))
            .order_by(ArticleRow.published_at.desc().nulls_last(), ArticleRow.id.desc())
            .limit(limit).offset(offset))
    return list(session.scalars(stmt))


def count_originals(session: Session) -> int:
    """How many articles the "Latest" list pages through."""
    stmt = select(func.count(ArticleRow.id)).where(ArticleRow.duplicate_of.is_(None))
    return int(session.scalar(stmt) or 0)


def count_tag_articles(session: Session, tag_id: int) -> int:
    """Articles on a tag page (copies hidden, as ``tags.articles_for_tag`` hides them)."""
    stmt = (select(func.count(ArticleRow.id))
            .join(ArticleTagRow, ArticleTagRow.article_id == ArticleRow.id)
            .where(ArticleTagRow.tag_id == tag_id, ArticleRow.duplicate_of.is_(None)))
    return int(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class TagCount:
    """A tag with the number of articles behind its place in a sidebar list."""

    slug: str
    name: str
    kind: str
    articles: int

    @property
    def path(self) -> str:
        return tag_path(self.slug)


def popular_tags(session: Session, limit: int = 10) -> list[TagCount]:
    """The most used tags overall, for when nothing is recent enough to trend."""
    n = func.count(ArticleTagRow.article_id)
    stmt = (select(TagRow, n).join(ArticleTagRow, ArticleTagRow.tag_id == TagRow.id)
            .join(ArticleRow, ArticleRow.id == ArticleTagRow.article_id)
            .where(ArticleRow.duplicate_of.is_(None))
            .group_by(TagRow.id).order_by(n.desc(), TagRow.slug).limit(limit))
    return [TagCount(t.slug, t.name, t.kind, int(c)) for t, c in session.execute(stmt)]


def trending_or_popular(session: Session, now: datetime,
                        limit: int = 10) -> tuple[list[TagCount], bool]:
    """Trending tags of the last 48 hours, else the most used ones; the flag says which.

    An imported archive (or an undated corpus) has nothing "recent", and an
    empty sidebar would hide the tags altogether, so it falls back.
    """
    recent = tags.trending_tags(session, since=now - TRENDING_WINDOW, limit=limit)
    if recent:
        return [TagCount(t.tag.slug, t.tag.name, t.tag.kind, t.articles) for t in recent], True
    return popular_tags(session, limit), False


class Memo:
    """Values that are costly to compute and may be a little stale, kept ``ttl`` seconds.

    Trending tags aggregate every tag of the last two days: a few hundred
    milliseconds at 10k articles, on every front page view. Thirty seconds
    of staleness is invisible to a reader and turns that into one query per
    process per half minute. (A plain dict and a lock: cachetools would add a
    dependency for ten lines.)
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[str, tuple[float, object, object]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, key: object, make: Callable[[], T]) -> T:
        """``make()``'s value under ``name``, reused while fresh and made for the same ``key``.

        One slot per name: a new key (the reader's clock moved to another
        minute) replaces the old value instead of piling up beside it.
        """
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(name)
        if hit is not None and hit[1] == key and now - hit[0] < self.ttl:
            return hit[2]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._data[name] = (now, key, value)
        return value
