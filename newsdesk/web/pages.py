"""Server-rendered reader pages: front, article, story, tag, outlet, search, sources.

Each handler gathers plain view objects inside one read snapshot and renders
after it closes. Parameters are forgiving where a reader typed them (search
text is trimmed, never rejected) and strict where only links produce them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from newsdesk.store import articles, search, serialize, sources, stories, tags
from newsdesk.store.tables import MAX_ID, ArticleRow
from newsdesk.web import ai, coverage, queries, reader, views
from newsdesk.web.render import db_of, now_of, related_of, render, settings_of

router = APIRouter(default_response_class=HTMLResponse)

MAX_QUERY = 500
RELATED_LIMIT = 5
SEARCH_PAGE_SIZE = 20
TOP_STORIES = 8
MAX_SLUG = 128

PageNo = Annotated[int, Query(ge=1, le=100_000)]


@dataclass(frozen=True)
class Pager:
    """Previous/next links for a paged list; ``total`` is None when unknown (search)."""

    page: int
    size: int
    total: int | None
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def _pager(page: int, size: int, total: int) -> Pager:
    return Pager(page=page, size=size, total=total, has_next=page * size < total)


def _sidebar(session: Any) -> list[tuple[str, int]]:
    return articles.outlets(session)


@router.get("/")
def front(request: Request, page: PageNo = 1) -> Response:
    """Top stories (page 1 only), then the latest articles, copies shown once."""
    size = settings_of(request).page_size
    now = now_of(request)
    with db_of(request).read() as session:
        top = reader.filter_top(request, session, _top_stories(session, now)) if page == 1 else []
        rows, total = reader.latest_for(request, session, limit=size, offset=(page - 1) * size)
        pager = _pager(page, size, total)
        cards = [views.card(row) for row in rows]
        trending, is_recent = request.app.state.memo.get(
            "trending", now.replace(second=0, microsecond=0),
            lambda: queries.trending_or_popular(session, now))
        trending = reader.filter_trending(request, trending)
        outlets = _sidebar(session)
    return render(request, "front.html", {
        "top": top, "cards": cards, "pager": pager, "outlets": outlets,
        "trending": trending, "trending_recent": is_recent,
        "heading": "Top stories", "base_path": "/"})


def _top_stories(session: Session, now: datetime) -> list[coverage.StoryCard]:
    """The hottest stories as cards; none while the enrichment stage has made none."""
    found = (coverage.story_card(session, s)
             for s in stories.latest_stories(session, limit=TOP_STORIES, now=now))
    return [c for c in found if c is not None]


def _article_context(request: Request, session: Any, row: ArticleRow) -> dict[str, Any]:
    page_url = str(request.url.replace(query="", fragment=""))
    original = views.safe_url(row.canonical_url) or views.safe_url(row.url)
    related = [views.card(other, 180)
               for other in serialize.related_articles(session, row, RELATED_LIMIT,
                                                        related_of(request))]
    return {
        "article": row,
        "when": row.published_at,
        "paragraphs": views.paragraphs(row.text),
        "body": ai.anchored_paragraphs(row.text),
        "description": views.excerpt(row, 200),
        "image": views.safe_url(row.image),
        "original": original,
        "canonical": original or page_url,
        "page_url": page_url,
        "hashtags": coverage.article_tags(session, row.id),
        "coverage": coverage.article_coverage(session, row),
        "related": related,
        "json_ld": views.json_ld(row, page_url),
    }


AIParam = Annotated[str, Query()]  # trimmed by ai.parse_request, never rejected


@router.get("/articles/{article_id:int}")
def article_page(request: Request, article_id: int, ai_feature: Annotated[
        str, Query(alias="ai")] = "", ask: AIParam = "", scope: AIParam = "",
        explain: AIParam = "") -> Response:
    """One article, then hashtags, AI features, comments and related coverage.

    The AI block's result (``?ai=summary|keypoints``, ``?ask=``, ``?explain=``)
    is computed after the read snapshot closes and shown inline.
    """
    wanted = ai.parse_request(ai_feature, ask, scope, explain)
    with db_of(request).read() as session:
        row = articles.get_article(session, article_id) if 0 < article_id <= MAX_ID else None
        if row is None:
            raise HTTPException(404, "We couldn't find that article. It may have been removed.")
        context = _article_context(request, session, row)
        context.update(reader.article_extras(request, session, row))
        job = ai.article_job(wanted, request, row.id, context["coverage"].story_id)
    reader.mark_read(request, row.id)
    context["ai"] = wanted
    context["panel"] = ai.run(request, job, wanted.feature) if job is not None else None
    return render(request, "article.html", context)


@router.get("/stories/{story_id:int}")
def story_page(request: Request, story_id: int, ask: AIParam = "",
               brief: AIParam = "") -> Response:
    """Full coverage: the brief, every outlet's articles on one story, and a timeline."""
    with db_of(request).read() as session:
        row = stories.get_story(session, story_id) if 0 < story_id <= MAX_ID else None
        view = coverage.story_page(session, row) if row is not None else None
    if view is None:
        raise HTTPException(404, "We couldn't find that story. It may have been merged or removed.")
    wanted = ai.parse_request(ask=ask, scope="story")
    panel = None
    if wanted.feature == "ask":
        panel = ai.run(request, ai.story_ask_job(request, story_id, wanted.question), "ask")
    brief_view = ai.story_brief(request, story_id, build=brief == "1")
    return render(request, "story.html", {"story": view, "brief": brief_view,
                                          "question": wanted.question, "panel": panel,
                                          **reader.story_extras(request, story_id)})


@router.get("/tags/{slug}")
def tag_page(request: Request, slug: str, page: PageNo = 1) -> Response:
    """One hashtag's articles, newest first, syndicated copies shown once."""
    size = settings_of(request).page_size
    with db_of(request).read() as session:
        tag = tags.tag_by_slug(session, slug) if len(slug) <= MAX_SLUG else None
        if tag is None:
            raise HTTPException(404, "We have no articles with that hashtag.")
        pager = _pager(page, size, queries.count_tag_articles(session, tag.id))
        rows = tags.articles_for_tag(session, tag.slug, limit=size, offset=pager.offset)
        cards = [views.card(row) for row in rows]
        link = coverage.tag_link(tag)
    return render(request, "tag.html", {"tag": link, "cards": cards, "pager": pager,
                                        "base_path": link.path})


@router.get("/outlets/{name:path}")
def outlet_page(request: Request, name: str, page: PageNo = 1) -> Response:
    """Everything from one outlet, newest first."""
    size = settings_of(request).page_size
    with db_of(request).read() as session:
        total = articles.count_articles(session, outlet=name)
        if total == 0:
            raise HTTPException(404, "We have no articles from that outlet.")
        pager = _pager(page, size, total)
        rows = articles.latest_articles(session, limit=size, offset=pager.offset, outlet=name)
        cards = [views.card(row) for row in rows]
        outlets = _sidebar(session)
    return render(request, "outlet.html", {"cards": cards, "pager": pager, "outlets": outlets,
                                           "outlet": name, "heading": name,
                                           "base_path": views.outlet_path(name)})


@router.get("/search")
def search_page(request: Request, q: str = "", page: PageNo = 1) -> Response:
    """Search results; any text is accepted (long input is trimmed, never an error)."""
    query = q.strip()[:MAX_QUERY]
    size = SEARCH_PAGE_SIZE
    cards: list[views.Card] = []
    has_next = False
    if query:
        with db_of(request).read() as session:
            hits = search.search(session, query, limit=size + 1, offset=(page - 1) * size)
            cards = [views.card(hit.article) for hit in hits[:size]]
            has_next = len(hits) > size
    pager = Pager(page=page, size=size, total=None, has_next=has_next)
    return render(request, "search.html", {"q": query, "cards": cards, "pager": pager,
                                           "base_path": "/search"})


@router.get("/sources")
def sources_page(request: Request) -> Response:
    """Subscriptions and their health, so a failing feed is visible, not silent."""
    with db_of(request).read() as session:
        rows = [_source_view(row) for row in sources.list_sources(session)]
    return render(request, "sources.html", {"sources": rows})


def _source_view(row: Any) -> dict[str, Any]:
    return {
        "title": row.title or row.url,
        "url": row.url,
        "href": views.safe_url(row.url),
        "site": views.safe_url(row.site_url),
        "kind": row.kind,
        "category": row.category,
        "paused": row.paused,
        "last_checked": row.last_checked_at,
        "last_success": row.last_success_at,
        "next_check": row.next_check_at,
        "error_count": row.error_count,
        "last_error": row.last_error,
    }
