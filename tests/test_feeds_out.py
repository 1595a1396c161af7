"""Feeds out: RSS 2.0, Atom 1.0 and JSON Feed 1.1 for front page, stories, tags, outlets, search.

Validity is checked by readers that are not ours (feedparser's bozo flag,
lxml's strict parser) and by our own ingest parser (dogfooding); round trips
compare what comes back with the database.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import feedparser
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from newsdesk.config import Settings
from newsdesk.ingest.feeds import parse_feed
from newsdesk.model import Article, Tag
from newsdesk.store import articles, dedup, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, StoryRow
from newsdesk.web import queries
from newsdesk.web.app import create_app

NOW = datetime(2025, 6, 22, 12, 0, tzinfo=UTC)
# No NUL: PostgreSQL cannot store one (ingest strips them); other C0/C1 controls it keeps.
BASE = "https://news.example"
HOSTILE_TITLE = ("<script>alert(1)</script> ]]> & \x01\x0b\x1f\x7f\ufffe bell "
                 + "x" * 10_000)
FERRY = Tag(slug="LakeFerry", name="Lake ferry", kind="topic", score=1.0)
LAKESIDE = Tag(slug="Lakeside", name="Lakeside", kind="place", score=0.5)


def _article(key: str, title: str, outlet: str, hours: float | None, text: str,
             byline: str = "") -> Article:
    return Article(url=f"https://{key}.example/{abs(hash(title)) % 10_000}", title=title,
                   text=text, outlet=outlet, byline=byline, language="en",
                   published_at=None if hours is None else NOW - timedelta(hours=hours))


DATA = {
    "lake": _article("lakeside", "Lake ferry service resumes after winter storms",
                     "Lakeside Gazette", 0.4,
                     "The lake ferry resumed its crossings on Sunday.\nEngineers rebuilt the pier.",
                     byline="Mira Holm"),
    "valley": _article("valley", "Ferry returns to the lake as rebuilt pier opens",
                       "Valley Herald", 3, "Ferry crossings restarted on Sunday.\nStorms hit."),
    "copy": _article("wire", "Ferry returns to the lake (wire copy)", "Wire Copy", 2,
                     "Ferry crossings restarted on Sunday, wire copy.\nStorms hit."),
    "orchard": _article("valley", "Orchards expect a record apple harvest", "Valley Herald", 48,
                        "Growers in the valley expect a record apple harvest."),
    "hostile": _article("evil", HOSTILE_TITLE, "Evil & Co <x>", 24 * 30,
                        "Body with ]]> and <b>bold</b> \x0c form feed.\nSecond & last."),
    "undated": _article("old", "An undated archive piece", "Town Notes", None,
                        "Nobody knows when this was written."),
}


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.write() as session:
        ids = {key: articles.save_article(session, a).article_id for key, a in DATA.items()}
        story = StoryRow(title="Lake ferry returns", first_outlet="Valley Herald",
                         first_seen_at=NOW - timedelta(hours=3), updated_at=NOW,
                         article_count=3, outlet_count=3, lead_article_id=ids["lake"])
        session.add(story)
        session.flush()
        for key in ("lake", "valley", "copy"):
            session.get(ArticleRow, ids[key]).story_id = story.id  # type: ignore[union-attr]
        dedup.mark_duplicate(session, ids["copy"], ids["valley"])
        tags.set_article_tags(session, ids["lake"], [FERRY, LAKESIDE])
        tags.set_article_tags(session, ids["valley"], [FERRY])
        tags.set_article_tags(session, ids["copy"], [FERRY])
    application = create_app(settings, db)
    application.state.clock = lambda: NOW
    application.state.ids = ids
    yield application
    db.dispose()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


FEEDS = ["/feed", "/stories/1/feed", "/tags/LakeFerry/feed", "/outlets/Valley%20Herald/feed",
         "/outlets/Evil%20%26%20Co%20%3Cx%3E/feed", "/search/feed"]
QUERY = {"/search/feed": "?q=ferry"}


def _url(path: str, fmt: str) -> str:
    return f"{path}.{fmt}{QUERY.get(path, '')}"


# ---------- validity ----------

@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_without_bozo(client: TestClient, path: str, fmt: str) -> None:
    response = client.get(_url(path, fmt))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(f"application/{fmt}+xml")
    etree.fromstring(response.content, etree.XMLParser(recover=False))  # strictly well-formed
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
    assert parsed.entries
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [BASE + _url(path, fmt)]


def _front_rows(app: FastAPI) -> list[tuple[int, str, datetime | None]]:
    with app.state.db.read() as session:
        rows = queries.latest_originals(session, limit=50)
        return [(r.id, r.title, r.published_at) for r in rows]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_front_feed_round_trip(app: FastAPI, client: TestClient, fmt: str) -> None:
    parsed = feedparser.parse(client.get(f"/feed.{fmt}").content)
    expected = _front_rows(app)
    assert app.state.ids["copy"] not in [i for i, _, _ in expected]  # copies hidden
    assert len(parsed.entries) == len(expected)
    for entry, (article_id, title, published) in zip(parsed.entries, expected, strict=True):
        page = f"{BASE}/articles/{article_id}"
        assert entry.id == page and entry.link == page
        if article_id == app.state.ids["hostile"]:
            assert entry.title.startswith("<script>alert(1)</script> ]]> & ")
            assert len(entry.title) > 10_000
        else:
            assert entry.title == title
        if published is None:
            assert "published_parsed" not in entry
        else:
            got = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)
            assert got == published.replace(microsecond=0)


def test_entry_details_rss(app: FastAPI, client: TestClient) -> None:
    parsed = feedparser.parse(client.get("/feed.rss").content)
    lake = parsed.entries[0]
    assert lake.author == "Mira Holm"
    assert {t.term for t in lake.tags} == {"Lakeside Gazette", "Lake ferry", "Lakeside"}
    assert lake.source.title == "Lakeside Gazette"
    assert lake.source.href == f"{BASE}/outlets/Lakeside%20Gazette/feed.rss"
    html = lake.content[0].value
    assert "<p>The lake ferry resumed its crossings on Sunday.</p>" in html
    assert "Read the original at Lakeside Gazette" in html
    raw = client.get("/feed.rss").text
    assert re.search(r"<pubDate>Sun, 22 Jun 2025 11:36:00 GMT</pubDate>", raw)  # RFC 822


def test_entry_details_atom(app: FastAPI, client: TestClient) -> None:
    parsed = feedparser.parse(client.get("/feed.atom").content)
    lake = parsed.entries[0]
    rels = {link.rel: link.href for link in lake.links}
    assert rels["alternate"] == f"{BASE}/articles/{app.state.ids['lake']}"
    assert rels["related"].startswith("https://lakeside.example/")
    assert lake.author == "Mira Holm"
    assert lake.summary == "The lake ferry resumed its crossings on Sunday."
    assert lake.content[0].type == "text/html"
    undated = next(e for e in parsed.entries if e.title.startswith("An undated"))
    assert "published" not in undated and undated.updated  # Atom requires updated
    raw = client.get("/feed.atom").text
    assert "<updated>2025-06-22T11:36:00Z</updated>" in raw  # RFC 3339


def test_json_feed_structure(app: FastAPI, client: TestClient) -> None:
    response = client.get("/feed.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    data = response.json()
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] and data["home_page_url"] == BASE + "/"
    assert data["feed_url"] == BASE + "/feed.json"
    expected = _front_rows(app)
    pages = [f"{BASE}/articles/{i}" for i, _, _ in expected]
    assert [item["id"] for item in data["items"]] == pages
    for item in data["items"]:
        assert isinstance(item["id"], str) and item["url"].startswith(BASE + "/articles/")
        assert isinstance(item["content_html"], str) and item["content_html"].startswith("<p>")
        for key in ("date_published", "date_modified"):
            if key in item:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item[key])
        assert set(item) <= {"id", "url", "external_url", "title", "content_html", "summary",
                             "date_published", "date_modified", "authors", "tags", "language"}
    lake = data["items"][0]
    assert lake["authors"] == [{"name": "Mira Holm"}]
    assert lake["tags"] == ["Lakeside Gazette", "Lake ferry", "Lakeside"]
    assert lake["external_url"].startswith("https://lakeside.example/")
    assert lake["date_published"] == "2025-06-22T11:36:00Z"


# ---------- hostile text ----------

@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_hostile_text_stays_well_formed(app: FastAPI, client: TestClient, fmt: str) -> None:
    body = client.get(f"/outlets/Evil%20%26%20Co%20%3Cx%3E/feed.{fmt}").content
    for bad in (b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x1f"):
        assert bad not in body
    if fmt == "json":
        item = json.loads(body)["items"][0]
        title, content = item["title"], item["content_html"]
        assert "<script>" not in content  # titles are plain text; HTML is escaped
    else:
        assert b"<script>" not in body  # escaped wherever it appears
        etree.fromstring(body, etree.XMLParser(recover=False))
        entry = feedparser.parse(body).entries[0]
        title, content = entry.title, entry.content[0].value
    assert title.startswith("<script>alert(1)</script> ]]> & bell x")
    assert "\x7f" not in title and "\ufffe" not in title
    assert "]]&gt;" in content and "&lt;b&gt;bold&lt;/b&gt;" in content  # text, not markup


# ---------- caching ----------

def test_conditional_get(client: TestClient) -> None:
    feed = "/tags/LakeFerry/feed.rss"
    first = client.get(feed)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert parsedate_to_datetime(modified) == NOW - timedelta(minutes=24)  # the newest item
    assert client.get(feed).headers["etag"] == etag  # stable body, stable validator
    again = client.get(feed, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = client.get(feed, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    assert client.get(feed, headers={"If-None-Match": '"stale"'}).status_code == 200
    since = client.get(feed, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    older = format_datetime(NOW - timedelta(days=1), usegmt=True)
    assert client.get(feed, headers={"If-Modified-Since": older}).status_code == 200
    assert client.get(feed, headers={"If-Modified-Since": "garbage"}).status_code == 200
    assert client.get("/tags/LakeFerry/feed.atom").headers["etag"] != etag


# ---------- lists ----------

def test_story_tag_and_search_feeds(app: FastAPI, client: TestClient) -> None:
    ids = app.state.ids
    story = client.get("/stories/1/feed.json").json()["items"]
    assert [i["id"] for i in story] == [f"{BASE}/articles/{ids[k]}"
                                        for k in ("lake", "copy", "valley")]  # newest first
    tag = client.get("/tags/LakeFerry/feed.json").json()["items"]
    assert [i["id"] for i in tag] == [f"{BASE}/articles/{ids[k]}" for k in ("lake", "valley")]
    found = client.get("/search/feed.json", params={"q": "apple harvest"}).json()
    assert [i["title"] for i in found["items"]] == ["Orchards expect a record apple harvest"]
    assert found["feed_url"] == f"{BASE}/search/feed.json?q=apple+harvest"
    empty = client.get("/search/feed.rss")
    assert empty.status_code == 200 and not feedparser.parse(empty.content).bozo


@pytest.mark.parametrize("path", ["/stories/999/feed.rss", "/tags/Nope/feed.atom",
                                  "/outlets/Nobody/feed.json", "/feed.xml", "/stories/1/feed.html",
                                  "/stories/99999999999999999999999/feed.rss"])
def test_unknown_feeds_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


# ---------- discovery ----------

def _alternates(html: str) -> dict[str, str]:
    found = re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">', html)
    return {kind: href.replace("&amp;", "&") for kind, href in found}


@pytest.mark.parametrize(("page", "feed"), [
    ("/", "/feed"), ("/?page=2", "/feed"), ("/stories/1", "/stories/1/feed"),
    ("/tags/LakeFerry", "/tags/LakeFerry/feed"),
    ("/outlets/Valley%20Herald", "/outlets/Valley%20Herald/feed"),
    ("/search?q=ferry%20pier", "/search/feed"),
])
def test_discovery_links(client: TestClient, page: str, feed: str) -> None:
    links = _alternates(client.get(page).text)
    query = "?q=ferry+pier" if page.startswith("/search") else ""
    assert links == {"application/rss+xml": f"{BASE}{feed}.rss{query}",
                     "application/atom+xml": f"{BASE}{feed}.atom{query}",
                     "application/feed+json": f"{BASE}{feed}.json{query}"}
    for href in links.values():
        assert client.get(href.removeprefix(BASE)).status_code == 200


@pytest.mark.parametrize("page", ["/search", "/sources", "/tags/Nope", "/missing"])
def test_no_discovery_where_there_is_no_feed(client: TestClient, page: str) -> None:
    assert _alternates(client.get(page).text) == {}


# ---------- dogfooding ----------

@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_newsdesk_can_subscribe_to_its_own_feeds(app: FastAPI, client: TestClient,
                                                 fmt: str) -> None:
    response = client.get(f"/feed.{fmt}")
    parsed = parse_feed(response.content, f"{BASE}/feed.{fmt}", response.headers["content-type"])
    expected = _front_rows(app)
    assert [e.url for e in parsed.entries] == [f"{BASE}/articles/{i}" for i, _, _ in expected]
    lake = parsed.entries[0]
    assert lake.title == "Lake ferry service resumes after winter storms"
    assert lake.author == "Mira Holm"
    assert lake.published_at == NOW - timedelta(minutes=24)
    assert "The lake ferry resumed" in lake.content_html
    assert {"Lake ferry", "LakeFerry"} & set(lake.tags)  # Atom gives the term, others the label
