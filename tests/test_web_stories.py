"""Reader side of story intelligence: hashtags, copies, full coverage, tags, trending, API.

The enrichment stage is not run here: tags, copy groups and stories are
written straight through the store, so these tests pin what the reader shows
for a given state, whatever the clusterer or tagger decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.config import Settings
from newsdesk.enrich.tags import Tag
from newsdesk.model import Article
from newsdesk.store import articles, dedup, search, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, StoryRow
from newsdesk.web.app import create_app

NOW = datetime(2025, 6, 22, 12, 0, tzinfo=UTC)

KIM_TEXT = ("North Korean leader Kim Jong Un met Russian Culture Minister Olga Lyubimova in "
            "Pyongyang on Sunday, state media reported.\n"
            "Lyubimova led a delegation marking a year of the strategic partnership treaty "
            "between North Korea and Russia.\n"
            "Kim said cultural exchanges between the two countries were expanding every day.")

KIM = [  # (key, outlet, title, hours before NOW, text)
    ("herald", "Korea Herald", "Russian culture minister arrives in Pyongyang", 26,
     "Russian Culture Minister Olga Lyubimova arrived in Pyongyang for talks on cultural "
     "exchanges with North Korea.\nKim Jong Un is expected to receive the delegation."),
    ("upi", "UPI", "Kim Jong Un meets Russian Culture Minister amid growing ties", 5, KIM_TEXT),
    ("reuters", "Reuters", "North Korea's Kim hosts Russian culture minister Lyubimova", 3,
     "Kim Jong Un hosted Russia's culture minister Olga Lyubimova, KCNA said on Monday.\n"
     "The visit marks a year of the North Korea Russia partnership treaty.\n"
     "North Korea has sent troops to help Russia in its war against Ukraine."),
    ("yahoo", "Yahoo News", "North Korea's Kim hosts Russian culture minister Lyubimova", 2,
     "Kim Jong Un hosted Russia's culture minister Olga Lyubimova, KCNA said on Monday.\n"
     "The visit marks a year of the North Korea Russia partnership treaty.\n"
     "North Korea has sent troops to help Russia in its war against Ukraine.\n"
     "Yahoo News syndicates this Reuters report."),
    ("hill", "The Hill", "Kim and Lyubimova pledge deeper North Korea Russia cultural ties", 1,
     "Kim Jong Un and Olga Lyubimova pledged deeper cultural cooperation between North Korea "
     "and Russia.\nA concert by Russian and North Korean performers closed the visit."),
]

OTHERS = [
    ("ferry", "Lakeside Gazette", "Lake ferry service resumes after winter storms", 4,
     "The lake ferry resumed its crossings on Sunday after winter storms damaged both piers."),
    ("orchard", "Valley Herald", "Orchards expect a record apple harvest", 30,
     "Growers in the valley expect a record apple harvest after a mild spring."),
]

KIM_TAGS = [Tag("KimJongUn", "Kim Jong Un", "person", 1.0),
            Tag("NorthKorea", "North Korea", "place", 0.9),
            Tag("Russia", "Russia", "place", 0.8),
            Tag("OlgaLyubimova", "Olga Lyubimova", "person", 0.7)]


@dataclass(frozen=True)
class World:
    """Ids of what the fixture stored."""

    ids: dict[str, int]
    kim_story: int
    ferry_story: int


def _article(key: str, outlet: str, title: str, hours: float, text: str) -> Article:
    slug = outlet.lower().replace(" ", "-")
    return Article(url=f"https://{slug}.example/{key}", title=title, text=text, outlet=outlet,
                   published_at=NOW - timedelta(hours=hours), language="en",
                   copyright=f"Copyright 2025 {outlet}.")


def _story(session: object, title: str, members: list[ArticleRow]) -> int:
    """A story row as the clusterer would save it, and its articles pointed at it."""
    assert hasattr(session, "add") and hasattr(session, "flush")
    row = StoryRow(title=title, lead_article_id=members[0].id, first_outlet=members[0].outlet,
                   first_seen_at=members[0].sort_time, updated_at=members[-1].sort_time,
                   article_count=len(members), outlet_count=len({m.outlet for m in members}))
    session.add(row)
    session.flush()
    for member in members:
        member.story_id = row.id
    session.flush()
    return row.id


def _fill(db: Database) -> World:
    with db.write() as session:
        ids = {spec[0]: articles.save_article(session, _article(*spec)).article_id
               for spec in KIM + OTHERS}
        for key, *_ in KIM:
            tags.set_article_tags(session, ids[key], KIM_TAGS)
        tags.set_article_tags(session, ids["ferry"], [Tag("Ferries", "Ferries", "topic", 1.0)])
        dedup.mark_duplicate(session, ids["yahoo"], ids["reuters"])
        kim_rows = [session.get(ArticleRow, ids[key]) for key, *_ in KIM]
        kim_story = _story(session, "Kim Jong Un meets Russian culture minister",
                           [r for r in kim_rows if r is not None])
        ferry_row = session.get(ArticleRow, ids["ferry"])
        assert ferry_row is not None
        ferry_story = _story(session, "Lake ferry resumes", [ferry_row])
    return World(ids, kim_story, ferry_story)


@pytest.fixture
def world_app(settings: Settings) -> Iterator[tuple[FastAPI, World]]:
    db = Database(settings.resolved_database_url)
    db.migrate()
    world = _fill(db)
    app = create_app(settings.with_(page_size=2), db)
    app.state.clock = lambda: NOW
    yield app, world
    db.dispose()


@pytest.fixture
def world(world_app: tuple[FastAPI, World]) -> World:
    return world_app[1]


@pytest.fixture
def client(world_app: tuple[FastAPI, World]) -> TestClient:
    return TestClient(world_app[0], raise_server_exceptions=False)


def _main(html: str) -> str:
    return html[html.index("<main"):]


def _section(html: str, marker: str) -> str:
    """The page from a section heading to the next section heading."""
    start = html.index(marker)
    end = html.find('class="section-label"', start + len(marker))
    return html[start:end if end != -1 else len(html)]


# ---------- article page ----------

def test_article_blocks_in_order_with_tags(client: TestClient, world: World) -> None:
    html = _main(client.get(f"/articles/{world.ids['upi']}").text)
    markers = ["Kim Jong Un meets Russian Culture Minister amid growing ties",
               "UPI", "Lyubimova led a delegation", "Copyright 2025 UPI.",
               ">Hashtags<", "#KimJongUn", "#OlgaLyubimova", ">Try our AI features<",
               ">Comments<", ">Related Articles<"]
    positions = [html.index(m) for m in markers]
    assert positions == sorted(positions)
    assert "No hashtags yet." not in html
    assert '?ai=summary#ai-features">Summary</a>' in html  # results load on demand


def test_hashtags_link_to_tag_pages_with_kind(client: TestClient, world: World) -> None:
    block = _section(client.get(f"/articles/{world.ids['upi']}").text, ">Hashtags<")
    assert '<a class="tag" href="/tags/NorthKorea">#NorthKorea</a>' in block
    assert re.search(r'#KimJongUn</a><span class="tag-kind">person</span>', block)
    # most salient first
    assert block.index("#KimJongUn") < block.index("#NorthKorea") < block.index("#Russia")


def test_article_without_tags_says_so(client: TestClient, world: World) -> None:
    html = client.get(f"/articles/{world.ids['orchard']}").text
    assert "No hashtags yet." in html
    assert "Part of a story" not in html and "Also published by" not in html


def test_part_of_a_story_line(client: TestClient, world: World) -> None:
    html = client.get(f"/articles/{world.ids['hill']}").text
    assert "Part of a story" in html
    assert (f'<a href="/stories/{world.kim_story}">Full coverage: 5 articles from 5 outlets</a>'
            in html)
    single = client.get(f"/articles/{world.ids['ferry']}").text
    assert "Part of a story" not in single and "/stories/" not in single


def test_also_published_by_and_copy_note(client: TestClient, world: World) -> None:
    original = client.get(f"/articles/{world.ids['reuters']}").text
    also = original[original.index("Also published by"):original.index(">Hashtags<")]
    assert f'<a href="/articles/{world.ids["yahoo"]}">Yahoo News</a>' in also
    assert "syndicated copy" not in original[:original.index(">Related Articles<")]
    copy = client.get(f"/articles/{world.ids['yahoo']}").text
    assert "This is a syndicated copy." in copy
    assert f'href="/articles/{world.ids["reuters"]}">Read the original from Reuters' in copy


def test_related_never_lists_copies(client: TestClient, world_app: tuple[FastAPI, World],
                                    world: World) -> None:
    reuters, yahoo = world.ids["reuters"], world.ids["yahoo"]
    app = world_app[0]
    with app.state.db.read() as session:  # the lexical search alone would list the copy
        row = session.get(ArticleRow, reuters)
        assert yahoo in {h.article.id for h in search.related(session, row, limit=10)}
    for own, other in ((reuters, yahoo), (yahoo, reuters)):
        html = client.get(f"/articles/{own}").text
        related = html[html.index(">Related Articles<"):]
        assert f'href="/articles/{other}"' not in related
        assert "related-item" in related  # still shows the other outlets' angles
        api = client.get(f"/api/articles/{own}").json()["related"]
        assert other not in {r["id"] for r in api}


# ---------- story page ----------

def test_story_page_header_and_brief(client: TestClient, world: World) -> None:
    html = _main(client.get(f"/stories/{world.kim_story}?brief=1").text)
    assert "Full coverage" in html and "Kim Jong Un meets Russian culture minister" in html
    facts = html[html.index("First reported"):html.index(">Story brief<")]
    assert "Korea Herald" in facts and "1 day ago" in facts
    assert "Latest update" in facts and "1 hour ago" in facts
    assert "5 articles from 5 outlets" in facts
    brief = _section(html, ">Story brief<")
    assert ">What happened<" in brief and 'class="cite" href="/articles/' in brief


def test_story_page_groups_by_outlet_in_order_of_first_report(client: TestClient,
                                                              world: World) -> None:
    html = _main(client.get(f"/stories/{world.kim_story}").text)
    groups = html[html.index(">Coverage by outlet<"):html.index('id="timeline-heading"')]
    order = [groups.index(f'aria-label="{o}"') for o in
             ("Korea Herald", "UPI", "Reuters", "Yahoo News", "The Hill")]
    assert order == sorted(order)
    yahoo = groups[groups.index('aria-label="Yahoo News"'):groups.index('aria-label="The Hill"')]
    assert "syndicated copy" in yahoo


def test_story_page_timeline_oldest_first_by_day(client: TestClient, world: World) -> None:
    html = _main(client.get(f"/stories/{world.kim_story}").text)
    timeline = html[html.index('id="timeline-heading"'):]
    assert timeline.index("Saturday, 21 June 2025") < timeline.index("Sunday, 22 June 2025")
    links = re.findall(r'<a href="/articles/(\d+)">', timeline)
    assert [int(i) for i in links] == [world.ids[k] for k, *_ in KIM]
    assert '<time class="clock" datetime="2025-06-22T07:00:00Z">07:00</time>' in timeline


def _earlier_kim_story(app: FastAPI, world: World, topic: int = 7) -> int:
    """A second story of the Kim story's topic (an earlier visit), and a lone report in it."""
    with app.state.db.write() as session:
        made = []
        for key, hours in (("visit-a", 200), ("visit-b", 199), ("lone", 198)):
            saved = articles.save_article(session, _article(
                key, "Korea Herald" if key != "visit-b" else "UPI",
                "Russian foreign minister visits Pyongyang", hours,
                "Russia's foreign minister held talks in Pyongyang with Kim Jong Un."))
            row = session.get(ArticleRow, saved.article_id)
            assert row is not None
            made.append(row)
        earlier = _story(session, "Russian foreign minister visits Pyongyang", made[:2])
        lone = _story(session, "A lone report on the topic", made[2:])
        for story_id in (world.kim_story, earlier, lone):
            row = session.get(StoryRow, story_id)
            assert row is not None
            row.topic_id = topic
    return earlier


def test_story_page_lists_more_on_its_topic(client: TestClient,
                                            world_app: tuple[FastAPI, World],
                                            world: World) -> None:
    earlier = _earlier_kim_story(world_app[0], world)
    html = client.get(f"/stories/{world.kim_story}").text
    block = _section(html, ">More on this topic<")
    assert f'<a href="/stories/{earlier}">Russian foreign minister visits Pyongyang</a>' in block
    assert "2 articles from 2 outlets" in block
    assert "A lone report" not in block  # one-article stories are not listed
    back = _section(client.get(f"/stories/{earlier}").text, ">More on this topic<")
    assert f'href="/stories/{world.kim_story}"' in back
    assert "More on this topic" not in client.get(f"/stories/{world.ferry_story}").text


def test_api_story_topic_and_more_on_topic(client: TestClient,
                                           world_app: tuple[FastAPI, World],
                                           world: World) -> None:
    earlier = _earlier_kim_story(world_app[0], world)
    data = client.get(f"/api/stories/{world.kim_story}").json()
    assert data["topic_id"] == 7
    assert [s["id"] for s in data["more_on_topic"]] == [earlier]
    assert data["more_on_topic"][0]["article_count"] == 2
    ferry = client.get(f"/api/stories/{world.ferry_story}").json()
    assert (ferry["topic_id"], ferry["more_on_topic"]) == (None, [])


@pytest.mark.parametrize("path", ["/stories/999", "/stories/0",
                                  "/stories/99999999999999999999999"])
def test_unknown_story_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]


# ---------- tag page ----------

def test_tag_page_lists_newest_first_paged_without_copies(client: TestClient,
                                                          world: World) -> None:
    first = _main(client.get("/tags/NorthKorea").text)
    assert "#NorthKorea" in first and "Hashtag · place" in first and "4 articles" in first
    assert first.index("Kim and Lyubimova pledge") < first.index("hosts Russian culture")
    assert f'href="/articles/{world.ids["yahoo"]}"' not in first
    assert 'href="/tags/NorthKorea?page=2"' in first
    second = _main(client.get("/tags/NorthKorea", params={"page": 2}).text)
    assert "Kim Jong Un meets Russian Culture Minister" in second
    assert "Russian culture minister arrives in Pyongyang" in second


def test_tag_page_is_case_insensitive_and_404s(client: TestClient) -> None:
    assert client.get("/tags/northkorea").status_code == 200
    for path in ("/tags/Nobody", "/tags/" + "x" * 300, "/tags/NorthKorea?page=0"):
        response = client.get(path)
        assert response.status_code in (400, 404)
        assert "text/html" in response.headers["content-type"]


# ---------- front page ----------

def test_front_page_top_stories(client: TestClient, world: World) -> None:
    html = _main(client.get("/").text)
    top = html[html.index(">Top stories<"):html.index(">Latest<")]
    cluster = top[top.index('class="card cluster'):]
    assert "Russian culture minister arrives in Pyongyang" in cluster  # the lead
    assert f'href="/stories/{world.kim_story}"' in cluster
    assert "Full coverage · 5 outlets" in cluster
    others = cluster[cluster.index("cluster-others"):cluster.index("full-coverage")]
    assert len(re.findall(r'class="other-title"', others)) == 3
    assert "Korea Herald" not in others  # the lead's outlet is not repeated
    assert "Lake ferry service resumes" in top  # a one-article story: a plain card
    assert f'href="/stories/{world.ferry_story}"' not in top


def test_front_page_latest_hides_copies(client: TestClient, world: World) -> None:
    pages = [client.get("/", params={"page": n}).text for n in range(1, 5)]
    latest = "".join(p[p.index('id="latest-heading"'):] for p in pages)
    assert f'href="/articles/{world.ids["reuters"]}"' in latest
    assert f'href="/articles/{world.ids["yahoo"]}"' not in latest
    assert "cluster" not in _main(pages[1])  # top stories sit on the first page only


def test_front_page_trending_then_fallback(world_app: tuple[FastAPI, World]) -> None:
    app = world_app[0]
    client = TestClient(app)
    sidebar = client.get("/").text.split('class="sidebar"')[1]
    assert ">Trending<" in sidebar and 'href="/tags/KimJongUn"' in sidebar
    assert sidebar.index(">Trending<") < sidebar.index(">Outlets<")
    app.state.clock = lambda: NOW + timedelta(days=90)  # nothing is recent any more
    sidebar = client.get("/").text.split('class="sidebar"')[1]
    assert ">Popular topics<" in sidebar
    assert sidebar.index("#KimJongUn") < sidebar.index("#Ferries")  # most used first


# ---------- API ----------

def test_api_stories_list(client: TestClient, world: World) -> None:
    data = client.get("/api/stories", params={"limit": 1}).json()
    assert set(data) == {"items", "total", "limit", "offset"} and data["total"] == 2
    item = data["items"][0]
    assert set(item) == {"id", "title", "first_seen_at", "updated_at", "article_count",
                         "outlet_count", "first_outlet", "lead_article_id", "topic_id"}
    assert item["id"] == world.kim_story and item["article_count"] == 5
    assert item["first_outlet"] == "Korea Herald" and item["first_seen_at"].endswith("Z")
    second = client.get("/api/stories", params={"limit": 1, "page": 2}).json()
    assert second["items"][0]["id"] == world.ferry_story and second["offset"] == 1


def test_api_story_detail(client: TestClient, world: World) -> None:
    data = client.get(f"/api/stories/{world.kim_story}").json()
    assert [a["id"] for a in data["articles"]] == [world.ids[k] for k, *_ in KIM]
    assert set(data["articles"][0]) == {"id", "title", "outlet", "published_at", "url",
                                        "duplicate_of"}
    assert data["outlets"][0] == {"outlet": "Korea Herald", "articles": 1,
                                  "first_published_at": "2025-06-21T10:00:00Z"}
    assert [o["outlet"] for o in data["outlets"]][-1] == "The Hill"
    times = [t["at"] for t in data["timeline"]]
    assert times == sorted(times) and set(data["timeline"][0]) == {"at", "id", "outlet", "title"}


def test_api_tag(client: TestClient, world: World) -> None:
    data = client.get("/api/tags/NorthKorea", params={"limit": 3}).json()
    assert data["tag"] == {"slug": "NorthKorea", "name": "North Korea", "kind": "place"}
    assert data["total"] == 4 and len(data["items"]) == 3
    assert data["items"][0]["id"] == world.ids["hill"] and "related" not in data["items"][0]
    rest = client.get("/api/tags/NorthKorea", params={"limit": 3, "offset": 3}).json()
    assert [a["id"] for a in rest["items"]] == [world.ids["herald"]]


def test_api_article_story_fields(client: TestClient, world: World) -> None:
    data = client.get(f"/api/articles/{world.ids['reuters']}").json()
    assert data["hashtags"][0] == {"slug": "KimJongUn", "name": "Kim Jong Un", "kind": "person"}
    assert data["story_id"] == world.kim_story and data["duplicate_of"] is None
    assert data["duplicates"] == [{"id": world.ids["yahoo"], "outlet": "Yahoo News",
                                   "url": "https://yahoo-news.example/yahoo"}]
    copy = client.get(f"/api/articles/{world.ids['yahoo']}").json()
    assert copy["duplicate_of"] == world.ids["reuters"]
    assert [d["id"] for d in copy["duplicates"]] == [world.ids["reuters"]]


@pytest.mark.parametrize(("path", "status"), [
    ("/api/stories/999", 404), ("/api/stories/0", 404),
    ("/api/stories/99999999999999999999999", 404), ("/api/stories/abc", 422),
    ("/api/tags/Nobody", 404), ("/api/tags/" + "x" * 300, 404),
    ("/api/stories?limit=0", 422), ("/api/stories?offset=1&page=1", 400),
    ("/api/tags/Russia?page=0", 422), ("/api/tags/Russia?limit=101", 422),
])
def test_api_errors_are_json(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_empty_database_has_no_top_stories(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    html = client.get("/").text
    assert "No articles yet." in html and "cluster" not in html
    assert client.get("/api/stories").json() == {"items": [], "total": 0, "limit": 20,
                                                 "offset": 0}


# ---------- security ----------

@pytest.mark.parametrize("path", ["/stories/1", "/tags/NorthKorea", "/tags/Nobody",
                                  "/api/stories", "/api/stories/1", "/api/tags/Russia"])
def test_security_headers_on_new_pages(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "style-src 'self'" in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_hostile_tag_names_are_escaped(world_app: tuple[FastAPI, World],
                                       world: World) -> None:
    app = world_app[0]
    with app.state.db.write() as session:
        tags.set_article_tags(session, world.ids["orchard"],
                              [Tag("Apples", "<script>alert(1)</script>", "topic", 1.0)])
    html = TestClient(app).get("/tags/Apples").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
