"""Feeds out: every list a reader can open is also RSS 2.0, Atom 1.0 and JSON Feed 1.1.

``/feed.{rss,atom,json}`` (latest articles, copies shown once),
``/stories/{id}/feed.*``, ``/tags/{slug}/feed.*``, ``/outlets/{name}/feed.*``
and ``/search/feed.*?q=`` (a saved search, newest matches first). Feed
readers poll, so every answer carries an ``ETag`` (a hash of the body) and a
``Last-Modified`` (the newest item), and a conditional GET that matches gets
an empty 304. This router must be included before the pages router: the
outlet page's ``{name:path}`` would otherwise swallow ``/outlets/X/feed.rss``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from newsdesk.store import articles, feedsout, search, stories, tags
from newsdesk.store.tables import MAX_ID, ArticleRow
from newsdesk.web import queries, views
from newsdesk.web.coverage import tag_path
from newsdesk.web.feedwriters import MEDIA_TYPES, WRITERS
from newsdesk.web.render import SITE_NAME, db_of
from newsdesk.web.syndication import FORMATS, Feed, Site, build_feed, utc

router = APIRouter(include_in_schema=False)

FEED_ITEMS = 50
SEARCH_POOL = 100  # best matches considered, then shown newest first
MAX_QUERY = 500
MAX_SLUG = 128
CACHE_CONTROL = "public, max-age=300"
FORMAT_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def site_of(request: Request) -> Site:
    return Site(str(request.base_url))


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise HTTPException(404, "There is no feed in that format.")
    return fmt


def _tags_of(session: Session, rows: Sequence[ArticleRow]) -> Mapping[int, Any]:
    return feedsout.tags_for_articles(session, [row.id for row in rows])


@router.get("/feed.{fmt}")
def front_feed(request: Request, fmt: str) -> Response:
    """The latest articles, syndicated copies shown once (as on the front page)."""
    _check_format(fmt)
    site = site_of(request)
    with db_of(request).read() as session:
        rows = queries.latest_originals(session, limit=FEED_ITEMS)
        feed = build_feed(site, title=f"{SITE_NAME}: latest articles",
                          description="The latest articles from the outlets newsdesk follows.",
                          home_path="/", links=site.feed_links(""), rows=rows,
                          tags=_tags_of(session, rows))
    return feed_response(request, feed, fmt)


@router.get("/stories/{story_id:int}/feed.{fmt}")
def story_feed(request: Request, story_id: int, fmt: str) -> Response:
    """One story's coverage, newest article first, from every outlet."""
    _check_format(fmt)
    site = site_of(request)
    with db_of(request).read() as session:
        story = stories.get_story(session, story_id) if 0 < story_id <= MAX_ID else None
        if story is None:
            raise HTTPException(404, "We couldn't find that story.")
        rows = feedsout.story_newest(session, story.id, FEED_ITEMS)
        path = f"/stories/{story.id}"
        feed = build_feed(site, title=f"{story.title or 'Story'} · full coverage",
                          description=f"Every outlet's articles on “{story.title}”.",
                          home_path=path, links=site.feed_links(path), rows=rows,
                          tags=_tags_of(session, rows), updated=story.updated_at)
    return feed_response(request, feed, fmt)


@router.get("/tags/{slug}/feed.{fmt}")
def tag_feed(request: Request, slug: str, fmt: str) -> Response:
    """A hashtag's articles, newest first, copies left out (as on the tag page)."""
    _check_format(fmt)
    site = site_of(request)
    with db_of(request).read() as session:
        tag = tags.tag_by_slug(session, slug) if len(slug) <= MAX_SLUG else None
        if tag is None:
            raise HTTPException(404, "We have no articles with that hashtag.")
        rows = tags.articles_for_tag(session, tag.slug, limit=FEED_ITEMS)
        path = tag_path(tag.slug)
        feed = build_feed(site, title=f"#{tag.slug} · {SITE_NAME}",
                          description=f"The latest articles about {tag.name}.",
                          home_path=path, links=site.feed_links(path), rows=rows,
                          tags=_tags_of(session, rows))
    return feed_response(request, feed, fmt)


@router.get("/outlets/{name:path}/feed.{fmt}")
def outlet_feed(request: Request, name: str, fmt: str) -> Response:
    """Everything from one outlet, newest first."""
    _check_format(fmt)
    site = site_of(request)
    with db_of(request).read() as session:
        rows = articles.latest_articles(session, limit=FEED_ITEMS, outlet=name)
        if not rows:
            raise HTTPException(404, "We have no articles from that outlet.")
        path = views.outlet_path(name)
        feed = build_feed(site, title=f"{name} · {SITE_NAME}",
                          description=f"The latest articles from {name}.",
                          home_path=path, links=site.feed_links(path), rows=rows,
                          tags=_tags_of(session, rows))
    return feed_response(request, feed, fmt)


def _search_rows(session: Session, query: str) -> list[ArticleRow]:
    """The best matches, newest first: a saved search is read for what is new."""
    hits = search.search(session, query, limit=SEARCH_POOL) if query else []
    rows = sorted((hit.article for hit in hits), key=lambda r: (r.sort_time, r.id), reverse=True)
    return rows[:FEED_ITEMS]


@router.get("/search/feed.{fmt}")
def search_feed(request: Request, fmt: str, q: str = "") -> Response:
    """A saved search; any text is accepted, as on the search page (trimmed, never parsed)."""
    _check_format(fmt)
    query = q.strip()[:MAX_QUERY]
    site = site_of(request)
    suffix = "?" + urlencode({"q": query})
    with db_of(request).read() as session:
        rows = _search_rows(session, query)
        feed = build_feed(site, title=f"“{query}” · {SITE_NAME} search",
                          description=f"Articles matching “{query}”, newest first.",
                          home_path="/search" + suffix,
                          links=site.feed_links("/search", suffix), rows=rows,
                          tags=_tags_of(session, rows))
    return feed_response(request, feed, fmt)


# -- conditional GET ----------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    """A strong validator: the body is the representation, byte for byte."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires: ``W/`` prefixes are ignored."""
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or etag in (c.removeprefix("W/") for c in candidates)


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:  # an HTTP date is GMT; a sloppy one is taken as such
        since = utc(since)
    return utc(last_modified) <= since


def is_not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    """If-None-Match wins when present (RFC 9110 13.2.2); else If-Modified-Since."""
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        return _etag_matches(none_match, etag)
    since = request.headers.get("if-modified-since")
    return since is not None and _not_modified_since(since, last_modified)


def feed_response(request: Request, feed: Feed, fmt: str) -> Response:
    """The feed in ``fmt``, or an empty 304 when the client's copy is current."""
    body = WRITERS[fmt](feed)
    etag = etag_of(body)
    headers = {"ETag": etag, "Last-Modified": format_datetime(feed.updated, usegmt=True),
               "Cache-Control": CACHE_CONTROL}
    if is_not_modified(request, etag, feed.updated):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


# -- discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedLink:
    """One ``<link rel="alternate">`` for a page's ``<head>``."""

    type: str
    title: str
    href: str


def _front(_params: Mapping[str, Any], _request: Request) -> tuple[str, str, str] | None:
    return "", "", f"{SITE_NAME}: latest articles"


def _story(params: Mapping[str, Any], _request: Request) -> tuple[str, str, str] | None:
    return f"/stories/{params['story_id']}", "", "This story"


def _tag(params: Mapping[str, Any], _request: Request) -> tuple[str, str, str] | None:
    slug = str(params["slug"])
    return tag_path(slug), "", f"#{slug}"


def _outlet(params: Mapping[str, Any], _request: Request) -> tuple[str, str, str] | None:
    name = str(params["name"])
    return views.outlet_path(name), "", name


def _search(_params: Mapping[str, Any], request: Request) -> tuple[str, str, str] | None:
    query = request.query_params.get("q", "").strip()[:MAX_QUERY]
    if not query:
        return None  # an empty search is not worth subscribing to
    return "/search", "?" + urlencode({"q": query}), f"Search: {query}"


Discovery = Callable[[Mapping[str, Any], Request], tuple[str, str, str] | None]
_PAGES: dict[str, Discovery] = {
    "/": _front,
    "/stories/{story_id:int}": _story,
    "/tags/{slug}": _tag,
    "/outlets/{name:path}": _outlet,
    "/search": _search,
}


def feed_links(request: Request) -> list[FeedLink]:
    """The feeds of the page being rendered, keyed by its route; none elsewhere.

    Built from the route and its parameters only, so templates stay free of
    database access (a page that 404s overrides the block that calls this).
    """
    route = request.scope.get("route")
    pick = _PAGES.get(str(getattr(route, "path", "")))
    found = pick(request.path_params, request) if pick is not None else None
    if found is None:
        return []
    path, query, title = found
    site = site_of(request)
    label = views.truncate(title, 200)
    return [FeedLink(MEDIA_TYPES[fmt].split(";")[0], f"{label} ({FORMAT_NAMES[fmt]})", url)
            for fmt, url in site.feed_links(path, query).items()]
