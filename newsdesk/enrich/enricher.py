"""The enrich stage: copies, hashtags, vectors and stories for stored articles.

It runs after ingest has committed an article, never inside that transaction:
an article is stored first and enriched second, so a failing model or index
can delay enrichment but never lose an article. ``articles.enriched_at`` marks
done work, which makes every run idempotent and lets ``newsdesk enrich``
backfill whatever a crash left behind.

The in-memory indexes (MinHash LSH, HNSW, story clusterer) are rebuilt from
the database when the stage starts; the database stays the truth. Several
processes (Celery workers) may take turns enriching one database, so before
each batch the enricher compares a cheap watermark of enriched articles with
the one it left behind and rebuilds its indexes when another process moved it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from newsdesk.config import Settings
from newsdesk.enrich import dedup, storyline
from newsdesk.enrich.cluster import StoryClusterer
from newsdesk.enrich.embed import Embedder, article_text, load_embedder
from newsdesk.enrich.tags import extract_tags
from newsdesk.model import Tag
from newsdesk.store import tags as tag_store
from newsdesk.store import vectors
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, utcnow
from newsdesk.store.vectors import VectorIndex

log = logging.getLogger(__name__)

BATCH = 64  # articles embedded together: large enough to amortise, small enough to commit often
SAVE_EVERY = 16  # batches between two writes of the ANN file (168 MB at 100k articles)


@dataclass
class EnrichReport:
    enriched: int = 0
    duplicates: int = 0
    new_stories: int = 0
    errors: list[str] = field(default_factory=list)
    failed_ids: set[int] = field(default_factory=set)

    def merge(self, other: EnrichReport) -> None:
        self.enriched += other.enriched
        self.duplicates += other.duplicates
        self.new_stories += other.new_stories
        self.errors.extend(other.errors)
        self.failed_ids |= other.failed_ids


Watermark = tuple[int, datetime | None]
"""(number of enriched articles, newest ``enriched_at``): moves whenever anyone enriches."""


class Enricher:
    """Holds the models and indexes one process uses to enrich articles."""

    def __init__(self, settings: Settings, db: Database,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.db = db
        self._embedder = embedder
        self._dedup: dedup.DedupIndex | None = None
        self._clusterer: StoryClusterer | None = None
        self._index: VectorIndex | None = None
        self._watermark: Watermark | None = None  # as this process last left it

    # -- lazily built state ---------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.settings, self.db, self.embedder.dim).open()
        return self._index

    def _dedup_index(self) -> dedup.DedupIndex:
        if self._dedup is None:
            with self.db.read() as session:
                self._dedup = dedup.DedupIndex.load(session)
        return self._dedup

    def _story_clusterer(self) -> StoryClusterer:
        if self._clusterer is None:
            clusterer = StoryClusterer()
            with self.db.read() as session:
                storyline.resume(session, clusterer)
            self._clusterer = clusterer
        return self._clusterer

    # -- staleness --------------------------------------------------------------------
    def current_watermark(self) -> Watermark:
        """Count and newest ``enriched_at`` of enriched articles (one indexed aggregate)."""
        with self.db.read() as session:
            count, newest = session.execute(
                select(func.count(ArticleRow.id), func.max(ArticleRow.enriched_at))
                .where(ArticleRow.enriched_at.is_not(None))).one()
        return int(count), newest

    def refresh_if_stale(self) -> bool:
        """Drop the in-memory indexes if another process enriched since this one did.

        They would otherwise miss that process's articles: copies of them would
        not be found and their stories not joined. The indexes are rebuilt lazily
        from the database (the HNSW file, saved by the other process, loads when
        it matches the table). Returns whether they were dropped.
        """
        if self._watermark is None or self.current_watermark() == self._watermark:
            return False
        log.info("another process enriched articles: rebuilding the in-memory indexes")
        self._dedup = self._clusterer = self._index = None
        self._watermark = None
        return True

    # -- work -------------------------------------------------------------------------
    def pending(self, limit: int = 10_000, exclude: Collection[int] = ()) -> list[int]:
        """Stored articles not enriched yet, oldest first (stories grow in time order)."""
        with self.db.read() as session:
            stmt = select(ArticleRow.id).where(ArticleRow.enriched_at.is_(None))
            if exclude:
                stmt = stmt.where(ArticleRow.id.not_in(list(exclude)))
            stmt = (stmt.order_by(ArticleRow.published_at.asc().nulls_first(), ArticleRow.id)
                    .limit(limit))
            return [int(i) for i in session.scalars(stmt)]

    def run_pending(self, progress: Callable[[int], None] | None = None, *,
                    keep_going: Callable[[], bool] | None = None) -> EnrichReport:
        """Enrich everything pending, in batches.

        An article that fails stays pending (for a later run) but is not retried
        in this one, so one bad article cannot keep the loop going forever.
        ``keep_going`` is asked between batches; ``False`` stops early (a
        background task stops before its time limit and queues a successor).
        """
        report = EnrichReport()
        while ids := self.pending(limit=BATCH * SAVE_EVERY, exclude=report.failed_ids):
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                report.merge(self.enrich(chunk, save=False))
                if progress:
                    progress(len(chunk))
                if keep_going is not None and not keep_going():
                    self.index.save()
                    return report
            self.index.save()  # the file is a cache: a crash before this costs one rebuild
        return report

    def enrich(self, article_ids: Sequence[int], *, save: bool = True) -> EnrichReport:
        """Enrich these articles: one embedding batch, then one transaction per article."""
        report = EnrichReport()
        self.refresh_if_stale()
        with self.db.read() as session:
            rows = [r for r in session.scalars(
                select(ArticleRow).where(ArticleRow.id.in_(list(article_ids)),
                                         ArticleRow.enriched_at.is_(None))
                .order_by(ArticleRow.published_at.asc().nulls_first(), ArticleRow.id))]
            texts = [article_text(r.title, r.text) for r in rows]
        if not rows:
            return report
        matrix = self.embedder.encode(texts)
        for row, vector in zip(rows, matrix, strict=True):
            try:
                self._enrich_one(row.id, vector, report)
            except Exception as exc:  # one bad article must not stop the batch
                log.exception("enrich failed for article %s", row.id)
                report.errors.append(f"article {row.id}: {type(exc).__name__}: {exc}")
                report.failed_ids.add(row.id)
        self._watermark = self.current_watermark()
        if save:
            self.index.save()
        return report

    def _enrich_one(self, article_id: int, vector: np.ndarray, report: EnrichReport) -> None:
        with self.db.write() as session:
            row = session.get(ArticleRow, article_id)
            if row is None or row.enriched_at is not None:
                return
            original = dedup.record(self._dedup_index(), session, row.id, row.text)
            tag_store.set_article_tags(session, row.id, [
                t for t in extract_tags(row.title, row.text) if not _names_outlet(t, row.outlet)])
            vectors.save_vectors(session, [row.id], vector[None, :])
            if original is not None:
                report.duplicates += 1
                copy_of = session.get(ArticleRow, original)
                row.story_id = copy_of.story_id if copy_of else None
            else:
                assignment = storyline.cluster_article(session, self._story_clusterer(), row,
                                                     vector)
                report.new_stories += int(assignment.created)
            row.enriched_at = utcnow()
        self.index.add([article_id], vector[None, :])
        report.enriched += 1


def _names_outlet(tag: Tag, outlet: str) -> bool:
    """A tag for the publishing outlet itself (#BBC on "BBC News") says nothing about the story.

    Every article of that outlet would carry it, like page chrome; places are kept
    ("Korea Herald" still tags #SouthKorea).
    """
    name, owner = tag.name.lower(), outlet.lower()
    return bool(owner) and tag.kind != "place" and (owner == name or owner.startswith(name + " "))
