"""JSON API under ``/api``: the same article objects as ``export --jsonl``.

Parameters are validated by FastAPI (bad ones give 422 JSON, never 500); ids
beyond SQLite's integer range are answered 404 before they reach the driver.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy.orm import Session

from newsdesk.store import articles, search, stories, tags
from newsdesk.store.serialize import article_json, iso_utc, tag_json
from newsdesk.store.tables import MAX_ID, ArticleRow, StoryRow
from newsdesk.web import queries
from newsdesk.web.render import db_of, now_of, related_of

router = APIRouter(prefix="/api", tags=["api"])

MAX_LIMIT = 100
MAX_QUERY = 500
MAX_SLUG = 128

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100).")]
Offset = Annotated[int | None, Query(ge=0, le=10_000_000, description="Items to skip.")]
Page = Annotated[int | None, Query(ge=1, le=100_000, description="1-based page; or use offset.")]


def _window(limit: int, offset: int | None, page: int | None) -> int:
    """The offset from ``offset`` or ``page``; asking for both is ambiguous."""
    if offset is not None and page is not None:
        raise HTTPException(400, "Use either offset or page, not both.")
    if page is not None:
        return (page - 1) * limit
    return offset or 0


@router.get("/articles")
def list_articles(request: Request, limit: Limit = 20, offset: Offset = None,
                  page: Page = None) -> dict[str, Any]:
    """Newest first. Items leave out ``related`` (costly per item); fetch one article for it."""
    start = _window(limit, offset, page)
    with db_of(request).read() as session:
        rows = articles.latest_articles(session, limit=limit, offset=start)
        items = [article_json(session, row, with_related=False) for row in rows]
        total = articles.count_articles(session)
    return {"items": items, "total": total, "limit": limit, "offset": start}


@router.get("/articles/{article_id}")
def get_article(request: Request, article_id: int) -> dict[str, Any]:
    with db_of(request).read() as session:
        row = articles.get_article(session, article_id) if 0 < article_id <= MAX_ID else None
        if row is None:
            raise HTTPException(404, f"No article with id {article_id}.")
        return article_json(session, row, finder=related_of(request))


@router.get("/search")
def search_articles(request: Request,
                    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
                    limit: Limit = 20, offset: Offset = None,
                    page: Page = None) -> dict[str, Any]:
    """Full-text search; any string is safe (it is tokenised, never parsed as a query)."""
    start = _window(limit, offset, page)
    with db_of(request).read() as session:
        hits = search.search(session, q, limit=limit, offset=start)
        items = [dict(article_json(session, hit.article, with_related=False),
                      score=round(hit.score, 4)) for hit in hits]
    return {"query": q, "items": items, "limit": limit, "offset": start}


@router.get("/outlets")
def list_outlets(request: Request) -> dict[str, Any]:
    with db_of(request).read() as session:
        rows = articles.outlets(session)
    return {"items": [{"name": name, "articles": count} for name, count in rows]}


def _story_json(row: StoryRow) -> dict[str, Any]:
    """A story's summary, as the clusterer last saved it."""
    return {
        "id": row.id,
        "title": row.title,
        "first_seen_at": iso_utc(row.first_seen_at),
        "updated_at": iso_utc(row.updated_at),
        "article_count": row.article_count,
        "outlet_count": row.outlet_count,
        "first_outlet": row.first_outlet,
        "lead_article_id": row.lead_article_id,
        "topic_id": row.topic_id,
    }


@router.get("/stories")
def list_stories(request: Request, limit: Limit = 20, offset: Offset = None,
                 page: Page = None) -> dict[str, Any]:
    """Stories in front-page order: broad, fresh coverage first."""
    start = _window(limit, offset, page)
    with db_of(request).read() as session:
        rows = stories.latest_stories(session, limit=limit, offset=start, now=now_of(request))
        items = [_story_json(row) for row in rows]
        total = stories.count_stories(session)
    return {"items": items, "total": total, "limit": limit, "offset": start}


def _story_article(row: ArticleRow) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "outlet": row.outlet,
            "published_at": iso_utc(row.published_at), "url": row.url,
            "duplicate_of": row.duplicate_of}


def _story_detail(session: Session, row: StoryRow) -> dict[str, Any]:
    """Articles oldest first, outlets by first report, and the timeline of both.

    ``timeline`` entries carry ``at`` (publication, else ingest time) so
    undated articles still have a place in it.
    """
    rows = stories.story_articles(session, row.id)
    outlets = [{"outlet": c.outlet, "articles": c.articles,
                "first_published_at": iso_utc(c.first_at)}
               for c in stories.story_outlets(session, row.id)]
    timeline = [{"at": iso_utc(a.sort_time), "id": a.id, "outlet": a.outlet, "title": a.title}
                for a in rows]
    return dict(_story_json(row), articles=[_story_article(a) for a in rows],
                outlets=outlets, timeline=timeline,
                more_on_topic=[_story_json(s) for s in stories.topic_stories(session, row)])


@router.get("/stories/{story_id}")
def get_story(request: Request, story_id: int) -> dict[str, Any]:
    with db_of(request).read() as session:
        row = stories.get_story(session, story_id) if 0 < story_id <= MAX_ID else None
        if row is None:
            raise HTTPException(404, f"No story with id {story_id}.")
        return _story_detail(session, row)


@router.get("/tags/{tag}")
def get_tag(request: Request, tag: str, limit: Limit = 20, offset: Offset = None,
            page: Page = None) -> dict[str, Any]:
    """A hashtag and its articles, newest first, syndicated copies left out."""
    start = _window(limit, offset, page)
    with db_of(request).read() as session:
        row = tags.tag_by_slug(session, tag) if len(tag) <= MAX_SLUG else None
        if row is None:
            raise HTTPException(404, f"No tag {tag[:MAX_SLUG]!r}.")
        hits = tags.articles_for_tag(session, row.slug, limit=limit, offset=start)
        items = [article_json(session, a, with_related=False) for a in hits]
        total = queries.count_tag_articles(session, row.id)
        return {"tag": tag_json(row), "items": items, "total": total,
                "limit": limit, "offset": start}
