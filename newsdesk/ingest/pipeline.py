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

from sqlalchemy.exc import SQLAlchemyError

from newsdesk.config import Settings
from newsdesk.ingest.discover import discover_feeds
from newsdesk.ingest.extract import ExtractionError, extract
from newsdesk.ingest.feeds import FeedError, looks_like_feed, parse_feed
from newsdesk.ingest.feedtext import article_from_feed
from newsdesk.ingest.fetch import Fetcher, FetchError, FetchResult, check_url
from newsdesk.ingest.local import read_path
from newsdesk.ingest.sitemap import parse_sitemap
from newsdesk.model import Article, FeedEntry
from newsdesk.obs.metrics import count_article
from newsdesk.store import articles as article_store
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import SourceRow, utcnow

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
"""Called with the number of units just finished (for a Rich progress bar)."""

# Text shorter than this in a feed's own content is a teaser, not an article.
_MIN_FEED_TEXT_CHARS = 400
# With crawl_pages="auto", feed content this long is the full article: its page is not fetched.
FULL_TEXT_WORDS = 150
# Less than this is no text at all (the same floor as page extraction).
_MIN_TEXT_CHARS = 80


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


SourceState = _SourceState


@dataclass(frozen=True)
class Polled:
    """A source fetched and parsed, its check not recorded yet (see ``Pipeline.poll_source``)."""

    source: _SourceState
    result: FetchResult
    entries: list[FeedEntry]  # only those not stored yet
    ttl: int | None = None
    title: str = ""
    site_url: str = ""


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
            due = [_SourceState.of(s) for s in source_store.due_sources(
                session, error_limit=self.settings.source_error_limit)]
        report = IngestReport()
        async with Fetcher(self.settings) as fetcher:
            results = await asyncio.gather(
                *(self._guarded_source(fetcher, s, progress) for s in due))
        for result in results:
            report.merge(result)
        return report

    def due_count(self) -> int:
        with self.db.read() as session:
            return len(source_store.due_sources(
                session, error_limit=self.settings.source_error_limit))

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
        polled = await self.poll_source(fetcher, source, report)
        if polled is None:
            return report
        await self._ingest_entries(fetcher, polled.entries, source.id, report)
        self.finish_poll(polled)
        return report

    # -- one step at a time (background workers, newsdesk.jobs) -------------------
    def source_state(self, source_id: int) -> _SourceState | None:
        """The source to poll, or ``None`` when it was deleted or paused since it was queued."""
        with self.db.read() as session:
            row = source_store.get_source(session, source_id)
            return None if row is None or row.paused else _SourceState.of(row)

    async def poll_source(self, fetcher: Fetcher, source: _SourceState,
                          report: IngestReport) -> Polled | None:
        """Fetch and parse a source, without recording the check yet.

        A failure is recorded on the source (error, back-off) and gives ``None``.
        Success is recorded by :meth:`finish_poll` once the entries are handed
        on, so a crash in between leaves the source due again rather than
        marked done with its entries lost.
        """
        try:
            result = await fetcher.get(source.url, etag=source.etag,
                                       last_modified=source.last_modified)
        except FetchError as exc:
            self._failed(source, report, str(exc), exc.retry_after)
            return None
        if result.not_modified:
            report.not_modified += 1
            return Polled(source, result, [])
        try:
            entries, ttl, title, site = self._entries_of(source, result)
        except (FeedError, ValueError) as exc:
            self._failed(source, report, f"{source.url}: {exc}", None)
            return None
        known = self._known_urls([e.url for e in entries])
        fresh = [e for e in entries if e.url not in known]
        report.skipped += len(entries) - len(fresh)
        return Polled(source, result, fresh, ttl, title, site)

    def finish_poll(self, polled: Polled) -> None:
        """Record a successful check: validators, TTL and the next check time."""
        if polled.result.not_modified:
            self._succeeded(polled.source, polled.result, ttl=None)
            return
        self._succeeded(polled.source, polled.result, ttl=polled.ttl, title=polled.title,
                        site_url=polled.site_url)

    def fail_source(self, source: _SourceState, error: str) -> None:
        """Record a failure the fetch itself did not see (e.g. the task ran out of time)."""
        self._failed(source, IngestReport(sources=1), error, None)

    async def extract_entry(self, fetcher: Fetcher, entry: FeedEntry, source_id: int | None,
                            report: IngestReport) -> int | None:
        """Fetch, extract and save one feed entry; the article id, or ``None``.

        Idempotent: a URL already stored costs no request and changes nothing,
        and saving twice is a no-op (``save_article``), so a redelivered task
        is harmless. A page that cannot be read lands in ``report.errors``.
        """
        if self._known(entry.url):
            report.skipped += 1
            return None
        article, error = await self._entry_article(fetcher, entry)
        if article is None:
            report.errors.append(f"{entry.url}: {error}")
            return None
        return self._save(article, source_id, report)

    def _entries_of(
        self, source: _SourceState, result: FetchResult
    ) -> tuple[list[FeedEntry], int | None, str, str]:
        if source.kind == "sitemap":
            sitemap = parse_sitemap(result.content)
            recent = sorted(sitemap.urls, key=lambda u: u.lastmod.timestamp() if u.lastmod else 0,
                            reverse=True)[: self.settings.max_items_per_feed]
            entries = [FeedEntry(url=u.loc, title=u.title, published_at=u.lastmod) for u in recent]
            _feed_hints(self)[source.id] = _FeedHints(
                source_store.entries_per_week((e.published_at for e in entries), utcnow()))
            return entries, None, "", ""
        feed = parse_feed(result.content, result.url, result.content_type,
                          max_items=self.settings.max_items_per_feed)
        _feed_hints(self)[source.id] = _FeedHints(
            source_store.entries_per_week((e.published_at for e in feed.entries), utcnow()),
            feed.skip_hours, feed.skip_days)
        return feed.entries, feed.ttl_minutes or 0, feed.title, feed.site_url

    def _succeeded(self, source: _SourceState, result: FetchResult, *, ttl: int | None,
                   title: str = "", site_url: str = "") -> None:
        # What the feed said about its schedule (skip rules, posting rate) comes from
        # _entries_of; a 304 says nothing, so the stored rules stay (None).
        hints = _feed_hints(self).pop(source.id, None)
        ttl_minutes = ttl
        if result.ttl_seconds:  # HTTP Cache-Control max-age / Expires
            ttl_minutes = max(ttl or 0, int(result.ttl_seconds // 60))
        with self.db.write() as session:
            row = source_store.get_source(session, source.id)
            if row is not None:
                source_store.record_success(
                    session, row, self.schedule, etag=result.etag,
                    last_modified=result.last_modified, ttl_minutes=ttl_minutes,
                    retry_after=result.retry_after, title=title, site_url=site_url,
                    feed_rate=hints.rate if hints else 0.0,
                    skip_hours=hints.skip_hours if hints else None,
                    skip_days=hints.skip_days if hints else None)

    def _failed(self, source: _SourceState, report: IngestReport, error: str,
                retry_after: float | None) -> None:
        log.info("source failed: %s", error)  # recorded on the source for the UI and CLI
        _feed_hints(self).pop(source.id, None)
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
        """Fetch and store ``entries`` (``poll_source`` already left out the known URLs)."""
        outcomes = await asyncio.gather(*(self._entry_article(fetcher, e) for e in entries))
        found: list[Article] = []
        for entry, (article, error) in zip(entries, outcomes, strict=True):
            if article is None:
                report.errors.append(f"{entry.url}: {error}")
            else:
                found.append(article)
        self._save_many(found, source_id, report)

    def _known(self, url: str) -> bool:
        with self.db.read() as session:
            return article_store.find_by_url(session, url) is not None

    def _known_urls(self, urls: list[str]) -> set[str]:
        with self.db.read() as session:
            return article_store.known_urls(session, urls)

    def _save_many(self, found: list[Article], source_id: int | None,
                   report: IngestReport) -> None:
        """Save one feed's new articles in one transaction (``save_articles``).

        One transaction and a few set-wise statements per feed instead of four
        statements and a commit per article: that is what a refresh of many
        feeds spends its time on. Nothing is half-written; a crash loses at
        most the feed in flight, which stays due and is fetched again. A batch
        the database refuses is retried one article at a time, so one bad
        article costs only itself.
        """
        if not found:
            return
        try:
            with self.db.write() as session:
                results = article_store.save_articles(session, found, source_id)
        except SQLAlchemyError as exc:
            log.warning("batch save failed (%s); saving one by one", type(exc).__name__)
            for article in found:
                self._save_one(article, source_id, report)
            return
        for result in results:
            report.count(result.status)
            count_article(result.status)

    def _save_one(self, article: Article, source_id: int | None, report: IngestReport) -> None:
        try:
            self._save(article, source_id, report)
        except SQLAlchemyError as exc:
            log.warning("cannot save %s: %s", article.url, exc)
            report.errors.append(f"{article.url}: cannot save: {type(exc).__name__}: {exc}")

    async def _entry_article(
        self, fetcher: Fetcher, entry: FeedEntry
    ) -> tuple[Article | None, str]:
        """The article behind a feed entry: the feed's own full text, or its page.

        ``crawl_pages``: "auto" (default) stores an entry whose feed content is
        the whole article (FULL_TEXT_WORDS or more) without requesting its page,
        as Miniflux and FreshRSS do, and fetches the page only for teasers;
        "always" fetches every page (the feed text is the fallback); "never"
        never requests a page and stores whatever text the feed carries.
        """
        mode = self.settings.crawl_pages
        from_feed = _article_from_entry(entry) if mode != "always" else None
        if mode == "never":
            return (from_feed, "") if from_feed else (None, "the feed carries no article text "
                                                            "and crawl_pages is 'never'")
        if from_feed is not None and len(from_feed.text.split()) >= FULL_TEXT_WORDS:
            return from_feed, ""
        try:
            page = await fetcher.get(entry.url, check_robots=self.settings.respect_robots)
            article = await asyncio.to_thread(
                extract, page.text(), page.url, fallback_title=entry.title,
                fallback_date=entry.published_at)
        except (FetchError, ExtractionError) as exc:
            fallback = from_feed if mode != "always" else _article_from_entry(entry)
            if fallback is not None and len(fallback.text) >= _MIN_FEED_TEXT_CHARS:
                return fallback, ""
            return None, str(exc)
        if not article.byline and entry.author:
            article.byline = entry.author
        if not article.image and entry.image:
            article.image = entry.image
        return article, ""

    def _save(self, article: Article, source_id: int | None, report: IngestReport) -> int:
        with self.db.write() as session:
            result = article_store.save_article(session, article, source_id)
        report.count(result.status)
        count_article(result.status)
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
    """The feed's own text of an entry as an article; None when it has (almost) none.

    Sanitised to plain paragraphs by ``feedtext`` (lxml, no trafilatura: the
    item is the article body already); the caller decides whether the text is
    a full article or only stands in for a page that could not be read.
    """
    article = article_from_feed(entry)
    if article is None or len(article.text) < _MIN_TEXT_CHARS:
        return None
    return article


@dataclass(frozen=True)
class _FeedHints:
    """What a parsed feed says about its own schedule, kept until the check is recorded."""

    rate: float = 0.0  # entries a week, from the feed's own dates
    skip_hours: set[int] | None = None
    skip_days: set[str] | None = None


def _feed_hints(pipeline: Pipeline) -> dict[int, _FeedHints]:
    """Per-pipeline hints by source id, from ``_entries_of`` to ``_succeeded``.

    They travel beside the calls because those signatures are shared with the
    background job runner (``Polled``); a failure in between drops them.
    """
    hints: dict[int, _FeedHints] = pipeline.__dict__.setdefault("_feed_hints", {})
    return hints
