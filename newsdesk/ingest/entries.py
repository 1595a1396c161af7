"""What a fetched document holds: a source's entries, an item's or a page's article.

Pure functions of bytes and settings values, with no database and no network,
so that the pipeline can run them in another process (``parsepool``): parsing
feeds, cleaning their items' HTML and extracting pages is most of the CPU a
refresh spends, and on a machine with a spare core it need not wait behind
fetching and storing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsdesk.ingest.extract import extract
from newsdesk.ingest.feeds import parse_feed
from newsdesk.ingest.feedtext import article_from_feed
from newsdesk.ingest.sitemap import parse_sitemap
from newsdesk.model import Article, FeedEntry
from newsdesk.store.sources import entries_per_week
from newsdesk.store.tables import utcnow

# Less than this is no text at all (the same floor as page extraction).
MIN_TEXT_CHARS = 80


@dataclass(frozen=True)
class SourceDocument:
    """A feed or sitemap, parsed: its entries and what it says about its own schedule."""

    entries: list[FeedEntry]
    ttl_minutes: int | None = None
    title: str = ""
    site_url: str = ""
    rate: float = 0.0  # entries a week, from the feed's own dates
    skip_hours: set[int] | None = None
    skip_days: set[str] | None = None


def parse_source(kind: str, content: bytes, url: str, content_type: str,
                 max_items: int) -> SourceDocument:
    """Parse a source document of ``kind`` ("feed" or "sitemap").

    Raises ``FeedError`` (or ``ValueError`` for a sitemap) when the bytes are
    not what the source should serve.
    """
    if kind == "sitemap":
        sitemap = parse_sitemap(content)
        recent = sorted(sitemap.urls, key=lambda u: u.lastmod.timestamp() if u.lastmod else 0,
                        reverse=True)[:max_items]
        entries = [FeedEntry(url=u.loc, title=u.title, published_at=u.lastmod) for u in recent]
        return SourceDocument(entries, None, rate=_rate(entries))
    feed = parse_feed(content, url, content_type, max_items=max_items)
    return SourceDocument(feed.entries, feed.ttl_minutes or 0, feed.title, feed.site_url,
                          _rate(feed.entries), feed.skip_hours, feed.skip_days)


def _rate(entries: list[FeedEntry]) -> float:
    return entries_per_week((e.published_at for e in entries), utcnow())


def article_from_entry(entry: FeedEntry) -> Article | None:
    """The feed's own text of an entry as an article; None when it has (almost) none.

    Sanitised to plain paragraphs by ``feedtext`` (lxml, no trafilatura: the
    item is the article body already); the caller decides whether the text is
    a full article or only stands in for a page that could not be read.
    """
    article = article_from_feed(entry)
    if article is None or len(article.text) < MIN_TEXT_CHARS:
        return None
    return article


def articles_from_entries(entries: list[FeedEntry]) -> list[Article | None]:
    """``article_from_entry`` for a whole feed: one call, so one trip to a parse process."""
    return [article_from_entry(entry) for entry in entries]


def article_from_page(html: str, url: str, fallback_title: str,
                      fallback_date: datetime | None) -> Article:
    """``extract`` with positional arguments, the form a process pool call takes."""
    return extract(html, url, fallback_title=fallback_title, fallback_date=fallback_date)
