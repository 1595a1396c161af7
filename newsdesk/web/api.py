"""JSON API under ``/api``: the same article objects as ``export --jsonl``.

Parameters are validated by FastAPI (bad ones give 422 JSON, never 500); ids
beyond SQLite's integer range are answered 404 before they reach the driver.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from newsdesk.store import articles, search
from newsdesk.store.serialize import article_json
from newsdesk.web.render import db_of

router = APIRouter(prefix="/api", tags=["api"])

MAX_LIMIT = 100
MAX_ID = 2**63 - 1
MAX_QUERY = 500

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
        return article_json(session, row)


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
