"""Feed autodiscovery from HTML pages."""

from __future__ import annotations

from pathlib import Path

from newsdesk.ingest.discover import discover_feeds

HOME = (Path(__file__).parent / "fixtures" / "feeds" / "homepage.html").read_bytes()


def test_link_tags_absolute_deduplicated_in_order() -> None:
    assert discover_feeds(HOME, "https://chronicle.example.com/") == [
        "https://chronicle.example.com/feeds/top.rss",
        "https://chronicle.example.com/opinion/atom.xml",
        "https://chronicle.example.com/feed.json",
    ]


def test_str_input_and_page_in_subdirectory() -> None:
    found = discover_feeds(HOME.decode("utf-8"), "https://chronicle.example.com/sport/index.html")
    assert found[2] == "https://chronicle.example.com/sport/feed.json"


def test_base_href_is_honoured() -> None:
    page = ('<html><head><base href="https://cdn.example.net/site/">'
            '<link rel="alternate" type="application/atom+xml" href="atom.xml"></head></html>')
    assert discover_feeds(page, "https://example.net/") == ["https://cdn.example.net/site/atom.xml"]


def test_rel_tokens_and_type_parameters() -> None:
    page = ('<html><head>'
            '<link rel="Alternate home" type="application/RSS+XML; charset=utf-8" href="/r.xml">'
            '<link rel="alternate" type="text/html" href="/other.html">'
            '<link rel="stylesheet" type="application/rss+xml" href="/not-alternate.xml">'
            '</head></html>')
    assert discover_feeds(page, "https://e.example.com/") == ["https://e.example.com/r.xml"]


def test_anchor_fallback_only_without_link_tags() -> None:
    page = ('<html><body>'
            '<a href="/feed/">Feed</a> <a href="https://e.example.com/news.rss">RSS</a>'
            '<a href="/about">About</a> <a href="/sitemap.xml">Sitemap</a>'
            '<a href="mailto:desk@e.example.com">Mail</a> <a href="/rss">RSS again</a>'
            '<a href="/feed/#top">dup</a>'
            '</body></html>')
    assert discover_feeds(page, "https://e.example.com/") == [
        "https://e.example.com/feed/",
        "https://e.example.com/news.rss",
        "https://e.example.com/rss",
    ]
    # With a proper link tag the anchors are ignored.
    assert discover_feeds(HOME, "https://chronicle.example.com/")[0].endswith("/feeds/top.rss")
    assert "https://chronicle.example.com/rss" not in discover_feeds(
        HOME, "https://chronicle.example.com/")


def test_nothing_to_find() -> None:
    assert discover_feeds("", "https://e.example.com/") == []
    assert discover_feeds("<html><body><p>hi</p></body></html>", "https://e.example.com/") == []
    assert discover_feeds(b"\x00\x01\x02", "https://e.example.com/") == []


def test_xml_declared_string() -> None:
    page = ('<?xml version="1.0" encoding="utf-8"?><html><head>'
            '<link rel="alternate" type="application/rss+xml" href="/x.rss"/></head></html>')
    assert discover_feeds(page, "https://e.example.com/") == ["https://e.example.com/x.rss"]
