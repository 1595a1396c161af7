"""The ingest pipeline over real HTTP on loopback: add, ingest, failures, local paths, CLI."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.config import Settings
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.store import articles, sources
from newsdesk.store.db import Database
from tests.fixtureserver import FixtureServer, Response

PAGES = Path(__file__).parent / "fixtures" / "pages"


def _page(title: str, outlet: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='en'><head><title>{title}</title>"
            f"<meta property='og:site_name' content='{outlet}'>"
            f"<meta property='article:published_time' content='2025-03-04T10:00:00Z'></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article>"
            "<footer>About us</footer></body></html>")


STORY = [
    "The city's harbour authority approved a plan on Monday to electrify every crane at the "
    "container terminal by the end of next year, officials said.",
    "The project will cost about 80 million euros and is paid for in part by a regional "
    "climate fund, according to the authority's annual report.",
    "Dock workers' representatives welcomed the decision but asked for training guarantees "
    "before the first electric cranes arrive in the spring.",
]


def _rss(server: FixtureServer, paths: list[str], ttl: int | None = None) -> str:
    items = "".join(f"<item><title>Item {p}</title><link>{server.url(p)}</link></item>"
                    for p in paths)
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour Times</title>"
            f"<link>{server.base}/</link>{ttl_tag}{items}</channel></rss>")


def test_add_feed_then_ingest_respects_ttl(server: FixtureServer, settings: Settings,
                                          db: Database) -> None:
    server.add("/a1", Response(body=_page("Cranes go electric", "Harbour Times", STORY)))
    feed = server.add("/rss", Response(body=_rss(server, ["/a1"], ttl=180),
                                       content_type="application/rss+xml"))
    pipeline = Pipeline(settings, db)
    assert asyncio.run(pipeline.add(feed)) == ("feed", feed)
    report = asyncio.run(pipeline.run_due())
    assert report.created == 1 and report.errors == []
    with db.read() as session:
        src = sources.list_sources(session)[0]
        assert src.title == "Harbour Times" and src.ttl_minutes == 180
        assert src.next_check_at and src.last_success_at
        # No article from the last week: the posting rate says "daily" (the max), and a
        # TTL only ever pushes a check later (tests/test_schedule.py covers the policy).
        assert (src.next_check_at - src.last_success_at).total_seconds() == 24 * 3600


def test_add_home_page_discovers_its_feed(server: FixtureServer, settings: Settings,
                                         db: Database) -> None:
    feed = server.add("/feed.xml", Response(body=_rss(server, []),
                                            content_type="application/rss+xml"))
    home = server.add("/", Response(
        body="<html><head><link rel='alternate' type='application/rss+xml' href='/feed.xml'>"
             "</head><body>Welcome</body></html>"))
    assert asyncio.run(Pipeline(settings, db).add(home)) == ("feed", feed)


def test_add_article_url_ingests_it(server: FixtureServer, settings: Settings,
                                    db: Database) -> None:
    url = server.add("/story", Response(body=_page("Cranes go electric", "Harbour Times", STORY)))
    kind, title = asyncio.run(Pipeline(settings, db).add(url))
    assert (kind, title) == ("article", "Cranes go electric")
    with db.read() as session:
        row = articles.latest_articles(session)[0]
        assert row.text.split("\n") == STORY and row.outlet == "Harbour Times"


def test_broken_source_backs_off_and_others_go_on(server: FixtureServer, settings: Settings,
                                                  db: Database) -> None:
    server.add("/a1", Response(body=_page("Cranes go electric", "Harbour Times", STORY)))
    good = server.add("/good", Response(body=_rss(server, ["/a1"]),
                                        content_type="application/rss+xml"))
    broken = server.add("/broken", Response(body="<html><body>not a feed</body></html>"))
    down = server.add("/down", Response(503, "busy", headers={"Retry-After": "7200"}))
    with db.write() as session:
        for url in (good, broken, down):
            sources.add_source(session, url)
    report = asyncio.run(Pipeline(settings, db).run_due())
    assert report.created == 1 and report.failed_sources == 2
    with db.read() as session:
        by_url = {s.url: s for s in sources.list_sources(session)}
    assert "not a feed" in by_url[broken].last_error and by_url[broken].error_count == 1
    assert by_url[down].error_count == 1 and "503" in by_url[down].last_error
    waited = by_url[down].next_check_at - by_url[down].last_checked_at  # type: ignore[operator]
    assert waited.total_seconds() >= 7200  # Retry-After beats the 5-minute first back-off


def test_robots_disallowed_page_is_not_fetched(server: FixtureServer, settings: Settings,
                                               db: Database) -> None:
    server.add("/robots.txt", Response(body="User-agent: *\nDisallow: /private/\n",
                                       content_type="text/plain"))
    server.add("/private/a", Response(body=_page("Secret", "Harbour Times", STORY)))
    feed = server.add("/rss", Response(body=_rss(server, ["/private/a"]),
                                       content_type="application/rss+xml"))
    with db.write() as session:
        sources.add_source(session, feed)
    report = asyncio.run(Pipeline(settings, db).run_due())
    assert report.created == 0 and any("robots" in e for e in report.errors)
    assert server.hits("/private/a") == []


def test_refused_address_is_a_source_error(server: FixtureServer, strict_settings: Settings,
                                           ) -> None:
    db = Database(strict_settings.resolved_database_url)
    db.migrate()
    with db.write() as session:
        sources.add_source(session, server.url("/rss"))
    report = asyncio.run(Pipeline(strict_settings, db).run_due())
    assert report.failed_sources == 1 and server.connections == 0


def test_ingest_path_reads_html_gz_and_jsonl_and_skips_bad_lines(tmp_path: Path,
                                                                 settings: Settings,
                                                                 db: Database) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.html.gz").write_bytes(gzip.compress(
        _page("Cranes go electric", "Harbour Times", STORY).encode()))
    lines = [json.dumps({"id": 1, "title": "Budget passes", "text": "The council passed it.\n"
                         "Schools get more.", "outlet": "Civic Wire"}), "{not json", "[1, 2]",
             json.dumps({"id": 3, "title": "", "text": "no title"})]
    (folder / "corpus.jsonl").write_text("\n".join(lines), encoding="utf-8")
    pipeline = Pipeline(settings, db)
    report = pipeline.ingest_path(folder)
    assert report.created == 2 and len(report.errors) == 3
    again = pipeline.ingest_path(folder)
    assert again.created == 0 and again.unchanged == 2


def test_cli_import_export_opml_and_jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    from newsdesk.cli import app

    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path))
    opml = tmp_path / "in.opml"
    opml.write_text("<?xml version='1.0'?><opml version='2.0'><head><title>x</title></head><body>"
                    "<outline text='World'><outline type='rss' text='Harbour Times' "
                    "xmlUrl='https://harbour.example.com/rss'/></outline></body></opml>")
    runner = CliRunner()
    result = runner.invoke(app, ["import-opml", str(opml)])
    assert result.exit_code == 0, result.output
    assert "1 new sources" in result.output
    out = runner.invoke(app, ["export-opml"])
    assert "https://harbour.example.com/rss" in out.output and 'text="World"' in out.output
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"title": "Budget passes", "text": "The council passed it.",
                                  "outlet": "Civic Wire"}) + "\n")
    assert runner.invoke(app, ["ingest", str(corpus)]).exit_code == 0
    exported = runner.invoke(app, ["export", "--jsonl"]).output.strip().splitlines()
    record = json.loads(exported[-1])
    assert record["title"] == "Budget passes" and set(record) >= {
        "id", "url", "canonical_url", "title", "outlet", "byline", "published_at", "language",
        "text", "copyright", "image", "hashtags", "related"}
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no such file" in missing.output


# -- crawl_pages: full-text feeds are stored from the feed ----------------------------

LONG_BODY = "".join(f"<p>{p} {p}</p>" for p in STORY * 4)  # ~300 words: a full article
TEASER = "<p>The harbour authority approved a plan to electrify every crane.</p>"


def _full_text_rss(server: FixtureServer, items: dict[str, str]) -> str:
    entries = "".join(
        f"<item><title>Story {path}</title><link>{server.url(path)}</link>"
        f"<pubDate>Tue, 04 Mar 2025 10:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        for path, body in items.items())
    return ("<?xml version='1.0'?><rss version='2.0' "
            "xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel>"
            f"<title>Harbour Times</title><link>{server.base}/</link>"
            "<skipHours><hour>3</hour></skipHours><skipDays><day>Sunday</day></skipDays>"
            f"{entries}</channel></rss>")


def _crawl(server: FixtureServer, settings: Settings, db: Database, mode: str):  # type: ignore[no-untyped-def]
    for path in ("/full", "/teaser"):
        extra = f"Officials described the {path[1:]} plan at length in a second statement."
        server.add(path, Response(body=_page(f"Page {path}", "Harbour Times", [*STORY, extra])))
    feed = server.add("/rss", Response(
        body=_full_text_rss(server, {"/full": LONG_BODY, "/teaser": TEASER}),
        content_type="application/rss+xml"))
    pipeline = Pipeline(settings.with_(crawl_pages=mode), db)
    with db.write() as session:
        sources.add_source(session, feed)
    report = asyncio.run(pipeline.run_due())
    with db.read() as session:
        stored = {a.url.rsplit("/", 1)[-1]: (a.title, a.published_at, a.text)
                  for a in articles.latest_articles(session)}
        src = sources.list_sources(session)[0]
        assert (src.skip_hours, src.skip_days) == ("3", "Sunday")
    return report, stored


def test_crawl_auto_stores_full_text_items_without_fetching_their_page(
        server: FixtureServer, settings: Settings, db: Database) -> None:
    report, stored = _crawl(server, settings, db, "auto")
    assert report.created == 2 and report.errors == []
    assert server.hits("/full") == [] and len(server.hits("/teaser")) == 1
    title, published, text = stored["full"]
    assert title == "Story /full" and published is not None and published.year == 2025
    assert "electrify every crane" in text and "<p>" not in text
    assert stored["teaser"][0] == "Page /teaser"  # the teaser's page was extracted


def test_crawl_always_fetches_every_page(server: FixtureServer, settings: Settings,
                                         db: Database) -> None:
    report, stored = _crawl(server, settings, db, "always")
    assert report.created == 2
    assert len(server.hits("/full")) == 1 and len(server.hits("/teaser")) == 1
    assert stored["full"][0] == "Page /full"


def test_crawl_never_fetches_no_page(server: FixtureServer, settings: Settings,
                                     db: Database) -> None:
    report, stored = _crawl(server, settings, db, "never")
    assert server.hits("/full") == [] and server.hits("/teaser") == []
    assert report.created == 1 and len(report.errors) == 1  # the teaser is too short to keep
    assert "crawl_pages is 'never'" in report.errors[0] and set(stored) == {"full"}


def test_feed_item_scripts_and_markup_never_reach_the_text(server: FixtureServer,
                                                          settings: Settings,
                                                          db: Database) -> None:
    hostile = ("<script>alert(1)</script><style>p{}</style><iframe src='x'>frame</iframe>"
               + LONG_BODY + "<p>© 2025 Harbour Times. All rights reserved.</p>")
    feed = server.add("/rss", Response(body=_full_text_rss(server, {"/h": hostile}),
                                       content_type="application/rss+xml"))
    with db.write() as session:
        sources.add_source(session, feed)
    assert asyncio.run(Pipeline(settings, db).run_due()).created == 1
    with db.read() as session:
        row = articles.latest_articles(session)[0]
    assert "alert" not in row.text and "frame" not in row.text and "p{}" not in row.text
    assert "rights reserved" in row.copyright and "rights reserved" not in row.text


def test_feed_lines_survive_hostile_markup() -> None:
    from newsdesk.ingest.feedtext import feed_lines

    assert feed_lines("<p>one<br>two</p>tail<ul><li>x</li></ul>") == ["one", "two", "tail", "x"]
    assert feed_lines("<!-- hidden --><p>&amp; ok</p><script>bad()</script>") == ["& ok"]
    assert feed_lines("\x00") == [] and feed_lines("plain words") == ["plain words"]
    assert feed_lines("<div>" * 20000 + "deep" + "</div>" * 20000) in ([], ["deep"])
