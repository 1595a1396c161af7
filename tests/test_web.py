"""Web reader and JSON API: page structure, empty states, metadata, security, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.config import Settings
from newsdesk.model import Article
from newsdesk.store import articles, sources
from newsdesk.store.db import Database
from newsdesk.store.serialize import article_json
from newsdesk.store.sources import Schedule
from newsdesk.web import timefmt
from newsdesk.web.app import create_app
from newsdesk.web.views import safe_url, script_json

NOW = datetime(2025, 6, 22, 12, 0, tzinfo=UTC)

STORIES = [
    Article(
        url="https://lakeside-gazette.example/news/ferry",
        canonical_url="https://lakeside-gazette.example/news/ferry-service-resumes",
        title="Lake ferry service resumes after winter storms",
        text=("The lake ferry resumed its crossings on Sunday after winter storms damaged "
              "both piers.\n"
              "Engineers rebuilt the northern pier in eight weeks, the ferry company said.\n"
              "Commuters welcomed the return of the ferry, which cuts the trip to forty minutes."),
        outlet="Lakeside Gazette", byline="Mira Holm", published_at=NOW - timedelta(minutes=24),
        language="en", copyright="Copyright 2025 Lakeside Gazette. All rights reserved.",
        image="https://lakeside-gazette.example/img/ferry.jpg",
        description="The lake ferry is back after storms damaged its piers.",
    ),
    Article(
        url="https://valley-herald.example/ferry-returns",
        title="Ferry returns to the lake as rebuilt pier opens",
        text=("Ferry crossings on the lake restarted on Sunday once the rebuilt northern "
              "pier opened.\n"
              "Storms in the winter had damaged both piers and halted the ferry for months."),
        outlet="Valley Herald", published_at=NOW - timedelta(hours=3), language="en",
    ),
    Article(
        url="https://valley-herald.example/orchard",
        title="Orchards expect a record apple harvest",
        text="Growers in the valley expect a record apple harvest after a mild spring.",
        outlet="Valley Herald", published_at=NOW - timedelta(days=2), language="en",
    ),
    Article(
        url="https://evil.example/x",
        title="</script><script>alert(1)</script> Tricky <b>title</b>",
        text="A hostile headline with markup. It mentions nothing else at all.",
        outlet="Evil Outlet", published_at=NOW - timedelta(days=30),
        image="javascript:alert(1)",
    ),
]

# Unrelated older stories: BM25 needs a corpus in which "ferry" is a rare word.
FILLER_TOPICS = ["chess tournament final", "library extends opening hours", "marathon route",
                 "museum opens textile wing", "bakery wins bread award", "school choir tour"]
FILLERS = [
    Article(url=f"https://town-notes.example/{i}", title=topic.capitalize(),
            text=f"The {topic} drew a crowd of residents this week.\nOrganisers were pleased.",
            outlet="Town Notes", published_at=NOW - timedelta(days=60 + i))
    for i, topic in enumerate(FILLER_TOPICS)
]
TOTAL = len(STORIES) + len(FILLERS)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.write() as session:
        for story in STORIES + FILLERS:
            articles.save_article(session, story)
        src, _ = sources.add_source(session, "https://valley-herald.example/rss",
                                    title="Valley Herald feed")
        sources.record_failure(session, src, Schedule(), "HTTP 503 from server", now=NOW)
    application = create_app(settings.with_(page_size=2), db)
    application.state.clock = lambda: NOW
    yield application
    db.dispose()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _id(client: TestClient, title_start: str) -> int:
    items = client.get("/api/articles", params={"limit": 100}).json()["items"]
    return next(a["id"] for a in items if a["title"].startswith(title_start))


class _Meta(HTMLParser):
    """Collects <meta>, <link> and JSON-LD scripts (with their nonce) from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.ld: list[tuple[str, str]] = []
        self._in_ld: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content", "")
        elif tag == "link":
            self.links[a.get("rel", "")] = a.get("href", "")
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = a.get("nonce", "")

    def handle_data(self, data: str) -> None:
        if self._in_ld is not None:
            self.ld.append((self._in_ld, data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_ld = None


def _parse(html: str) -> _Meta:
    parser = _Meta()
    parser.feed(html)
    return parser


# ---------- article page ----------

def test_article_page_blocks_in_order(client: TestClient) -> None:
    html = client.get(f"/articles/{_id(client, 'Lake ferry')}").text
    markers = [
        "Lake ferry service resumes after winter storms",
        "Lakeside Gazette", "Mira Holm", "22 Jun 2025, 11:36 UTC", "24 minutes ago",
        "The lake ferry resumed its crossings", "Commuters welcomed",
        "Copyright 2025 Lakeside Gazette.",
        ">Hashtags<", ">Try our AI features<", ">Comments<", ">Related Articles<",
    ]
    body = html[html.index("<main"):]
    positions = [body.index(m) for m in markers]
    assert positions == sorted(positions)
    assert body.count("<p>") >= 3  # body rendered as paragraphs


def test_article_page_empty_states_are_plain(client: TestClient) -> None:
    html = client.get(f"/articles/{_id(client, 'Lake ferry')}").text
    assert "No hashtags yet." in html
    assert 'href="/articles/' in html and '?ai=summary#ai-features">Summary</a>' in html
    assert "No comments yet..." in html


def test_related_articles_from_other_outlets(client: TestClient) -> None:
    html = client.get(f"/articles/{_id(client, 'Lake ferry')}").text
    related = html[html.index(">Related Articles<"):]
    assert "Ferry returns to the lake" in related
    assert "Valley Herald" in related and "3 hours ago" in related
    assert "Once the rebuilt northern pier" in related or "restarted on Sunday" in related


def test_no_related_says_so(client: TestClient) -> None:
    html = client.get(f"/articles/{_id(client, 'Orchards')}").text
    assert "No related articles yet." in html


def test_read_original_link(client: TestClient) -> None:
    html = client.get(f"/articles/{_id(client, 'Lake ferry')}").text
    link = re.search(r'<a href="([^"]+)" rel="([^"]+)"[^>]*>Read the original at Lakeside Gazette',
                     html)
    assert link is not None
    assert link.group(1) == "https://lakeside-gazette.example/news/ferry-service-resumes"
    assert set(link.group(2).split()) == {"noopener", "noreferrer", "nofollow"}


def test_json_ld_and_open_graph(client: TestClient) -> None:
    response = client.get(f"/articles/{_id(client, 'Lake ferry')}")
    page = _parse(response.text)
    assert len(page.ld) == 1
    nonce, raw = page.ld[0]
    assert f"'nonce-{nonce}'" in response.headers["content-security-policy"]
    data = json.loads(raw)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Lake ferry service resumes after winter storms"
    assert data["datePublished"] == "2025-06-22T11:36:00Z"
    assert data["publisher"]["name"] == "Lakeside Gazette"
    assert data["author"]["name"] == "Mira Holm"
    assert page.meta["og:type"] == "article"
    assert page.meta["og:title"] == "Lake ferry service resumes after winter storms"
    assert page.meta["og:image"] == "https://lakeside-gazette.example/img/ferry.jpg"
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.links["canonical"] == "https://lakeside-gazette.example/news/ferry-service-resumes"


def test_hostile_text_is_escaped(client: TestClient) -> None:
    response = client.get(f"/articles/{_id(client, '</script>')}")
    html = response.text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;/script&gt;" in html
    assert "javascript:" not in html  # the image URL was dropped
    raw = _parse(html).ld[0][1]
    assert "</" not in raw
    assert json.loads(raw)["headline"].startswith("</script>")


# ---------- lists ----------

def test_front_page_newest_first_and_paged(client: TestClient) -> None:
    first = client.get("/").text
    assert first.index("Lake ferry service") < first.index("Ferry returns to the lake")
    assert "24 minutes ago" in first and "Orchards" not in first
    assert 'href="/?page=2"' in first
    assert 'href="/outlets/Valley%20Herald"' in first  # sidebar
    second = client.get("/?page=2").text
    assert "Orchards expect a record apple harvest" in second
    assert "2 days ago" in second


def test_front_page_empty_database(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    html = client.get("/").text
    assert "No articles yet." in html


def test_outlet_page(client: TestClient) -> None:
    html = client.get("/outlets/Valley%20Herald").text
    assert "Ferry returns to the lake" in html and "Orchards" in html
    assert "Lake ferry service" not in html
    assert client.get("/outlets/Nobody").status_code == 404


@pytest.mark.parametrize("query", ["' OR 1=1--", "NEAR(", '"', "col:", "title:ferry", "*", "\x00",
                                   "a" * 5000, "ferry AND", "(((", "NOT", "-ferry", "^"])
def test_hostile_search_strings(client: TestClient, query: str) -> None:
    assert client.get("/search", params={"q": query}).status_code == 200
    assert client.get("/api/search", params={"q": query[:500]}).status_code == 200


def test_search_finds_articles(client: TestClient) -> None:
    html = client.get("/search", params={"q": "ferry pier"}).text
    assert "Lake ferry service resumes" in html
    assert "No articles match" in client.get("/search", params={"q": "zeppelin"}).text


def test_sources_page_shows_errors_plainly(client: TestClient) -> None:
    html = client.get("/sources").text
    assert "Valley Herald feed" in html
    assert "https://valley-herald.example/rss" in html
    assert "HTTP 503 from server" in html
    assert "just now" in html and "in 5 minutes" in html  # last check, next check


# ---------- API ----------

def test_api_list_shape_and_paging(client: TestClient) -> None:
    page1 = client.get("/api/articles", params={"limit": 2}).json()
    assert set(page1) == {"items", "total", "limit", "offset"}
    assert page1["total"] == TOTAL and page1["limit"] == 2 and page1["offset"] == 0
    assert [a["title"][:4] for a in page1["items"]] == ["Lake", "Ferr"]
    page2 = client.get("/api/articles", params={"limit": 2, "page": 2}).json()
    assert page2["offset"] == 2
    assert page2["items"][0]["title"].startswith("Orchards")
    by_offset = client.get("/api/articles", params={"limit": 2, "offset": 2}).json()
    assert by_offset["items"] == page2["items"]


def test_api_article_object(client: TestClient) -> None:
    data = client.get(f"/api/articles/{_id(client, 'Lake ferry')}").json()
    assert set(data) == {"id", "url", "canonical_url", "title", "outlet", "byline",
                         "published_at", "language", "text", "copyright", "image", "hashtags",
                         "related", "story_id", "duplicates", "duplicate_of"}
    assert data["published_at"] == "2025-06-22T11:36:00Z"
    assert data["hashtags"] == []
    assert (data["story_id"], data["duplicates"], data["duplicate_of"]) == (None, [], None)
    assert data["related"][0]["title"].startswith("Ferry returns")
    assert set(data["related"][0]) == {"id", "title", "outlet", "published_at"}


def test_article_json_without_related(app: FastAPI) -> None:
    with app.state.db.read() as session:
        row = articles.latest_articles(session, limit=1)[0]
        assert "related" not in article_json(session, row, with_related=False)


@pytest.mark.parametrize("path", ["/api/articles/999", "/api/articles/0",
                                  "/api/articles/99999999999999999999999", "/api/nothing"])
def test_api_404_is_json(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"limit": "x"},
                                    {"offset": -1}, {"page": 0}, {"page": "abc"},
                                    {"offset": 1, "page": 1}])
def test_api_bad_parameters(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/api/articles", params=params)
    assert response.status_code in (400, 422)
    assert "error" in response.json()
    assert client.get("/api/articles/abc").status_code == 422


def test_api_search_and_outlets(client: TestClient) -> None:
    found = client.get("/api/search", params={"q": "apple harvest"}).json()
    assert [a["title"] for a in found["items"]] == ["Orchards expect a record apple harvest"]
    outlets = client.get("/api/outlets").json()["items"]
    assert {"name": "Valley Herald", "articles": 2} in outlets


# ---------- security and errors ----------

@pytest.mark.parametrize("path", ["/", "/articles/1", "/outlets/Valley%20Herald",
                                  "/search?q=ferry", "/sources", "/api/articles",
                                  "/static/style.css", "/missing", "/api/missing"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    for directive in ("default-src 'self'", "style-src 'self'", "img-src 'self' https: data:",
                      "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
                      "object-src 'none'"):
        assert directive in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_nonce_changes_per_request(client: TestClient) -> None:
    a = client.get("/").headers["content-security-policy"]
    b = client.get("/").headers["content-security-policy"]
    assert a != b


def test_404_page_is_friendly(client: TestClient) -> None:
    for path in ("/articles/424242", "/no/such/page", "/articles/99999999999999999999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "couldn" in response.text and "Traceback" not in response.text


def test_500_page_leaks_nothing(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    for path in ("/boom", "/api/boom"):
        response = client.get(path)
        assert response.status_code == 500
        assert "secret internals" not in response.text and "Traceback" not in response.text
        assert "content-security-policy" in response.headers
    assert client.get("/api/boom").json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/..%2fapp.py",
                                  "/static/%2e%2e/%2e%2e/config.py", "/static/nope.css",
                                  "/static/..%5capp.py"])
def test_static_traversal_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "create_app" not in response.text


def test_static_css_served(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200 and "prefers-color-scheme" in response.text


def test_bad_page_parameter_is_a_page_not_a_crash(client: TestClient) -> None:
    response = client.get("/?page=abc")
    assert response.status_code == 400 and "text/html" in response.headers["content-type"]


# ---------- helpers ----------

@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(seconds=5), "just now"),
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(minutes=24), "24 minutes ago"),
    (timedelta(hours=3, minutes=59), "3 hours ago"),
    (timedelta(days=1), "1 day ago"),
    (timedelta(days=2, hours=5), "2 days ago"),
    (timedelta(days=8), "14 Jun 2025"),
    (-timedelta(minutes=5), "in 5 minutes"),
    (-timedelta(seconds=20), "just now"),
])
def test_relative_time(delta: timedelta, expected: str) -> None:
    assert timefmt.relative(NOW - delta, NOW) == expected


def test_time_helpers_handle_naive_and_none() -> None:
    assert timefmt.relative(None, NOW) == ""
    assert timefmt.relative(datetime(2025, 6, 22, 11, 0), NOW) == "1 hour ago"
    assert timefmt.absolute(NOW) == "22 Jun 2025, 12:00 UTC"
    assert timefmt.iso(NOW) == "2025-06-22T12:00:00Z"
    assert timefmt.long_date(NOW) == "Sunday, 22 June 2025"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://a.example/x", True), ("http://a.example", True),
    ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False),
    ("java\tscript:alert(1)", False), ("data:text/html,<b>", False),
    ("//evil.example/x", False), ("/relative", False), ("", False), (None, False),
    ("https://", False), ("http://[::1", False),
])
def test_safe_url(url: str | None, ok: bool) -> None:
    assert bool(safe_url(url)) is ok


def test_script_json_cannot_close_the_script() -> None:
    text = script_json({"x": "</script><!-- \u2028"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": "</script><!-- \u2028"}
