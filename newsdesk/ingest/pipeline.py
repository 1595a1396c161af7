"""The ingest pipeline: sources -> fetch -> parse -> extract -> store.

One entry point per kind of input (due sources, one URL, a local path). A
feed's new articles are saved together with the record of its check in one
transaction (one article at a time if the batch is refused), so a crash loses
at most the feed in flight, which stays due, and never half-writes an article;
a failing source is recorded with its error and backs off, and nothing else
stops. Parsing and extraction may run in parse processes (``parsepool``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newsdesk.config import Settings
from newsdesk.ingest.discover import discover_feeds
from newsdesk.ingest.entries import (
    article_from_entry,
    article_from_page,
    articles_from_entries,
    parse_source,
)
from newsdesk.ingest.extract import ExtractionError, extract
from newsdesk.ingest.feeds import FeedError, looks_like_feed, parse_feed
from newsdesk.ingest.fetch import Fetcher, FetchError, FetchResult, check_url
from newsdesk.ingest.local import read_path
from newsdesk.ingest.parsepool import ParsePool, ParserCrashed, pool_size
from newsdesk.model import Article, FeedEntry
from newsdesk.obs.metrics import count_article
from newsdesk.store import articles as article_store
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import SourceRow

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
"""Called with the number of units just finished (for a Rich progress bar)."""

T = TypeVar("T")

# Text shorter than this in a feed's own content is a teaser, not an article.
_MIN_FEED_TEXT_CHARS = 400
# With crawl_pages="auto", feed content this long is the full article: its page is not fetched.
FULL_TEXT_WORDS = 150
# A run over fewer due sources than this parses in its own process: starting
# parse processes costs more than it saves.
MIN_SOURCES_FOR_PARSE_POOL = 8
# During a run over many sources, "not modified" checks are recorded this many
# to a transaction: a commit per 304 was most of what a 304 cost (an fsync on
# PostgreSQL). A crash loses only these records: the sources stay due.
CHECK_BATCH = 50


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
    # What the feed says about its own schedule (posting rate, skip rules); a
    # 304 says nothing, so the stored rules stay.
    rate: float = 0.0
    skip_hours: set[int] | None = None
    skip_days: set[str] | None = None


class Pipeline:
    """Runs ingest work against one database with one set of settings."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.schedule = _schedule(settings)
        self._parse_pool: ParsePool | None = None
        self._unchanged: list[Polled] | None = None  # 304s to record, during run_due

    # -- due sources -----------------------------------------------------
    async def run_due(self, progress: Progress | None = None) -> IngestReport:
        """Fetch every due source once, concurrently within the fetcher's limits."""
        with self.db.read() as session:
            due = [_SourceState.of(s) for s in source_store.due_sources(
                session, error_limit=self.settings.source_error_limit)]
        report = IngestReport()
        self._unchanged = []
        try:
            async with Fetcher(self.settings) as fetcher, self._parsing(len(due)):
                results = await asyncio.gather(
                    *(self._guarded_source(fetcher, s, progress) for s in due))
        finally:
            self._record_unchanged()
            self._unchanged = None
        for result in results:
            report.merge(result)
        return report

    @asynccontextmanager
    async def _parsing(self, sources: int) -> AsyncIterator[None]:
        """Parse in other processes for this run when it is big enough and cores are spare."""
        processes = pool_size(self.settings.parse_processes)
        if processes == 0 or sources < MIN_SOURCES_FOR_PARSE_POOL or self._parse_pool:
            yield
            return
        self._parse_pool = ParsePool(processes)
        try:
            yield
        finally:
            pool, self._parse_pool = self._parse_pool, None
            await asyncio.to_thread(pool.close)

    async def _cpu(self, fn: Callable[..., T], *args: object, threaded: bool = False) -> T:
        """``fn(*args)`` in the parse pool when there is one, else here.

        ``threaded``: without a pool, run it in a thread rather than on the
        event loop (page extraction: tens of milliseconds, the loop's other
        fetches go on meanwhile).
        """
        if self._parse_pool is not None:
            return await self._parse_pool.run(fn, *args)
        if threaded:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

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
        if polled.result.not_modified and self._unchanged is not None:
            self._unchanged.append(polled)
            if len(self._unchanged) >= CHECK_BATCH:
                self._record_unchanged()
            return report
        found = await self._articles_of(fetcher, polled.entries, report)
        self._save_many(found, source.id, report, polled)
        return report

    def _record_unchanged(self) -> None:
        """Record the 304s collected so far in one transaction (one by one if it fails)."""
        if not self._unchanged:
            return
        batch, self._unchanged = self._unchanged, []
        try:
            with self.db.write() as session:
                for polled in batch:
                    self._record_success(session, polled)
        except SQLAlchemyError as exc:
            log.warning("recording %d checks failed (%s); one by one", len(batch),
                        type(exc).__name__)
            for polled in batch:
                try:
                    self.finish_poll(polled)
                except SQLAlchemyError as again:
                    log.warning("cannot record the check of %s: %s", polled.source.url, again)

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
            document = await self._cpu(
                parse_source, "sitemap" if source.kind == "sitemap" else "feed",
                result.content, result.url, result.content_type,
                self.settings.max_items_per_feed)
        except (FeedError, ValueError, ParserCrashed) as exc:
            self._failed(source, report, f"{source.url}: {exc}", None)
            return None
        entries = document.entries
        known = self._known_urls([e.url for e in entries])
        fresh = [e for e in entries if e.url not in known]
        report.skipped += len(entries) - len(fresh)
        return Polled(source, result, fresh, document.ttl_minutes, document.title,
                      document.site_url, document.rate, document.skip_hours,
                      document.skip_days)

    def finish_poll(self, polled: Polled) -> None:
        """Record a successful check: validators, TTL and the next check time."""
        with self.db.write() as session:
            self._record_success(session, polled)

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
        from_feed = article_from_entry(entry) if self.settings.crawl_pages != "always" else None
        article, error = await self._entry_article(fetcher, entry, from_feed)
        if article is None:
            report.errors.append(f"{entry.url}: {error}")
            return None
        return self._save(article, source_id, report)

    def _record_success(self, session: Session, polled: Polled) -> None:
        """``finish_poll`` in the caller's transaction."""
        source, result = polled.source, polled.result
        ttl_minutes = None if result.not_modified else polled.ttl
        if result.ttl_seconds:  # HTTP Cache-Control max-age / Expires
            ttl_minutes = max(ttl_minutes or 0, int(result.ttl_seconds // 60))
        row = source_store.get_source(session, source.id)
        if row is not None:
            source_store.record_success(
                session, row, self.schedule, etag=result.etag,
                last_modified=result.last_modified, ttl_minutes=ttl_minutes,
                retry_after=result.retry_after, title=polled.title, site_url=polled.site_url,
                feed_rate=polled.rate, skip_hours=polled.skip_hours,
                skip_days=polled.skip_days)

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
    async def _articles_of(self, fetcher: Fetcher, entries: list[FeedEntry],
                           report: IngestReport) -> list[Article]:
        """The articles behind ``entries`` (``poll_source`` already left out the known URLs)."""
        if not entries:
            return []
        drafts: list[Article | None] = [None] * len(entries)
        if self.settings.crawl_pages != "always":
            try:
                drafts = await self._cpu(articles_from_entries, entries)
            except ParserCrashed as exc:
                report.errors.extend(f"{e.url}: {exc}" for e in entries)
                return []
        outcomes = await asyncio.gather(*(self._entry_article(fetcher, e, draft)
                                          for e, draft in zip(entries, drafts, strict=True)))
        found: list[Article] = []
        for entry, (article, error) in zip(entries, outcomes, strict=True):
            if article is None:
                report.errors.append(f"{entry.url}: {error}")
            else:
                found.append(article)
        return found

    def _known(self, url: str) -> bool:
        with self.db.read() as session:
            return article_store.find_by_url(session, url) is not None

    def _known_urls(self, urls: list[str]) -> set[str]:
        with self.db.read() as session:
            return article_store.known_urls(session, urls)

    def _save_many(self, found: list[Article], source_id: int, report: IngestReport,
                   polled: Polled) -> None:
        """Save one feed's new articles and record its check, in one transaction.

        One transaction and a few set-wise statements per feed (``save_articles``)
        instead of four statements and a commit per article and one more for
        the check: that is what a refresh of many feeds spends its time on.
        Nothing is half-written; a crash loses at most the feed in flight,
        which stays due (its check unrecorded) and is fetched again. A batch
        the database refuses is retried one article at a time, so one bad
        article costs only itself, and the check is recorded after.
        """
        try:
            with self.db.write() as session:
                results = article_store.save_articles(session, found, source_id) if found else []
                self._record_success(session, polled)
        except SQLAlchemyError as exc:
            log.warning("batch save failed (%s); saving one by one", type(exc).__name__)
            for article in found:
                self._save_one(article, source_id, report)
            self.finish_poll(polled)
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
        self, fetcher: Fetcher, entry: FeedEntry, from_feed: Article | None
    ) -> tuple[Article | None, str]:
        """The article behind a feed entry: the feed's own full text, or its page.

        ``from_feed`` is ``article_from_entry(entry)``, computed by the caller
        (for a whole feed at once, perhaps in a parse process); ``None`` with
        "always". ``crawl_pages``: "auto" (default) stores an entry whose feed
        content is the whole article (FULL_TEXT_WORDS or more) without
        requesting its page, as Miniflux and FreshRSS do, and fetches the page
        only for teasers; "always" fetches every page (the feed text is the
        fallback); "never" never requests a page and stores whatever text the
        feed carries.
        """
        mode = self.settings.crawl_pages
        if mode == "never":
            return (from_feed, "") if from_feed else (None, "the feed carries no article text "
                                                            "and crawl_pages is 'never'")
        if from_feed is not None and len(from_feed.text.split()) >= FULL_TEXT_WORDS:
            return from_feed, ""
        try:
            page = await fetcher.get(entry.url, check_robots=self.settings.respect_robots)
            article = await self._cpu(article_from_page, page.text(), page.url, entry.title,
                                      entry.published_at, threaded=True)
        except (FetchError, ExtractionError, ParserCrashed) as exc:
            fallback = from_feed if mode != "always" else article_from_entry(entry)
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
