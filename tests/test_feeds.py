"""parse_feed over every dialect and every kind of broken input we have met."""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.ingest.feeds import FeedError, looks_like_feed, parse_feed
from tests.fixtureserver import FixtureServer, Response

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, url: str = "https://daily.example.com/feeds/main.xml", **kw: object):
    return parse_feed(load(name), url, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- dialects


def test_rss091() -> None:
    feed = parse("rss091.xml", "https://gazette.example.org/rss.xml")
    assert feed.format == "rss"
    assert feed.title == "Harbour Town Gazette"
    assert feed.site_url == "https://gazette.example.org/"
    assert feed.language == "en-gb"
    assert [e.url for e in feed.entries] == [
        "https://gazette.example.org/news/ferry-winter",
        "https://gazette.example.org/news/lighthouse-open-day",
    ]
    assert feed.entries[0].summary.startswith("The morning ferry")


def test_rss10_rdf() -> None:
    feed = parse("rss10.rdf", "https://valley.example.net/index.rdf")
    assert feed.format == "rdf"
    assert feed.title == "Valley Science Notes"
    assert feed.language == "en"
    assert feed.ttl_minutes == 30  # sy:updatePeriod hourly, updateFrequency 2
    moss = feed.entries[0]
    assert moss.author == "R. Fernhill"
    assert moss.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert moss.tags == ["biology"]


def test_rss20_channel() -> None:
    feed = parse("rss20.xml")
    assert feed.format == "rss"
    assert feed.title == "The Daily Example & Friends"
    assert feed.ttl_minutes == 45
    assert feed.skip_hours == {0, 1, 2}  # 99 is not an hour
    assert feed.skip_days == {"Saturday", "Sunday"}  # normalised; "Caturday" dropped


def test_rss20_entries() -> None:
    feed = parse("rss20.xml")
    first, bread, guid_only, future = feed.entries
    # Relative link resolved against the feed URL; opaque guid kept as guid.
    assert first.url == "https://daily.example.com/2024/05/bike-lanes"
    assert first.guid == "daily-1001"
    assert first.title == "Council approves new bike lanes"
    assert first.summary == "The council voted 7 to 2 in favour & work starts in June."
    assert "<b>7 to 2</b>" in first.content_html  # raw HTML from content:encoded
    assert 'src="https://daily.example.com/img/lanes.jpg"' in first.content_html
    assert first.author == "Mina Ortega"
    assert first.published_at == datetime(2024, 5, 7, 12, 30, tzinfo=UTC)
    assert first.image == "https://cdn.daily.example.com/lanes.jpg"
    assert first.tags == ["Local", "Transport"]
    # CDATA title with markup becomes plain text.
    assert bread.title == "Bakery wins regional bread prize"
    assert bread.author == "Tomás Lindqvist"
    assert bread.image == "https://cdn.daily.example.com/bread.png"
    assert guid_only.url == "https://daily.example.com/2024/05/guid-only"
    assert guid_only.image == "https://cdn.daily.example.com/thumb.jpg"
    # Far-future dates are dropped, the entry is kept.
    assert future.published_at is None


def test_entry_without_link_or_url_guid_is_skipped() -> None:
    urls = [e.url for e in parse("rss20.xml").entries]
    assert not any("opaque-id-42" in u for u in urls)


def test_atom_xml_base_and_updated_only() -> None:
    feed = parse("atom.xml", "https://blog.example.io/journal/atom.xml")
    assert feed.format == "atom"
    assert feed.title == "Le Journal d'Exemple"  # type="html" title stripped
    assert feed.site_url == "https://blog.example.io/"
    assert feed.language == "fr"
    spring, elsewhere = feed.entries
    assert spring.url == "https://blog.example.io/journal/2024/printemps"
    assert spring.published_at == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)  # from <updated>
    assert spring.author == "Claire Dumont"
    assert spring.summary == "Les tulipes sont arrivées."
    assert 'href="https://blog.example.io/journal/photos/tulipes"' in spring.content_html
    assert elsewhere.url == "https://other.example.io/archive/billet-7"  # entry-level xml:base
    assert elsewhere.summary == "Texte court."


def test_json_feed() -> None:
    feed = parse("feed.json", "https://weather.example.dev/feed.json")
    assert feed.format == "json"
    assert feed.title == "Pocket Weather"
    assert feed.site_url == "https://weather.example.dev/"
    assert feed.language == "en-AU"
    hail, heat = feed.entries  # the item without any URL is skipped
    assert hail.url == "https://weather.example.dev/posts/hail"
    assert hail.title == "Hail & thunder expected on Thursday"
    assert hail.summary == "Storms after lunch."
    assert hail.author == "Kai Nguyen, Pat Lowe"
    assert hail.image == "https://weather.example.dev/img/hail.jpg"
    assert hail.tags == ["storms", "Thursday"]
    assert hail.published_at == datetime(2024, 1, 31, 19, 0, tzinfo=UTC)
    assert heat.url == "https://elsewhere.example.dev/heat"
    assert heat.guid == "2"
    assert heat.author == "Old Style Author"
    assert heat.content_html == "<p>A short heat wave.</p><p>Stay hydrated.</p>"
    assert heat.published_at == datetime(2024, 1, 30, 12, 0, tzinfo=UTC)


def test_json_feed_detected_by_content_type_even_with_leading_whitespace() -> None:
    body = b"\n\n" + load("feed.json")
    feed = parse_feed(body, "https://w.example.dev/f", "application/feed+json")
    assert feed.format == "json"


def test_json_without_items_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="is not a feed"):
        parse_feed(b'{"hello": "world"}', "https://x.example.com/api", "application/json")


# --------------------------------------------------------------------------- broken input


def test_truncated_xml_is_parsed_leniently() -> None:
    feed = parse("broken.xml", "https://half.example.com/rss")
    assert feed.title == "Half a Feed"
    assert feed.entries[0].url == "https://half.example.com/one"
    assert feed.entries[0].title == "First complete item & an unescaped ampersand"


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="HTML page"):
        parse_feed(load("homepage.html"), "https://chronicle.example.com/", "text/html")


@pytest.mark.parametrize("body", [b"", b"   ", b"just some text", b"<note>hi</note>"])
def test_garbage_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(FeedError, match=r"https://x\.example\.com/f is not a feed"):
        parse_feed(body, "https://x.example.com/f")


def test_feed_error_is_a_value_error() -> None:
    assert issubclass(FeedError, ValueError)


def test_empty_but_valid_feed_has_no_entries() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, "https://quiet.example.com/rss")
    assert feed.title == "Quiet"
    assert feed.entries == []


@pytest.mark.parametrize("name", ["latin1.xml", "cp1252.xml"])
def test_legacy_charsets(name: str) -> None:
    feed = parse(name)
    text = feed.title + " ".join(e.title + e.summary for e in feed.entries)
    assert "\ufffd" not in text
    if name == "latin1.xml":
        assert feed.entries[0].title == "Réouverture de la crèmerie"
        assert feed.entries[0].summary == "Les gâteaux sont à moitié prix."
    else:
        assert feed.title == "Smart “quotes” weekly"
        assert feed.entries[0].title == "It’s a €5 coffee — really"


def test_wrong_declared_charset_and_nul_bytes_give_clean_text() -> None:
    feed = parse("wrong-charset-nul.xml")
    assert feed.title == "Smart “quotes” weekly"
    assert feed.entries[0].title == "It’s a €5 coffee — really"
    assert "\x00" not in feed.title


def test_billion_laughs_is_not_expanded() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        feed = parse("billion-laughs.xml", "https://lol.example.com/rss")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20 * 1024 * 1024
    assert "lollollol" not in feed.title
    assert all("lollollol" not in e.title + e.summary + e.content_html for e in feed.entries)


def test_xxe_entity_is_not_expanded() -> None:
    feed = parse("xxe.xml", "https://xxe.example.com/rss")
    everything = feed.title + "".join(e.title + e.summary + e.content_html for e in feed.entries)
    assert "root:" not in everything
    assert feed.entries[0].url == "https://xxe.example.com/1"
    assert feed.skip_hours == {5}


def test_huge_title_is_capped_quickly() -> None:
    title = ("Breaking " * 1_200_000).encode()  # ~10 MB
    body = b'<rss version="2.0"><channel><title>' + title + (
        b"</title><item><title>&lt;b&gt;big&lt;/b&gt; " * 1 + b"x &amp; y " * 1_000_000
        + b"</title><link>https://big.example.com/1</link></item></channel></rss>"
    )
    started = time.perf_counter()
    feed = parse_feed(body, "https://big.example.com/rss")
    assert time.perf_counter() - started < 5
    assert len(feed.title) <= 1000
    assert feed.title.startswith("Breaking Breaking")
    entry_title = feed.entries[0].title
    assert len(entry_title) <= 1000
    assert entry_title.startswith("big x & y")


def test_hundred_thousand_items_are_capped_fast() -> None:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://many.example.com/{i}</link></item>"
        for i in range(100_000)
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>'
        f"{items}<skipDays><day>Monday</day></skipDays></channel></rss>"
    ).encode()
    started = time.perf_counter()
    feed = parse_feed(body, "https://many.example.com/rss", max_items=150)
    assert time.perf_counter() - started < 3
    assert len(feed.entries) == 150
    assert feed.entries[-1].url == "https://many.example.com/149"
    assert feed.skip_days == {"Monday"}  # trailing channel elements survive the trim


def test_json_feed_items_are_capped() -> None:
    items = [{"id": str(i), "url": f"https://j.example.com/{i}"} for i in range(5000)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    assert len(parse_feed(body, "https://j.example.com/feed.json", max_items=10).entries) == 10


def test_title_cleanup() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry>'
        b'<title type="html">  &lt;p&gt;Tom &amp;amp; Jerry&lt;/p&gt;\n\n\t return </title>'
        b'<link href="https://t.example.com/1"/></entry></feed>'
    )
    assert parse_feed(body, "https://t.example.com/atom").entries[0].title == "Tom & Jerry return"


def test_non_http_links_are_not_urls() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>a</title><link>javascript:alert(1)</link></item>"
        b"<item><title>b</title><link>https://ok.example.com/b</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, "https://ok.example.com/rss")
    assert [e.url for e in feed.entries] == ["https://ok.example.com/b"]


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("name", "ctype", "expected"),
    [
        ("rss20.xml", "text/html", True),  # misconfigured server, the body decides
        ("rss10.rdf", "application/rdf+xml", True),
        ("atom.xml", "", True),
        ("feed.json", "application/feed+json", True),
        ("homepage.html", "text/html", False),
        ("homepage.html", "application/rss+xml", False),
    ],
)
def test_looks_like_feed(name: str, ctype: str, expected: bool) -> None:
    assert looks_like_feed(load(name), ctype) is expected


def test_looks_like_feed_rejects_plain_json() -> None:
    assert not looks_like_feed(b'{"items": 3}', "application/json")


def test_external_entities_are_never_fetched(server: FixtureServer) -> None:
    url = server.add("/evil.dtd", Response(body="<!ENTITY x 'pwned'>", content_type="text/plain"))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{url}" [<!ENTITY remote SYSTEM "{url}">]>'
        '<rss version="2.0"><channel><title>T &remote;</title>'
        "<item><title>a &remote;</title><link>https://t.example.com/a</link></item>"
        "<skipHours><hour>&remote;</hour></skipHours></channel></rss>"
    ).encode()
    feed = parse_feed(body, "https://t.example.com/rss")
    assert server.requests == []
    assert "pwned" not in feed.title + feed.entries[0].title


def test_utf8_body_wins_over_a_wrong_header_charset() -> None:
    feed = parse_feed(load("rss20.xml"), "https://daily.example.com/rss",
                      "application/rss+xml; charset=ISO-8859-1")
    assert feed.entries[1].author == "Tomás Lindqvist"


def test_header_charset_is_used_when_the_body_is_not_utf8() -> None:
    body = load("latin1.xml").replace(b' encoding="ISO-8859-1"', b"")
    feed = parse_feed(body, "https://cafe.example.fr/rss", "text/xml; charset=iso-8859-1")
    assert feed.entries[0].title == "Réouverture de la crèmerie"
