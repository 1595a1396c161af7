"""The outgoing feed as plain data, built from rows while the read session is open.

One :class:`Feed` feeds all three writers (:mod:`newsdesk.web.feedwriters`),
so RSS, Atom and JSON Feed cannot disagree about an item's id, links, dates
or text. Every string passes :func:`xml_safe` here, once: article text comes
from the internet and may hold characters XML 1.0 cannot carry at all
(NULs, form feeds, lone surrogates), which lxml would refuse to serialise.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from newsdesk.store.tables import ArticleRow, TagRow
from newsdesk.web import views
from newsdesk.web.coverage import tag_path

FORMATS = ("rss", "atom", "json")
SUMMARY_CHARS = 300
# Characters outside XML 1.0's Char production (tab, LF and CR are allowed).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_C1 = re.compile("[\x7f-\x9f]")  # legal XML, but invisible junk in a title
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids or readers would show as junk."""
    return _C1.sub("", _NOT_XML.sub("", text))


def one_line(text: str) -> str:
    """A title or name on one line: feed readers show raw newlines inconsistently."""
    return " ".join(xml_safe(text).split())


@dataclass(frozen=True)
class Category:
    """A hashtag or the outlet; ``scheme`` is the base of its page on this site."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True)
class FeedItem:
    """One article as every format needs it; ``id`` is our article page's URL."""

    id: str
    url: str
    original: str
    title: str
    summary: str
    content_html: str
    published: datetime | None
    updated: datetime
    author: str
    outlet: str
    outlet_url: str
    categories: tuple[Category, ...]
    language: str


@dataclass(frozen=True)
class Feed:
    """A feed's metadata and items; ``links`` maps each format to its absolute URL."""

    title: str
    description: str
    home_url: str
    links: Mapping[str, str]
    items: tuple[FeedItem, ...]
    updated: datetime


@dataclass(frozen=True)
class Site:
    """Absolute URLs on this server, from the request's base URL."""

    base: str

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    def feed_links(self, path: str, query: str = "") -> dict[str, str]:
        """``{format: URL}`` for a feed at ``path`` ("" is the front page)."""
        return {fmt: self.url(f"{path}/feed.{fmt}{query}") for fmt in FORMATS}


def utc(moment: datetime) -> datetime:
    """Aware UTC without microseconds: every format writes whole seconds."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


def content_html(row: ArticleRow, original: str) -> str:
    """The body as escaped ``<p>`` paragraphs, then a link to the publisher's page."""
    parts = [f"<p>{html.escape(xml_safe(p))}</p>" for p in views.paragraphs(row.text)]
    if original:
        outlet = html.escape(one_line(row.outlet) or "the publisher")
        parts.append(f'<p><a href="{html.escape(original)}">Read the original at {outlet}</a></p>')
    return "\n".join(parts)


def _categories(site: Site, row: ArticleRow, tags: Sequence[TagRow]) -> tuple[Category, ...]:
    found = [Category(one_line(t.slug), one_line(t.name) or one_line(t.slug),
                      site.url(tag_path(""))) for t in tags if one_line(t.slug)]
    if one_line(row.outlet):
        found.insert(0, Category(one_line(row.outlet), one_line(row.outlet),
                                 site.url("/outlets/")))
    return tuple(found)


def feed_item(site: Site, row: ArticleRow, tags: Sequence[TagRow]) -> FeedItem:
    """One article; copies keep their own id (they are other outlets' pages)."""
    page = site.url(f"/articles/{row.id}")
    original = views.safe_url(row.canonical_url) or views.safe_url(row.url)
    outlet = one_line(row.outlet)
    return FeedItem(
        id=page, url=page, original=xml_safe(original),
        title=one_line(row.title) or "(untitled)",
        summary=xml_safe(views.excerpt(row, SUMMARY_CHARS)),
        content_html=content_html(row, original),
        published=utc(row.published_at) if row.published_at else None,
        updated=utc(row.sort_time),
        author=one_line(row.byline) or outlet,
        outlet=outlet,
        outlet_url=site.url(views.outlet_path(row.outlet)) if outlet else "",
        categories=_categories(site, row, tags),
        language=one_line(row.language),
    )


def build_feed(site: Site, *, title: str, description: str, home_path: str,
               links: Mapping[str, str], rows: Sequence[ArticleRow],
               tags: Mapping[int, Sequence[TagRow]],
               updated: datetime | None = None) -> Feed:
    """The feed; its time is the newest item's, so an unchanged feed keeps its dates.

    An empty feed has no newest item: ``updated`` (a story's own time) or the
    epoch stands in, never "now", which would change the body on every poll.
    """
    items = tuple(feed_item(site, row, tags.get(row.id, ())) for row in rows)
    newest = max((item.updated for item in items), default=None)
    when = newest or (utc(updated) if updated else EPOCH)
    return Feed(title=one_line(title), description=one_line(description),
                home_url=site.url(home_path), links=dict(links), items=items, updated=when)
