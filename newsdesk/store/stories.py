"""Story reads for the web and the API.

Writing stories is the enrich layer's job (``newsdesk.enrich.storyline``, which
persists the online clusterer's decisions); this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsdesk.store.tables import ArticleRow, StoryRow, utcnow

# -- reads for the web and the API ---------------------------------------------------


def get_story(session: Session, story_id: int) -> StoryRow | None:
    return session.get(StoryRow, story_id)


def story_articles(session: Session, story_id: int) -> list[ArticleRow]:
    """The story's timeline: oldest first, so the first report leads."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    stmt = (select(ArticleRow).where(ArticleRow.story_id == story_id)
            .order_by(when.asc(), ArticleRow.id.asc()))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class OutletCoverage:
    """One outlet's part in a story: how many articles and when it first reported."""

    outlet: str
    articles: int
    first_at: datetime


def story_outlets(session: Session, story_id: int) -> list[OutletCoverage]:
    """Outlets covering a story, in the order they first reported it ("full coverage")."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    stmt = (select(ArticleRow.outlet, func.count(ArticleRow.id), func.min(when))
            .where(ArticleRow.story_id == story_id)
            .group_by(ArticleRow.outlet))
    rows = [OutletCoverage(o or "", int(n), first) for o, n, first in session.execute(stmt)]
    return sorted(rows, key=lambda c: (c.first_at, c.outlet))


def latest_stories(session: Session, limit: int = 30, offset: int = 0,
                   now: datetime | None = None) -> list[StoryRow]:
    """Front-page order: stories many outlets cover, discounted by age (HN-style gravity).

    ``(outlets + 0.25 * articles) / (age_hours + 2) ** 1.5`` rewards breadth of
    coverage over one outlet's volume and lets a fresh single-outlet story beat
    a day-old big one. Ranked in Python over the most recently updated pool,
    which keeps the query the same on SQLite and PostgreSQL.
    """
    now = now or utcnow()
    pool = max(200, 3 * (offset + limit))
    rows = list(session.scalars(select(StoryRow).where(StoryRow.article_count > 0)
                                .order_by(StoryRow.updated_at.desc()).limit(pool)))
    rows.sort(key=lambda r: _hotness(r, now), reverse=True)
    return rows[offset:offset + limit]


def topic_stories(session: Session, story: StoryRow, limit: int = 6) -> list[StoryRow]:
    """The other stories of ``story``'s topic, latest update first ("More on this topic").

    Stories of one article are left out: a lone report is not yet a story a
    reader would open for context, and the list stays short on busy topics.
    Untitled stories are left out too: there is nothing to show for them.
    """
    if story.topic_id is None:
        return []
    stmt = (select(StoryRow)
            .where(StoryRow.topic_id == story.topic_id, StoryRow.id != story.id,
                   StoryRow.article_count > 1, StoryRow.title != "")
            .order_by(StoryRow.updated_at.desc(), StoryRow.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def _hotness(row: StoryRow, now: datetime) -> float:
    age_h = max(0.0, (now - row.updated_at).total_seconds() / 3600.0)
    return (row.outlet_count + 0.25 * row.article_count) / (age_h + 2.0) ** 1.5


def count_stories(session: Session) -> int:
    return int(session.scalar(select(func.count(StoryRow.id))) or 0)
