"""The normalised data model every pipeline stage speaks.

Parsers (RSS, Atom, JSON Feed, HTML pages, JSONL corpora) each adapt their raw
format into these plain dataclasses; storage and the web layer only ever see
these. Keeping them free of SQLAlchemy means the ingest stages can be tested
without a database.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FeedEntry:
    """One item of a feed, before its article page is fetched."""

    url: str
    title: str = ""
    summary: str = ""
    content_html: str = ""
    author: str = ""
    published_at: datetime | None = None
    guid: str = ""
    image: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class ParsedFeed:
    """A feed in any format, normalised."""

    title: str = ""
    site_url: str = ""
    language: str = ""
    entries: list[FeedEntry] = field(default_factory=list)
    ttl_minutes: int | None = None
    skip_hours: set[int] = field(default_factory=set)
    skip_days: set[str] = field(default_factory=set)
    format: str = ""


@dataclass
class Article:
    """A clean article: text without page chrome plus its metadata."""

    url: str
    title: str
    text: str
    canonical_url: str = ""
    outlet: str = ""
    byline: str = ""
    published_at: datetime | None = None
    language: str = ""
    copyright: str = ""
    image: str = ""
    description: str = ""

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs; the text stores one paragraph per line."""
        return [p for p in self.text.split("\n") if p.strip()]

    @property
    def key_url(self) -> str:
        """The URL that identifies this article: canonical when known."""
        return self.canonical_url or self.url

    @property
    def content_hash(self) -> str:
        """A hash of the normalised body, stable across whitespace and case changes."""
        return content_hash(self.text)


@dataclass(frozen=True)
class Tag:
    """One hashtag of an article (made by newsdesk.enrich.tags, stored by newsdesk.store.tags)."""

    slug: str  # "NorthKorea": CamelCase, ASCII-folded, shown as #NorthKorea
    name: str  # "North Korea"
    kind: str  # person | org | place | topic
    score: float  # salience in (0, 1], 1 for the article's most salient tag


_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFC, collapsed whitespace, lower case: what two copies of one text share."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()
