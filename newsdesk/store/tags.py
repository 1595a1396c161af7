"""Hashtag storage: canonical tags, their links to articles, tag pages and trending tags.

Tags are upserted by slug (the canonical ``#NorthKorea`` form), so every
article that mentions North Korea, DPRK or Pyongyang-as-government links to the
same row. Writes are ``INSERT ... ON CONFLICT`` (the dialect's own insert), so
two workers tagging articles with the same new tag at the same moment both
end up linked to the one row instead of one failing on the unique slug.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsdesk.model import Tag
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow
from newsdesk.store.upsert import insert_for


def set_article_tags(session: Session, article_id: int, tags: Iterable[Tag]) -> None:
    """Replace an article's tags (re-tagging after an edit must not leave stale links).

    New tags are inserted with ON CONFLICT DO NOTHING and then all are read
    back by slug, links are upserted: a few statements per article whatever
    its tag count, and race-free against another worker doing the same. Rows
    go in slug order so two transactions take their locks in the same order
    and cannot deadlock on PostgreSQL.
    """
    unique: dict[str, Tag] = {}
    for tag in tags:
        unique.setdefault(tag.slug, tag)
    session.execute(delete(ArticleTagRow).where(ArticleTagRow.article_id == article_id))
    if not unique:
        return
    slugs = sorted(unique)
    session.execute(insert_for(session, TagRow).on_conflict_do_nothing(
        index_elements=["slug"]), [
        {"slug": s, "name": unique[s].name[:256], "kind": unique[s].kind} for s in slugs])
    ids = dict(session.execute(select(TagRow.slug, TagRow.id).where(TagRow.slug.in_(slugs))).all())
    links = insert_for(session, ArticleTagRow)
    session.execute(links.on_conflict_do_update(
        index_elements=["article_id", "tag_id"], set_={"score": links.excluded.score}), [
        {"article_id": article_id, "tag_id": ids[s], "score": unique[s].score} for s in slugs])


def article_tags(session: Session, article_id: int) -> list[TagRow]:
    """An article's tags, most salient first."""
    stmt = (select(TagRow).join(ArticleTagRow, ArticleTagRow.tag_id == TagRow.id)
            .where(ArticleTagRow.article_id == article_id)
            .order_by(ArticleTagRow.score.desc(), TagRow.slug))
    return list(session.scalars(stmt))


def tag_by_slug(session: Session, slug: str) -> TagRow | None:
    """A tag by its slug, case-insensitively (``/tags/northkorea`` works too)."""
    exact = session.scalars(select(TagRow).where(TagRow.slug == slug)).first()
    if exact is not None:
        return exact
    return session.scalars(
        select(TagRow).where(func.lower(TagRow.slug) == slug.lower()).limit(1)).first()


def articles_for_tag(session: Session, slug: str, limit: int = 30,
                     offset: int = 0) -> list[ArticleRow]:
    """A tag page: its articles, newest first, syndicated copies left out."""
    tag = tag_by_slug(session, slug)
    if tag is None:
        return []
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    stmt = (select(ArticleRow).join(ArticleTagRow, ArticleTagRow.article_id == ArticleRow.id)
            .where(ArticleTagRow.tag_id == tag.id, ArticleRow.duplicate_of.is_(None))
            .order_by(when.desc(), ArticleRow.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Trending:
    """A tag on the rise: recent articles and outlets, and how unusual that is."""

    tag: TagRow
    articles: int
    outlets: int
    score: float


def trending_tags(session: Session, since: datetime, limit: int = 10) -> list[Trending]:
    """Tags by distinct recent articles and outlets, discounted by their all-time frequency.

    score = (recent articles + recent outlets) * log(1 + N / all-time articles of the tag),
    an IDF-like weight, so that an evergreen tag (#UnitedStates) needs far more
    recent coverage than a fresh one (#Lyubimova) to rank first.
    """
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    recent = session.execute(
        select(ArticleTagRow.tag_id, func.count(func.distinct(ArticleRow.id)),
               func.count(func.distinct(ArticleRow.outlet)))
        .join(ArticleRow, ArticleRow.id == ArticleTagRow.article_id)
        .where(when >= since, ArticleRow.duplicate_of.is_(None))
        .group_by(ArticleTagRow.tag_id)).all()
    if not recent:
        return []
    ids = [int(tag_id) for tag_id, _, _ in recent]
    total = int(session.scalar(select(func.count(ArticleRow.id))) or 1)
    ever = dict(session.execute(
        select(ArticleTagRow.tag_id, func.count(ArticleTagRow.article_id))
        .where(ArticleTagRow.tag_id.in_(ids)).group_by(ArticleTagRow.tag_id)).all())
    rows = {t.id: t for t in session.scalars(select(TagRow).where(TagRow.id.in_(ids)))}
    ranked = []
    for tag_id, n_articles, n_outlets in recent:
        weight = math.log(1 + total / max(1, int(ever.get(tag_id, 1))))
        score = (int(n_articles) + int(n_outlets)) * weight
        ranked.append(Trending(rows[int(tag_id)], int(n_articles), int(n_outlets), score))
    ranked.sort(key=lambda t: (-t.score, t.tag.slug))
    return ranked[:limit]
