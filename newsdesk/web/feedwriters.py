"""Serialise a :class:`~newsdesk.web.syndication.Feed` as RSS 2.0, Atom 1.0 or JSON Feed 1.1.

The XML is built as an lxml element tree, never by string concatenation, so
escaping (``<script>``, ``]]>``, quotes in attributes) is lxml's job. feedgen
was tried first and dropped: its 1.0.0 (the latest, from 2023) writes every
Atom entry link without its ``rel``, turning the "related" link to the
publisher into a second "alternate", which the Atom spec forbids.

Where the formats differ:

* RSS ``<author>`` must be an e-mail address, so the byline goes in
  ``dc:creator``; the outlet is the item's ``<source>``, whose ``url`` the
  spec wants to be a feed, which our outlet feed is.
* Atom links the article page as ``alternate`` and the publisher's page as
  ``related``; JSON Feed calls the latter ``external_url``.
* Dates: RFC 822 in RSS (``format_datetime``), RFC 3339 with ``Z`` elsewhere.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from email.utils import format_datetime
from typing import Any

from lxml import etree

from newsdesk import __version__
from newsdesk.store.serialize import iso_utc
from newsdesk.web.syndication import Feed, FeedItem

GENERATOR = "newsdesk"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


def _mime(fmt: str) -> str:
    return MEDIA_TYPES[fmt].split(";")[0]


def _add(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    """A child element; ``text`` is escaped by lxml on output."""
    node = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v})
    if text is not None:
        node.text = text
    return node


def _serialise(root: Any) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                 pretty_print=True)
    return body


# -- RSS 2.0 --------------------------------------------------------------------------------


def _rss_item(channel: Any, item: FeedItem) -> None:
    node = _add(channel, "item")
    _add(node, "title", item.title)
    _add(node, "link", item.url)
    # RSS readers take a description as HTML: escape the plain-text summary once more.
    _add(node, "description", html.escape(item.summary or item.title, quote=False))
    _add(node, f"{{{CONTENT_NS}}}encoded", item.content_html)
    if item.author:
        _add(node, f"{{{DC_NS}}}creator", item.author)
    for cat in item.categories:
        _add(node, "category", cat.label, domain=cat.scheme)
    _add(node, "guid", item.id, isPermaLink="true")
    if item.published is not None:
        _add(node, "pubDate", format_datetime(item.published, usegmt=True))
    if item.outlet and item.outlet_url:
        _add(node, "source", item.outlet, url=item.outlet_url + "/feed.rss")


def write_rss(feed: Feed) -> bytes:
    """RSS 2.0 with ``content:encoded``, ``dc:creator`` and an ``atom:link`` to itself."""
    root = etree.Element("rss", {"version": "2.0"},
                         nsmap={"atom": ATOM_NS, "content": CONTENT_NS, "dc": DC_NS})
    channel = _add(root, "channel")
    _add(channel, "title", feed.title)
    _add(channel, "link", feed.home_url)
    _add(channel, "description", feed.description or feed.title)
    _add(channel, f"{{{ATOM_NS}}}link", href=feed.links["rss"], rel="self", type=_mime("rss"))
    _add(channel, "lastBuildDate", format_datetime(feed.updated, usegmt=True))
    _add(channel, "generator", f"{GENERATOR} {__version__}")
    _add(channel, "docs", "https://www.rssboard.org/rss-specification")
    for item in feed.items:
        _rss_item(channel, item)
    return _serialise(root)


# -- Atom 1.0 -------------------------------------------------------------------------------


def _atom_entry(root: Any, item: FeedItem) -> None:
    node = _add(root, "entry")
    _add(node, "id", item.id)
    _add(node, "title", item.title, type="text")
    _add(node, "updated", iso_utc(item.updated))
    if item.published is not None:
        _add(node, "published", iso_utc(item.published))
    if item.author:
        _add(_add(node, "author"), "name", item.author)
    _add(node, "link", rel="alternate", type="text/html", href=item.url)
    if item.original:
        _add(node, "link", rel="related", type="text/html", href=item.original)
    for cat in item.categories:
        _add(node, "category", term=cat.term, scheme=cat.scheme, label=cat.label)
    _add(node, "summary", item.summary or item.title, type="text")
    _add(node, "content", item.content_html, type="html")


def write_atom(feed: Feed) -> bytes:
    """Atom 1.0; entries are credited to the byline, else the outlet.

    The spec wants an author on the feed unless every entry has one, so the
    site stands in at feed level only when some entry has neither.
    """
    root = etree.Element("feed", nsmap={None: ATOM_NS})
    _add(root, "id", feed.links["atom"])
    _add(root, "title", feed.title, type="text")
    if feed.description:
        _add(root, "subtitle", feed.description, type="text")
    _add(root, "updated", iso_utc(feed.updated))
    _add(root, "link", rel="self", type=_mime("atom"), href=feed.links["atom"])
    _add(root, "link", rel="alternate", type="text/html", href=feed.home_url)
    _add(root, "generator", GENERATOR, version=__version__)
    if any(not item.author for item in feed.items):
        _add(_add(root, "author"), "name", GENERATOR)
    for item in feed.items:
        _atom_entry(root, item)
    return _serialise(root)


# -- JSON Feed 1.1 ----------------------------------------------------------------------------


def _json_item(item: FeedItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "url": item.url,
        "external_url": item.original or None,
        "title": item.title,
        "content_html": item.content_html,
        "summary": item.summary or None,
        "date_published": iso_utc(item.published),
        "date_modified": iso_utc(item.updated),
        "authors": [{"name": item.author}] if item.author else None,
        "tags": [c.label for c in item.categories] or None,
        "language": item.language or None,
    }
    return {key: value for key, value in data.items() if value is not None}


def write_json(feed: Feed) -> bytes:
    """JSON Feed 1.1; empty optional fields are left out rather than null."""
    data: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.links["json"],
        "description": feed.description or None,
        "items": [_json_item(item) for item in feed.items],
    }
    clean = {key: value for key, value in data.items() if value is not None}
    return json.dumps(clean, ensure_ascii=False, indent=1).encode("utf-8")


WRITERS: dict[str, Callable[[Feed], bytes]] = {
    "rss": write_rss, "atom": write_atom, "json": write_json}
