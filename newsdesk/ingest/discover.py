"""Find the feeds a web page advertises, so users can subscribe with a site URL.

Autodiscovery ``<link rel="alternate">`` tags are authoritative; plain ``<a>``
links to feed-looking paths are only a fallback for sites that forgot them,
because guessing from anchors also picks up stale or unrelated feeds.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

FEED_TYPES = frozenset({
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
})
# Path endings that almost always mean a feed (WordPress /feed, /rss, *.xml, *.rss, *.atom).
_FEED_PATH_RE = re.compile(r"(?:/feed|/rss|/atom|\.rss|\.xml|\.atom)/?$", re.I)


def discover_feeds(html: str | bytes, base_url: str) -> list[str]:
    """Absolute feed URLs advertised by the page, de-duplicated, in document order."""
    doc = _parse(html)
    if doc is None:
        return []
    base = _base_href(doc, base_url)
    found = _from_link_tags(doc, base)
    return found or _from_anchors(doc, base)


def _parse(html: str | bytes) -> etree._Element | None:
    """Parse leniently; lxml.html never fetches anything and ignores DTDs."""
    if not html or not html.strip():
        return None
    if isinstance(html, str) and html.lstrip().startswith("<?xml"):
        html = html.encode("utf-8")  # lxml refuses str input with an encoding declaration
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _base_href(doc: etree._Element, page_url: str) -> str:
    """Honour ``<base href>``, which changes how every relative link on the page resolves."""
    for href in doc.xpath("//base/@href"):
        resolved = _absolute(page_url, str(href))
        if resolved:
            return resolved
    return page_url


def _rel_tokens(element: etree._Element) -> set[str]:
    return set(str(element.get("rel", "")).lower().split())


def _from_link_tags(doc: etree._Element, base: str) -> list[str]:
    urls: list[str] = []
    for link in doc.iter("link"):
        kind = str(link.get("type", "")).split(";")[0].strip().lower()
        if "alternate" in _rel_tokens(link) and kind in FEED_TYPES:
            _add(urls, _absolute(base, str(link.get("href", ""))))
    return urls


def _from_anchors(doc: etree._Element, base: str) -> list[str]:
    urls: list[str] = []
    for anchor in doc.iter("a"):
        url = _absolute(base, str(anchor.get("href", "")))
        path = urlsplit(url).path
        if url and _FEED_PATH_RE.search(path) and "sitemap" not in path.lower():
            _add(urls, url)
    return urls


def _add(urls: list[str], url: str) -> None:
    if url and url not in urls:
        urls.append(url)


def _absolute(base: str, href: str) -> str:
    """``href`` made absolute, minus its fragment; empty unless http(s)."""
    href = href.strip()
    if not href:
        return ""
    try:
        url = urljoin(base, href).split("#", 1)[0]
    except ValueError:
        return ""
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""
