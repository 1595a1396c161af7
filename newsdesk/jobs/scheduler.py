"""The scheduler: every few seconds, lease a batch of due sources and queue their fetch.

Miniflux's batch builder, made safe for several schedulers (or a restarted one
overlapping the old): picking a source and *leasing* it, pushing its
``next_check_at`` past the longest its fetch can take, happen in one write
transaction, and on PostgreSQL the rows are claimed with ``FOR UPDATE SKIP
LOCKED`` (a second scheduler skips them instead of waiting, then finds them no
longer due). On SQLite the write transaction is ``BEGIN IMMEDIATE``, which
serialises schedulers outright. The fetch task replaces the lease with the
real next check; a lease whose task was lost simply runs out and the source
is due again.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from newsdesk.config import Settings
from newsdesk.jobs.app import ENRICH_PENDING, FETCH_SOURCE, NewsdeskCelery
from newsdesk.jobs.base import TRANSIENT
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, SourceRow, utcnow

log = logging.getLogger(__name__)

# A lease lasts this many task time limits: the fetch may wait in the queue
# behind another task, then run for up to one limit.
LEASE_LIMITS = 2


class Scheduler:
    """Queues ``fetch_source`` for due sources, and ``enrich_pending`` as a safety net."""

    def __init__(self, settings: Settings, db: Database, app: NewsdeskCelery) -> None:
        self.settings = settings
        self.db = db
        self.app = app

    def run_once(self, now: datetime | None = None) -> int:
        """One tick: lease and queue a batch; returns how many sources were queued."""
        leased = self.lease_due(now)
        for source_id in leased:
            self.app.send_task(FETCH_SOURCE, args=[source_id])
        if self._enrichment_pending():
            # Normally extract_entry asks for enrichment itself; this catches a
            # request lost to a crash between a save and its request.
            self.app.send_task(ENRICH_PENDING)
        return len(leased)

    def lease_due(self, now: datetime | None = None) -> list[int]:
        """Claim up to a batch of due sources (at most ``scheduler_per_host`` per host)."""
        now = now or utcnow()
        lease_until = now + timedelta(seconds=LEASE_LIMITS * self.settings.task_time_limit)
        with self.db.write() as session:
            candidates = source_store.due_sources(
                session, now, limit=self.settings.scheduler_batch_size,
                error_limit=self.settings.source_error_limit,
                per_host=self.settings.scheduler_per_host)
            if not candidates:
                return []
            claimed = set(session.scalars(
                select(SourceRow.id)
                .where(SourceRow.id.in_([c.id for c in candidates]))
                .where(or_(SourceRow.next_check_at.is_(None), SourceRow.next_check_at <= now))
                .with_for_update(skip_locked=True)))
            leased = [c for c in candidates if c.id in claimed]
            for row in leased:
                row.next_check_at = lease_until
            return [row.id for row in leased]

    def _enrichment_pending(self) -> bool:
        with self.db.read() as session:
            stmt = select(ArticleRow.id).where(ArticleRow.enriched_at.is_(None)).limit(1)
            return session.scalars(stmt).first() is not None

    def run_forever(self, stop: threading.Event) -> None:
        """Tick every ``scheduler_interval`` seconds until ``stop`` is set.

        A database or broker outage costs the ticks it lasts, not the scheduler.
        """
        while not stop.is_set():
            started = time.monotonic()
            try:
                queued = self.run_once()
                if queued:
                    log.info("queued %d sources", queued)
            except TRANSIENT as exc:
                log.warning("scheduler tick failed, trying again next tick: %s", exc)
            elapsed = time.monotonic() - started
            stop.wait(max(0.0, self.settings.scheduler_interval - elapsed))
