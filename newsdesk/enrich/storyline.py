"""Persist the online clusterer's state: the write side of stories.

The clusterer (``newsdesk.enrich.cluster``) keeps live stories in memory; this
module writes each decision through to ``stories`` / ``articles.story_id`` and,
after a restart, puts the recent stories back so clustering resumes where it
stopped. Only stories updated within the clusterer's window are loaded: older
ones cannot be joined anyway (the time decay would veto it), which keeps
memory flat. Reads for pages live in ``newsdesk.store.stories``.
"""

from __future__ import annotations

from collections import defaultdict
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
    clusterer.continue_topics_after(int(session.scalar(select(func.max(StoryRow.topic_id))) or 0))
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
    row.topic_id = story.topic
    session.flush()
    story.row_id = row.id
    return row
