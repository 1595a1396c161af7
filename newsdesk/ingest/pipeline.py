"""The ingest pipeline: sources -> fetch -> parse -> extract -> store.

One entry point per kind of input (due sources, one URL, a local path). Every
article is saved in its own transaction, so a crash or a bad page loses that
article at most and never half-writes one; a failing source is recorded with
its error and backs off, and nothing else stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.config import Settings
from newsdesk.ingest.discover import discover_feeds
from newsdesk.ingest.extract import ExtractionError, extract
from newsdesk.ingest.feeds import FeedError, looks_like_feed, parse_feed
from newsdesk.ingest.fetch import Fetcher, FetchError, FetchResult, check_url
from newsdesk.ingest.local import read_path
from newsdesk.ingest.sitemap import parse_sitemap
from newsdesk.model import Article, FeedEntry
from newsdesk.store import articles as article_store
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import SourceRow

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
"""Called with the number of units just finished (for a Rich progress bar)."""

# Text shorter than this in a feed's own content is a teaser, not an article.
_MIN_FEED_TEXT_CHARS = 400


@dataclass
class IngestReport:
    """What one ingest run did; printed by the CLI, returned by the API."""

    sources: int = 0
    not_modified: int = 0
    failed_sources: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        """Count one ``SaveResult.status`` ("created", "updated", "unchanged", "duplicate")."""
        name = {"duplicate": "duplicates"}.get(status, status)
        setattr(self, name, getattr(self, name) + 1)

    def merge(self, other: IngestReport) -> None:
        for name in ("sources", "not_modified", "failed_sources", "created", "updated",
                     "unchanged", "duplicates", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {
            "errors": len(self.errors)}


def _schedule(settings: Settings) -> source_store.Schedule:
    return source_store.Schedule(
        min_minutes=settings.min_refresh_minutes,
        max_minutes=settings.max_refresh_minutes,
        default_minutes=settings.default_refresh_minutes,
        max_backoff_minutes=settings.max_backoff_minutes,
    )


@dataclass(frozen=True)
class _SourceState:
    """What the pipeline needs of a source row, detached from its session."""

    id: int
    url: str
    kind: str
    title: str
    etag: str | None
    last_modified: str | None

    @classmethod
    def of(cls, row: SourceRow) -> _SourceState:
        return cls(row.id, row.url, row.kind, row.title, row.etag, row.last_modified)


class Pipeline:
    """Runs ingest work against one database with one set of settings."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.schedule = _schedule(settings)

    # -- due sources -----------------------------------------------------
    async def run_due(self, progress: Progress | None = None) -> IngestReport:
        """Fetch every due source once, concurrently within the fetcher's limits."""
        with self.db.read() as session:
            due = [_SourceState.of(s) for s in source_store.due_sources(session)]
        report = IngestReport()
        async with Fetcher(self.settings) as fetcher:
            results = await asyncio.gather(
                *(self._guarded_source(fetcher, s, progress) for s in due))
        for result in results:
            report.merge(result)
        return report

    def due_count(self) -> int:
        with self.db.read() as session:
            return len(source_store.due_sources(session))

    async def _guarded_source(
        self, fetcher: Fetcher, source: _SourceState, progress: Progress | None
    ) -> IngestReport:
        try:
            return await self.ingest_source(fetcher, source)
        finally:
            if progress:
                progress(1)

    async def ingest_source(self, fetcher: Fetcher, source: _SourceState) -> IngestReport:
        """One source: conditional fetch, parse, then each new article."""
        report = IngestReport(sources=1)
        try:
            result = await fetcher.get(source.url, etag=source.etag,
                                       last_modified=source.last_modified)
        except FetchError as exc:
            self._failed(source, report, str(exc), exc.retry_after)
            return report
        if result.not_modified:
            report.not_modified += 1
            self._succeeded(source, result, ttl=None)
            return report
        try:
            entries, ttl, title, site = self._entries_of(source, result)
        except (FeedError, ValueError) as exc:
            self._failed(source, report, f"{source.url}: {exc}", None)
            return report
        await self._ingest_entries(fetcher, entries, source.id, report)
        self._succeeded(source, result, ttl=ttl, title=title, site_url=site)
        return report

    def _entries_of(
        self, source: _SourceState, result: FetchResult
    ) -> tuple[list[FeedEntry], int | None, str, str]:
        if source.kind == "sitemap":
            sitemap = parse_sitemap(result.content)
            recent = sorted(sitemap.urls, key=lambda u: u.lastmod.timestamp() if u.lastmod else 0,
                            reverse=True)[: self.settings.max_items_per_feed]
            entries = [FeedEntry(url=u.loc, title=u.title, published_at=u.lastmod) for u in recent]
            return entries, None, "", ""
        feed = parse_feed(result.content, result.url, result.content_type,
                          max_items=self.settings.max_items_per_feed)
        return feed.entries, feed.ttl_minutes, feed.title, feed.site_url

    def _succeeded(self, source: _SourceState, result: FetchResult, *, ttl: int | None,
                   title: str = "", site_url: str = "") -> None:
        ttl_minutes = ttl
        if result.ttl_seconds:
            ttl_minutes = max(ttl or 0, int(result.ttl_seconds // 60))
        with self.db.write() as session:
            row = source_store.get_source(session, source.id)
            if row is not None:
                source_store.record_success(
                    session, row, self.schedule, etag=result.etag,
                    last_modified=result.last_modified, ttl_minutes=ttl_minutes,
                    retry_after=result.retry_after, title=title, site_url=site_url)

    def _failed(self, source: _SourceState, report: IngestReport, error: str,
                retry_after: float | None) -> None:
        log.info("source failed: %s", error)  # recorded on the source for the UI and CLI
        report.failed_sources += 1
        report.errors.append(error)
        with self.db.write() as session:
            row = source_store.get_source(session, source.id)
            if row is not None:
                source_store.record_failure(session, row, self.schedule, error,
                                            retry_after=retry_after)

    # -- articles ----------------------------------------------------------
    async def _ingest_entries(self, fetcher: Fetcher, entries: list[FeedEntry],
                              source_id: int | None, report: IngestReport) -> None:
        """Fetch and store the entries not stored yet (a known URL costs no request)."""
        fresh = [e for e in entries if not self._known(e.url)]
        report.skipped += len(entries) - len(fresh)
        outcomes = await asyncio.gather(*(self._entry_article(fetcher, e) for e in fresh))
        for entry, (article, error) in zip(fresh, outcomes, strict=True):
            if article is None:
                report.errors.append(f"{entry.url}: {error}")
                continue
            self._save(article, source_id, report)

    def _known(self, url: str) -> bool:
        with self.db.read() as session:
            return article_store.find_by_url(session, url) is not None

    async def _entry_article(
        self, fetcher: Fetcher, entry: FeedEntry
    ) -> tuple[Article | None, str]:
        """The article behind a feed entry: its page, else the feed's own full text."""
        try:
            page = await fetcher.get(entry.url, check_robots=self.settings.respect_robots)
            article = await asyncio.to_thread(
                extract, page.text(), page.url, fallback_title=entry.title,
                fallback_date=entry.published_at)
        except (FetchError, ExtractionError) as exc:
            fallback = _article_from_entry(entry)
            return (fallback, "") if fallback else (None, str(exc))
        if not article.byline and entry.author:
            article.byline = entry.author
        if not article.image and entry.image:
            article.image = entry.image
        return article, ""

    def _save(self, article: Article, source_id: int | None, report: IngestReport) -> int:
        with self.db.write() as session:
            result = article_store.save_article(session, article, source_id)
        report.count(result.status)
        return result.article_id

    # -- single URLs ---------------------------------------------------------
    async def add(self, url: str) -> tuple[str, str]:
        """Subscribe to a feed or sitemap, discover a home page's feed, or ingest one article.

        Returns ``(what, detail)``: ``("feed"|"sitemap", source URL)`` or
        ``("article", title)``.
        """
        url = check_url(url, self.settings)
        async with Fetcher(self.settings) as fetcher:
            result = await fetcher.get(url)
            kind = _classify(result)
            if kind in ("feed", "sitemap"):
                return kind, self._subscribe(result.url, kind, result)
            feeds = discover_feeds(result.text(), result.url)
            for feed_url in feeds:
                try:
                    feed = await fetcher.get(feed_url)
                except FetchError:
                    continue
                if _classify(feed) == "feed":
                    return "feed", self._subscribe(feed.url, "feed", feed)
            article = await asyncio.to_thread(extract, result.text(), result.url)
            self._save(article, None, IngestReport())
            return "article", article.title

    def _subscribe(self, url: str, kind: str, result: FetchResult) -> str:
        title = ""
        if kind == "feed":
            title = parse_feed(result.content, result.url, result.content_type).title
        with self.db.write() as session:
            source_store.add_source(session, url, kind=kind, title=title)
        return url

    # -- local files -----------------------------------------------------------
    def ingest_path(self, path: Path, progress: Progress | None = None) -> IngestReport:
        """Ingest saved pages and JSONL corpora; each bad file is reported, none is fatal."""
        report = IngestReport()
        for item in read_path(path):
            if item.article is None:
                report.errors.append(item.error)
            else:
                self._save(item.article, None, report)
            if progress:
                progress(1)
        return report


def _classify(result: FetchResult) -> str:
    head = result.content[:2048].lstrip().lower()
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if looks_like_feed(result.content, result.content_type):
        return "feed"
    return "page"


def _article_from_entry(entry: FeedEntry) -> Article | None:
    """A full-text feed item stands in for a page we could not fetch or read."""
    if not entry.content_html:
        return None
    try:
        article = extract(f"<html><body><article>{entry.content_html}</article></body></html>",
                          entry.url, fallback_title=entry.title, fallback_date=entry.published_at)
    except ExtractionError:
        return None
    if len(article.text) < _MIN_FEED_TEXT_CHARS:
        return None
    article.byline = article.byline or entry.author
    article.image = article.image or entry.image
    return article
