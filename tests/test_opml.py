"""OPML import/export: nesting, round trip, and hostile files."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from newsdesk.ingest.opml import OpmlError, OpmlFeed, parse_opml, write_opml
from tests.fixtureserver import FixtureServer, Response

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
DEFAULTS = Path(__file__).resolve().parents[1] / "newsdesk" / "data" / "default-sources.opml"


def test_nested_outlines_take_the_parent_folder_as_category() -> None:
    feeds = parse_opml((FIXTURES / "nested.opml").read_bytes())
    by_url = {f.xml_url: f for f in feeds}
    assert [f.xml_url for f in feeds] == [
        "https://unfiled.example.com/feed",
        "https://gazette.example.org/rss.xml",
        "https://valley.example.net/index.rdf",
        "https://blog.example.io/journal/atom.xml",
        "https://space.example.org/atom",
    ]
    assert by_url["https://unfiled.example.com/feed"] == OpmlFeed(
        "https://unfiled.example.com/feed", "Unfiled Blog", "https://unfiled.example.com/", ""
    )
    gazette = by_url["https://gazette.example.org/rss.xml"]
    assert (gazette.title, gazette.category) == ("Harbour Town Gazette", "News")  # first wins
    assert by_url["https://valley.example.net/index.rdf"].category == "Local"  # nearest folder
    assert by_url["https://blog.example.io/journal/atom.xml"].category == "Tech"
    assert by_url["https://space.example.org/atom"].category == "Space"  # category attribute


def test_round_trip() -> None:
    feeds = [
        OpmlFeed("https://a.example.com/rss", "Alpha & Omega", "https://a.example.com/", "World"),
        OpmlFeed("https://b.example.com/atom", "Beta <news>", "", "Technology"),
        OpmlFeed("https://c.example.com/feed", "Gamma", "https://c.example.com/", ""),
        OpmlFeed("https://d.example.com/feed.json", "Delta \"quoted\"", "", "World"),
    ]
    text = write_opml(feeds, "My subscriptions")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    parsed = parse_opml(text.encode("utf-8"))
    assert sorted(parsed, key=lambda f: f.xml_url) == feeds


def test_written_opml_is_opml_2_with_date_and_folders() -> None:
    text = write_opml([OpmlFeed("https://a.example.com/rss", "A", category="World"),
                       OpmlFeed("https://b.example.com/rss", "B", category="World")], "Subs")
    root = ET.fromstring(text)
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Subs"
    assert parsedate_to_datetime(root.findtext("head/dateCreated") or "").tzinfo is not None
    folders = root.findall("body/outline")
    assert len(folders) == 1 and folders[0].get("text") == "World"
    assert [o.get("xmlUrl") for o in folders[0]] == ["https://a.example.com/rss",
                                                      "https://b.example.com/rss"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "malformed"),
        (b"not xml at all", "malformed"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_malformed_opml(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def test_billion_laughs_is_refused_quickly() -> None:
    data = (FIXTURES / "billion-laughs.xml").read_bytes().replace(b"<rss", b"<opml", 1)
    started = time.perf_counter()
    with pytest.raises(OpmlError, match="unsafe"):
        parse_opml(data)
    assert time.perf_counter() - started < 1


def test_xxe_is_refused_and_nothing_is_fetched(server: FixtureServer) -> None:
    url = server.add("/evil.dtd", Response(body="<!ENTITY x 'pwned'>", content_type="text/plain"))
    data = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{url}">]>\n'
        '<opml version="2.0"><body><outline text="&xxe;&remote;" xmlUrl="https://x.example/"/>'
        "</body></opml>"
    ).encode()
    with pytest.raises(OpmlError):
        parse_opml(data)
    assert server.requests == []


def test_default_sources_are_well_formed() -> None:
    feeds = parse_opml(DEFAULTS.read_bytes())
    assert len(feeds) >= 30
    assert {f.category for f in feeds} == {"World", "US", "Business", "Technology", "Science"}
    assert all(f.xml_url.startswith(("https://", "http://")) and f.title for f in feeds)
