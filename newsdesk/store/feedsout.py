"""Read-only queries behind the outgoing feeds (RSS, Atom, JSON Feed).

A feed shows every item's hashtags; asking ``tags.article_tags`` once per
item would cost one query per entry, so the tags of a whole page of
articles come back from a single query here.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsdesk.store import stories
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow


def tags_for_articles(session: Session, article_ids: Sequence[int]) -> dict[int, list[TagRow]]:
    """Each article's tags, most salient first (the order ``tags.article_tags`` uses)."""
    if not article_ids:
        return {}
    stmt = (select(ArticleTagRow.article_id, TagRow)
            .join(TagRow, TagRow.id == ArticleTagRow.tag_id)
            .where(ArticleTagRow.article_id.in_(list(article_ids)))
            .order_by(ArticleTagRow.article_id, ArticleTagRow.score.desc(), TagRow.slug))
    found: dict[int, list[TagRow]] = {}
    for article_id, tag in session.execute(stmt):
        found.setdefault(int(article_id), []).append(tag)
    return found


def story_newest(session: Session, story_id: int, limit: int) -> list[ArticleRow]:
    """A story's latest articles first: a feed reader wants what is new, not the first report."""
    rows = stories.story_articles(session, story_id)
    return sorted(rows, key=lambda r: (r.sort_time, r.id), reverse=True)[:limit]
