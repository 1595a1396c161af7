"""The AI block on the article and story pages, its JSON API and its CLI, end to end.

One real embedder and one database per module: a few made-up articles (a
story reported by three outlets, a copy, an unrelated one) plus, when the seed
is present, its UPI article built at run time. Pages are fetched the way a
browser without JavaScript would: plain GET links and forms.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsdesk.config import Settings
from newsdesk.enrich.tags import Tag
from newsdesk.model import Article
from newsdesk.store import articles, dedup, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, StoryRow
from newsdesk.web.ai import FAILED
from newsdesk.web.app import create_app
from tests.conftest import SEED
from tests.seedpages import parse_seed

NOW = datetime(2025, 8, 21, 12, 0, tzinfo=UTC)
TROOPS = "North Korea has sent some 14,000 troops"

HARBOUR = [  # (key, outlet, title, hours before NOW, text): one story, three outlets
    ("gazette", "Harbour Gazette", "Storm closes Port Elling harbour for two days", 30,
     "A winter storm closed the harbour of Port Elling on Tuesday, the port authority said.\n"
     "Forty fishing boats stayed at their moorings while waves reached six metres.\n"
     "The harbour master, Ines Varga, said the breakwater had held."),
    ("courier", "Coast Courier", "Port Elling harbour shut as storm batters the coast", 26,
     "The port authority closed the harbour of Port Elling on Tuesday as a winter storm hit.\n"
     "Waves reached six metres and forty fishing boats stayed at their moorings.\n"
     "Ferry passengers were put up in the town's sports hall overnight."),
    ("radio", "Valley Radio", "Port Elling harbour reopens after the storm", 2,
     "Port Elling harbour reopened on Thursday after a winter storm closed it for two days.\n"
     "The port authority said repairs to the northern pier would cost 2.4 million euros.\n"
     "Fishing boats left for the first time since Monday."),
    ("copy", "Wire Mirror", "Storm closes Port Elling harbour for two days", 29,
     "A winter storm closed the harbour of Port Elling on Tuesday, the port authority said.\n"
     "Forty fishing boats stayed at their moorings while waves reached six metres.\n"
     "The harbour master, Ines Varga, said the breakwater had held."),
]
ORCHARD = ("orchard", "Valley Herald", "Orchards expect a record apple harvest", 40,
           "Growers in the valley expect a record apple harvest after a mild spring.\n"
           "The cooperative will hire two hundred pickers in September.")
HARBOUR_TAGS = [Tag("PortElling", "Port Elling", "place", 1.0),
                Tag("InesVarga", "Ines Varga", "person", 0.8)]


@dataclass(frozen=True)
class World:
    ids: dict[str, int]
    story: int
    data_dir: Path


def _article(key: str, outlet: str, title: str, hours: float, text: str,
             copyright_line: str = "") -> Article:
    slug = re.sub(r"[^a-z]+", "-", outlet.lower())
    return Article(url=f"https://{slug}.example/{key}", title=title, text=text, outlet=outlet,
                   published_at=NOW - timedelta(hours=hours), language="en",
                   copyright=copyright_line or f"Copyright 2025 {outlet}.")


def _story(session: object, title: str, rows: list[ArticleRow]) -> int:
    assert hasattr(session, "add") and hasattr(session, "flush")
    story = StoryRow(title=title, lead_article_id=rows[0].id, first_outlet=rows[0].outlet,
                     first_seen_at=rows[0].sort_time, updated_at=rows[-1].sort_time,
                     article_count=len(rows), outlet_count=len({r.outlet for r in rows}))
    session.add(story)
    session.flush()
    for row in rows:
        row.story_id = story.id
    return story.id


def _seed_articles() -> list[tuple[str, Article]]:
    if not SEED.exists():
        return []
    main, _related = parse_seed(SEED)
    return [("upi", _article("upi", "UPI", main.title, 24, "\n".join(main.paragraphs),
                             main.copyright))]


def _fill(db: Database, data_dir: Path) -> World:
    with db.write() as session:
        specs = [(spec[0], _article(*spec)) for spec in [*HARBOUR, ORCHARD]] + _seed_articles()
        ids = {key: articles.save_article(session, art).article_id for key, art in specs}
        for key in ("gazette", "courier", "radio"):
            tags.set_article_tags(session, ids[key], HARBOUR_TAGS)
        if "upi" in ids:
            tags.set_article_tags(session, ids["upi"], [
                Tag("KimJongUn", "Kim Jong Un", "person", 1.0),
                Tag("NorthKorea", "North Korea", "place", 0.9)])
        dedup.mark_duplicate(session, ids["copy"], ids["gazette"])
        rows = [session.get(ArticleRow, ids[k]) for k in ("gazette", "courier", "radio", "copy")]
        story = _story(session, "Storm closes Port Elling harbour", [r for r in rows if r])
    return World(ids, story, data_dir)


@pytest.fixture(scope="module")
def world_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, World]]:
    pytest.importorskip("onnxruntime")
    data_dir = tmp_path_factory.mktemp("ai-web")
    settings = Settings(data_dir=data_dir, sample="")
    db = Database(settings.resolved_database_url)
    db.migrate()
    world = _fill(db, data_dir)
    app = create_app(settings, db)
    app.state.clock = lambda: NOW
    yield app, world
    db.dispose()


@pytest.fixture(scope="module")
def world(world_app: tuple[FastAPI, World]) -> World:
    return world_app[1]


@pytest.fixture(scope="module")
def client(world_app: tuple[FastAPI, World]) -> TestClient:
    return TestClient(world_app[0], raise_server_exceptions=False)


@pytest.fixture
def upi(world: World) -> int:
    if "upi" not in world.ids:
        pytest.skip("seed page not present")
    return world.ids["upi"]


def _block(page: str, section_id: str = "ai-features") -> str:
    start = page.index(f'id="{section_id}"')
    end = page.find("<section", start)
    return page[start:end if end != -1 else len(page)]


def _body(page: str) -> str:
    return page[page.index('class="story-body"'):page.index('class="copyright"')]


def _cites(block: str) -> list[str]:
    return re.findall(r'class="cite[^"]*" href="([^"]+)"', block)


def _text(fragment: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", "", fragment))


# ---------- article page ----------

def test_plain_article_view_offers_features_without_computing(client: TestClient,
                                                               world: World) -> None:
    page = client.get(f"/articles/{world.ids['orchard']}").text
    block = _block(page, "ai-features")
    path = f"/articles/{world.ids['orchard']}"
    assert f'href="{path}?ai=summary#ai-features"' in block
    assert f'href="{path}?ai=keypoints#ai-features"' in block
    assert f'<form class="ai-ask" action="{path}#ai-features" method="get">' in block
    assert 'class="ai-result"' not in block
    markers = [">Hashtags<", ">Try our AI features<", ">Comments<", ">Related Articles<"]
    assert [page.index(m) for m in markers] == sorted(page.index(m) for m in markers)


def test_body_sentences_carry_the_anchors_citations_use(client: TestClient,
                                                        world: World) -> None:
    body = _body(client.get(f"/articles/{world.ids['radio']}").text)
    assert body.count("<p>") == 3
    assert re.search(r'<p><span class="sent" id="p1s1">Port Elling harbour reopened', body)
    assert 'id="p2s1">The port authority said repairs' in body
    assert 'id="p3s1">Fishing boats left' in body


def test_summary_links_each_sentence_to_the_body(client: TestClient, world: World) -> None:
    page = client.get(f"/articles/{world.ids['gazette']}?ai=summary").text
    block = _block(page)
    assert ">Summary</h3>" in block and 'aria-current="true">Summary<' in block
    hrefs = _cites(block)
    assert 1 <= len(hrefs) <= 3
    for href in hrefs:
        assert href.startswith("#p") and f'id="{href[1:]}"' in _body(page)


def test_seed_summary_and_key_points(client: TestClient, upi: int) -> None:
    summary = _text(_block(client.get(f"/articles/{upi}?ai=summary").text))
    assert "Kim" in summary and "Lyubimova" in summary and "anniversary" in summary
    points = _block(client.get(f"/articles/{upi}?ai=keypoints").text)
    items = re.findall(r"<li>", points[points.index('class="ai-points"'):])
    assert 3 <= len(items) <= 5


def test_seed_troops_question_cites_the_sentence_and_its_anchor(client: TestClient,
                                                               upi: int) -> None:
    page = client.get(f"/articles/{upi}", params={"ask": "How many troops has North Korea sent?"})
    block = _block(page.text)
    assert "How many troops has North Korea sent?" in block
    first = re.search(r'class="cite" href="#(p\d+s\d+)">([^<]+)<', block)
    assert first is not None and TROOPS in first.group(2)
    anchor = first.group(1)
    assert re.search(rf'id="{anchor}">{TROOPS}', _body(page.text))


def test_question_over_all_coverage_links_to_other_articles(client: TestClient,
                                                          world: World) -> None:
    page = client.get(f"/articles/{world.ids['orchard']}",
                      params={"ask": "How much will the pier repairs cost?", "scope": "all"}).text
    block = _block(page)
    assert f'href="/articles/{world.ids["radio"]}#p2s1"' in block
    assert "2.4 million euros" in block


def test_absent_answer_says_not_found(client: TestClient, world: World) -> None:
    page = client.get(f"/articles/{world.ids['gazette']}",
                      params={"ask": "Who won the chess championship in Oslo?"}).text
    block = _block(page)
    assert '<p class="ai-notfound">Not found in the coverage.</p>' in block
    assert not _cites(block)


def test_explain_offers_hashtags_and_builds_a_card(client: TestClient, world: World) -> None:
    path = f"/articles/{world.ids['gazette']}"
    plain = _block(client.get(path).text)
    assert '<button type="submit" name="explain" value="PortElling"' in plain
    block = _block(client.get(path, params={"explain": "InesVarga"}).text)
    assert '<h3 class="ai-title">Ines Varga</h3>' in block
    assert "harbour master" in block and "Recent mentions" in block


def test_unknown_tag_and_odd_parameters_never_break_the_page(client: TestClient,
                                                            world: World) -> None:
    path = f"/articles/{world.ids['gazette']}"
    unknown = client.get(path, params={"explain": "NoSuchTag"})
    assert unknown.status_code == 200 and 'class="ai-error"' in _block(unknown.text)
    for params in ({"ai": "bogus"}, {"ask": " ", "scope": "everywhere"}, {"ask": "x" * 5000}):
        response = client.get(path, params=params)
        assert response.status_code == 200
        assert "Storm closes Port Elling harbour" in response.text


def test_a_failing_service_is_a_one_line_notice(world_app: tuple[FastAPI, World],
                                                client: TestClient) -> None:
    app, world = world_app

    class Broken:
        def summary(self, _article: object) -> None:
            raise RuntimeError("model exploded")

    saved, app.state.ai = app.state.ai, Broken()
    try:
        response = client.get(f"/articles/{world.ids['gazette']}?ai=summary")
    finally:
        app.state.ai = saved
    assert response.status_code == 200
    assert f'<p class="ai-error" role="status">{FAILED}</p>' in response.text
    assert "model exploded" not in response.text


def test_pages_work_without_javascript_and_keep_security_headers(client: TestClient,
                                                                  world: World) -> None:
    for path in (f"/articles/{world.ids['gazette']}?ai=keypoints", f"/stories/{world.story}"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
        assert "default-src 'self'" in csp and "form-action 'self'" in csp
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce is not None
        scripts = re.findall(r"<script[^>]*>", response.text)
        assert scripts and all(f'nonce="{nonce.group(1)}"' in s for s in scripts)
        assert all('method="get"' in f for f in re.findall(r"<form[^>]*>", response.text))
    js = client.get("/static/ai.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


# ---------- story page ----------

def test_story_page_brief_is_built_on_demand_then_shown(client: TestClient,
                                                         world: World) -> None:
    """A story never briefed links to its brief (no page waits on embeddings); once
    built, plain views show it."""
    first = _block(client.get(f"/stories/{world.story}").text, "story-brief")
    assert ">What happened</h3>" not in first
    assert f'href="/stories/{world.story}?brief=1#story-brief"' in first
    built = _block(client.get(f"/stories/{world.story}?brief=1").text, "story-brief")
    assert ">What happened</h3>" in built
    again = _block(client.get(f"/stories/{world.story}").text, "story-brief")
    assert again == built


def test_story_page_brief(client: TestClient, world: World) -> None:
    page = client.get(f"/stories/{world.story}?brief=1").text
    brief = _block(page, "story-brief")
    assert ">What happened</h3>" in brief and "reported by" in brief
    hrefs = _cites(brief)
    assert hrefs and all(re.fullmatch(r"/articles/\d+#p\d+s\d+", h) for h in hrefs)
    assert "Wire Mirror" not in brief  # a syndicated copy is not another outlet agreeing
    assert ">What each outlet adds</h3>" in brief and "2.4 million euros" in brief
    assert ">When it was reported</h3>" in brief
    markers = [">Story brief<", ">Ask about this story<", ">Coverage by outlet<"]
    assert [page.index(m) for m in markers] == sorted(page.index(m) for m in markers)


def test_ask_about_a_story(client: TestClient, world: World) -> None:
    page = client.get(f"/stories/{world.story}", params={"ask": "How high were the waves?"}).text
    block = _block(page, "story-ask")
    assert "six metres" in block and re.search(r'href="/articles/\d+#p2s1"', block)


# ---------- API ----------

def test_api_summary_and_keypoints(client: TestClient, world: World) -> None:
    aid = world.ids["gazette"]
    summary = client.get(f"/api/articles/{aid}/summary").json()
    assert set(summary) == {"text", "mode", "note", "sentences"} and summary["mode"] == "extractive"
    assert all(s["article_id"] == aid and re.fullmatch(r"p\d+s\d+", s["anchor"])
               for s in summary["sentences"])
    points = client.get(f"/api/articles/{aid}/keypoints").json()
    assert set(points) == {"points", "mode", "note"} and points["points"]


@pytest.mark.parametrize("body", [
    {"question": "How high were the waves?", "scope": "story"},
    {"question": "How high were the waves?", "scope": "article"},
    {"question": "How high were the waves?", "scope": "all"},
    {"question": "How high were the waves?"},
])
def test_api_ask_scopes(client: TestClient, world: World, body: dict[str, object]) -> None:
    ident = world.story if body.get("scope") == "story" else world.ids["courier"]
    response = client.post("/api/ask", json=dict(body, id=ident))
    assert response.status_code == 200
    data = response.json()
    assert data["found"] and "six metres" in data["citations"][0]["text"]
    assert {"text", "found", "mode", "note", "citations", "question", "scope"} <= set(data)


def test_api_ask_not_found(client: TestClient) -> None:
    data = client.post("/api/ask", json={"question": "What is the capital of Peru?"}).json()
    assert data["found"] is False and data["text"] == "Not found in the coverage."
    assert data["citations"] == []


@pytest.mark.parametrize("body", [
    {}, {"question": ""}, {"question": "   "}, {"question": "x" * 501},
    {"question": "waves?", "scope": "planet"}, {"question": "waves?", "scope": "article"},
    {"question": "waves?", "scope": "story", "id": 0}, {"question": 7}, [],
])
def test_api_ask_rejects_bad_bodies(client: TestClient, body: object) -> None:
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameters"


def test_api_ask_rejects_invalid_json(client: TestClient) -> None:
    response = client.post("/api/ask", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_api_explain_and_brief(client: TestClient, world: World) -> None:
    card = client.get("/api/explain/InesVarga").json()
    assert card["name"] == "Ines Varga" and card["found"]
    assert {"description_sentences", "recent_mentions", "related_terms", "note"} <= set(card)
    brief = client.get(f"/api/stories/{world.story}/brief").json()
    assert {"what_happened", "unique_by_outlet", "timeline", "mode", "note", "text"} <= set(brief)
    outlets = {f["sentence"]["outlet"] for f in brief["what_happened"]}
    assert outlets and "Wire Mirror" not in outlets
    assert [e["outlet"] for e in brief["timeline"]] == [
        "Harbour Gazette", "Coast Courier", "Valley Radio"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/articles/999999/summary", None),
    ("get", "/api/articles/999999/keypoints", None),
    ("get", "/api/explain/NoSuchTag", None),
    ("get", "/api/stories/999999/brief", None),
    ("post", "/api/ask", {"question": "waves?", "scope": "article", "id": 999999}),
    ("post", "/api/ask", {"question": "waves?", "scope": "story", "id": 999999}),
])
def test_api_unknown_ids_are_404(client: TestClient, method: str, path: str,
                                 body: object) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/articles/0/summary", "/api/articles/x/keypoints",
                                  f"/api/stories/{2**64}/brief"])
def test_api_bad_ids_are_422(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 422


# ---------- CLI ----------

def _cli(world: World, *args: str) -> str:
    from newsdesk.cli import app

    result = CliRunner().invoke(app, list(args), env={"NEWSDESK_DATA_DIR": str(world.data_dir)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_summarize(world: World) -> None:
    out = _cli(world, "summarize", str(world.ids["radio"]))
    assert "Summary" in out and "Key points" in out
    assert re.search(r"\[p1s1\] Port Elling harbour reopened", out)


def test_cli_ask(world: World) -> None:
    out = _cli(world, "ask", "How much will the pier repairs cost?")
    assert "2.4 million euros" in out and f"/articles/{world.ids['radio']}#p2s1" in out
    story = _cli(world, "ask", "How high were the waves?", "--scope", "story",
                 "--id", str(world.story))
    assert "six metres" in story
    missing = _cli(world, "ask", "What is the capital of Peru?", "--json")
    assert json.loads(missing.strip().splitlines()[-1])["found"] is False


def test_anchored_body_keeps_every_character_between_sentences() -> None:
    from newsdesk.web.ai import anchored_paragraphs

    text = ('"It is important," he said. "It is necessary to learn more."\n'
            "North Korea has sent some 14,000 troops.Pyongyang acknowledged it. Then more.")
    rendered = ["".join(seg.text for seg in para) for para in anchored_paragraphs(text)]
    assert rendered == text.split("\n")
