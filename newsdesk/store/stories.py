"""Story repository: persist the online clusterer's state and serve story pages.

The clusterer (``newsdesk.enrich.cluster``) keeps live stories in memory; this
module writes each decision through to ``stories`` / ``articles.story_id`` and,
after a restart, puts the recent stories back so clustering resumes where it
stopped. Only stories updated within the clusterer's window are loaded: older
ones cannot be joined anyway (the time decay would veto it), which keeps
memory flat.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsdesk.enrich.cluster import ArticleInput, Assignment, Story, StoryClusterer
from newsdesk.store.tables import ArticleRow, ArticleVectorRow, StoryRow, utcnow


def load_candidates(session: Session, since: datetime, limit: int = 5000,
                    members: int = 32) -> list[Story]:
    """Stories updated since ``since``, newest first, with recent member vectors if stored."""
    rows = list(session.scalars(select(StoryRow).where(StoryRow.updated_at >= since)
                                .order_by(StoryRow.updated_at.desc()).limit(limit)))
    vectors = _member_vectors(session, [r.id for r in rows], members)
    return [Story.restore(r.id, title=r.title, size=r.article_count, first_seen=r.first_seen_at,
                          first_outlet=r.first_outlet, centroid=r.centroid, terms=r.terms,
                          members=vectors.get(r.id, []), row_id=r.id) for r in rows]


def _member_vectors(session: Session, story_ids: list[int],
                    per_story: int) -> dict[int, list[np.ndarray]]:
    """The newest ``per_story`` article embeddings of each story (nearest-member signal)."""
    out: dict[int, list[np.ndarray]] = defaultdict(list)
    if not story_ids:
        return out
    stmt = (select(ArticleRow.story_id, ArticleVectorRow.vector)
            .join(ArticleVectorRow, ArticleVectorRow.article_id == ArticleRow.id)
            .where(ArticleRow.story_id.in_(story_ids))
            .order_by(ArticleRow.id.desc()))
    for story_id, blob in session.execute(stmt):
        if story_id is not None and len(out[story_id]) < per_story:
            out[story_id].append(np.frombuffer(blob, dtype=np.float32))
    return out


def resume(session: Session, clusterer: StoryClusterer, now: datetime | None = None,
           warm_articles: int = 5000) -> int:
    """Load recent stories into a fresh clusterer and warm its document frequencies.

    IDF is not stored: recounting it from the latest articles is cheap and
    keeps the stored profiles free of a number that drifts. Returns the number
    of stories loaded.
    """
    now = now or utcnow()
    since = now - timedelta(days=clusterer.config.window_days)
    stories = load_candidates(session, since, members=clusterer.config.max_members)
    clusterer.load(stories)
    recent = session.execute(select(ArticleRow.title, ArticleRow.text)
                             .order_by(ArticleRow.id.desc()).limit(warm_articles))
    for title, text in recent:
        clusterer.observe(title, text)
    return len(stories)


def cluster_article(session: Session, clusterer: StoryClusterer, article: ArticleRow,
                    embedding: np.ndarray | None = None) -> Assignment:
    """Assign one stored article to a story and write the decision through."""
    item = ArticleInput(article.id, article.title, article.text, article.sort_time,
                        article.outlet, embedding)
    assignment = clusterer.add(item)
    save_story(session, assignment.story)
    article.story_id = assignment.story.row_id
    session.flush()
    return assignment


def save_story(session: Session, story: Story) -> StoryRow:
    """Insert or update the row of one story from its in-memory state."""
    row = session.get(StoryRow, story.row_id) if story.row_id is not None else None
    if row is None:
        row = StoryRow()
        session.add(row)
    now = utcnow()
    row.title = story.title
    row.lead_article_id = story.lead if isinstance(story.lead, int) else None
    row.first_outlet = story.first_outlet
    row.first_seen_at = story.first_seen or now
    row.updated_at = story.last_seen or now
    row.article_count = story.size
    row.outlet_count = len(story.outlets)
    row.centroid = story.centroid_bytes()
    row.terms = story.terms_json()
    session.flush()
    story.row_id = row.id
    return row


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


def _hotness(row: StoryRow, now: datetime) -> float:
    age_h = max(0.0, (now - row.updated_at).total_seconds() / 3600.0)
    return (row.outlet_count + 0.25 * row.article_count) / (age_h + 2.0) ** 1.5


def count_stories(session: Session) -> int:
    return int(session.scalar(select(func.count(StoryRow.id))) or 0)
