"""The first complete path: outlets' feed and pages on loopback -> store -> reader.

The four articles of the seed page are rebuilt as HTML pages at run time (the
UPI one wrapped in the seed's own chrome), served by a real HTTP server, found
through an RSS feed, fetched, extracted, stored and served by the reader.
"""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from newsdesk.config import Settings
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.store import articles, search, sources
from newsdesk.store.db import Database
from tests.conftest import SEED
from tests.fixtureserver import FixtureServer, Request, Response
from tests.seedpages import SeedArticle, feed_xml, page_html, parse_seed

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="../shared/seed is not present")


def _serve_seed(server: FixtureServer) -> tuple[SeedArticle, list[SeedArticle], str]:
    main, related = parse_seed(SEED)
    server.add(f"/{main.slug}.html", Response(body=page_html(main, server.base, related)))
    for art in related:
        server.add(f"/{art.slug}.html", Response(body=page_html(art, server.base)))
    server.add("/robots.txt", Response(body="User-agent: *\nAllow: /\n",
                                       content_type="text/plain"))
    body = feed_xml([main, *related], server.base)

    def feed_route(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, headers={"ETag": '"v1"'})
        return Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    feed = server.add("/feed.xml", feed_route)
    return main, related, feed


def _ingest(settings: Settings, db: Database, feed: str) -> None:
    with db.write() as session:
        sources.add_source(session, feed)
    report = asyncio.run(Pipeline(settings, db).run_due())
    assert report.errors == []


def test_seed_pages_ingest_clean_and_relate(server: FixtureServer, settings: Settings,
                                            db: Database) -> None:
    main, related, feed = _serve_seed(server)
    _ingest(settings, db, feed)
    with db.read() as session:
        stored = {a.title: a for a in articles.latest_articles(session, limit=10)}
        assert len(stored) == 4
        for art in [main, *related]:
            row = stored[art.title]
            assert row.text.split("\n") == art.paragraphs, art.title
            assert row.outlet == art.outlet
            assert row.published_at is not None
            assert row.published_at.isoformat().startswith("2025-08-20")
        upi = stored[main.title]
        assert upi.copyright == "Copyright 2025 UPI News Corporation. All Rights Reserved."
        for chrome in ("Try Our AI Features", "No comments yet", "Related Articles",
                       "Hashtags", "Copyright", "newsletter", "cookies"):
            assert chrome not in upi.text
        for art in stored.values():
            neighbours = {h.article.title for h in search.related(session, art, limit=5)}
            assert neighbours == set(stored) - {art.title}, art.title


def test_reingest_adds_nothing_and_uses_conditional_get(server: FixtureServer,
                                                        settings: Settings, db: Database) -> None:
    _main, _related, feed = _serve_seed(server)
    _ingest(settings, db, feed)
    with db.write() as session:
        for src in sources.list_sources(session):
            src.next_check_at = None  # due again now
    page_hits = len(server.requests)
    report = asyncio.run(Pipeline(settings, db).run_due())
    assert report.created == 0 and report.not_modified == 1
    assert server.hits("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert len(server.requests) == page_hits + 1  # only the feed, answered 304
    with db.read() as session:
        assert articles.count_articles(session) == 4


def test_article_page_shows_the_seed_blocks(server: FixtureServer, settings: Settings,
                                            db: Database) -> None:
    from newsdesk.web.app import create_app

    main, related, feed = _serve_seed(server)
    _ingest(settings, db, feed)
    with db.read() as session:
        upi = next(a for a in articles.latest_articles(session) if a.outlet == "UPI")
    client = TestClient(create_app(settings, db))
    page = client.get(f"/articles/{upi.id}").text
    order = [main.title, main.paragraphs[0], main.paragraphs[-1], main.copyright, "Hashtags",
             "Try our AI features", "Comments", "No comments yet...", "Related Articles",
             related[0].title]
    positions = [page.find(marker.replace("'", "&#39;").replace('"', "&#34;"))
                 for marker in order]
    assert all(p >= 0 for p in positions), list(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    api = client.get(f"/api/articles/{upi.id}").json()
    assert api["copyright"] == main.copyright
    assert {r["title"] for r in api["related"]} == {r.title for r in related}


def test_enriched_seed_has_tags_stories_and_semantic_related(
        server: FixtureServer, settings: Settings, db: Database) -> None:
    """After the enrich stage: hashtags, separate stories, related via vectors."""
    from newsdesk.enrich.enricher import Enricher
    from newsdesk.store import tags
    from newsdesk.web.app import create_app

    main, related, feed = _serve_seed(server)
    _ingest(settings, db, feed)
    report = Enricher(settings, db).run_pending()
    assert report.enriched == 4 and report.errors == []
    with db.read() as session:
        rows = {a.title: a for a in articles.latest_articles(session, limit=10)}
        upi = rows[main.title]
        slugs = {t.slug for t in tags.article_tags(session, upi.id)}
        assert {"KimJongUn", "NorthKorea", "Russia", "Ukraine"} <= slugs
        assert any("Lyubimova" in s for s in slugs)
        for art in related:
            other = rows[art.title]
            assert {"Russia", "Ukraine"} <= {t.slug for t in tags.article_tags(session, other.id)}
            assert other.story_id != upi.story_id
    client = TestClient(create_app(settings, db))
    for title, row in rows.items():
        api = client.get(f"/api/articles/{row.id}").json()
        assert {r["title"] for r in api["related"]} == set(rows) - {title}, title
    page = client.get(f"/articles/{upi.id}").text
    assert "#KimJongUn" in page and 'href="/tags/Russia"' in page


def test_the_publishing_outlet_is_not_a_hashtag() -> None:
    from newsdesk.enrich.enricher import _names_outlet
    from newsdesk.model import Tag

    assert _names_outlet(Tag("BBC", "BBC", "org", 1.0), "BBC News")
    assert _names_outlet(Tag("UPI", "UPI", "org", 1.0), "UPI")
    assert not _names_outlet(Tag("SouthKorea", "South Korea", "place", 1.0), "Korea Herald")
    assert not _names_outlet(Tag("Reuters", "Reuters", "org", 1.0), "Yahoo")
