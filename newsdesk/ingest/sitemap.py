"""Read XML sitemaps: a source of article URLs for outlets without a usable feed.

Supports ``<urlset>`` (with Google News ``news:title``/``news:publication_date``),
``<sitemapindex>`` (child sitemaps are returned, not fetched), gzip bodies
(``sitemap.xml.gz`` is often served without Content-Encoding), and the plain
text variant (one URL per line). Parsing uses lxml with entity resolution and
network access off, and decompression is bounded, so a hostile sitemap cannot
blow up memory.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

# The sitemap protocol caps a file at 50 MB uncompressed; anything bigger is hostile.
MAX_UNCOMPRESSED = 50 * 1024 * 1024
_DATE_ONLY_RE = re.compile(r"^\d{4}(-\d{2}){0,2}$")


class SitemapError(ValueError):
    """Not a sitemap, or one that cannot be read safely."""


@dataclass
class SitemapURL:
    """One page listed by a sitemap; ``title`` only comes from Google News sitemaps."""

    loc: str
    lastmod: datetime | None = None
    title: str = ""


@dataclass
class Sitemap:
    urls: list[SitemapURL] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def parse_sitemap(content: bytes) -> Sitemap:
    """Parse a sitemap or sitemap index (plain or gzip) into URLs and child sitemaps."""
    content = _gunzip(content) if content[:2] == b"\x1f\x8b" else content
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _parse_text(stripped)
    root = _parse_xml(content)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return Sitemap(sitemaps=_child_sitemaps(root))
    if kind == "urlset":
        return Sitemap(urls=[u for u in map(_url_entry, _children(root, "url")) if u])
    raise SitemapError(f"not a sitemap (root element is <{kind}>)")


def _gunzip(content: bytes) -> bytes:
    """Decompress at most ``MAX_UNCOMPRESSED`` bytes: a gzip bomb is refused, not expanded."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(content, MAX_UNCOMPRESSED)
    except zlib.error as exc:
        raise SitemapError(f"corrupt gzip sitemap: {exc}") from exc
    if inflater.unconsumed_tail:
        raise SitemapError("gzip sitemap expands beyond 50 MB")
    return data


def _parse_xml(content: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, recover=True)
    try:
        root = etree.fromstring(content, parser)
    except (etree.LxmlError, ValueError) as exc:
        raise SitemapError(f"malformed sitemap: {exc}") from exc
    if root is None:
        raise SitemapError("malformed sitemap: no root element")
    return root


def _parse_text(content: bytes) -> Sitemap:
    """The protocol's text format: one absolute URL per line, nothing else."""
    lines = content.decode("utf-8", "replace").splitlines()
    urls = [SitemapURL(loc=line.strip()) for line in lines if _is_http(line.strip())]
    if not urls and content.strip():
        raise SitemapError("not a sitemap: neither XML nor a list of URLs")
    return Sitemap(urls=urls)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _children(node: Any, name: str) -> list[Any]:
    """Child elements by local name: real sitemaps omit or misspell the namespace."""
    return [c for c in node if isinstance(c.tag, str) and _local(c.tag) == name]


def _text(node: Any, *path: str) -> str:
    for name in path:
        found = _children(node, name)
        if not found:
            return ""
        node = found[0]
    return str(node.text or "").strip()


def _child_sitemaps(root: Any) -> list[str]:
    locs = (_text(s, "loc") for s in _children(root, "sitemap"))
    return list(dict.fromkeys(loc for loc in locs if _is_http(loc)))


def _url_entry(node: Any) -> SitemapURL | None:
    """One ``<url>``; a News publication date beats ``lastmod`` (it is when the story ran)."""
    loc = _text(node, "loc")
    if not _is_http(loc):
        return None
    published = parse_w3c_date(_text(node, "news", "publication_date"))
    return SitemapURL(
        loc=loc,
        lastmod=published or parse_w3c_date(_text(node, "lastmod")),
        title=" ".join(_text(node, "news", "title").split()),
    )


def parse_w3c_date(value: str) -> datetime | None:
    """W3C datetime (``2024-05-01``, ``2024-05-01T10:00Z``, with offsets) as aware UTC."""
    value = value.strip()
    if not value:
        return None
    if _DATE_ONLY_RE.match(value):
        value = (value + "-01-01")[:10]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _is_http(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
