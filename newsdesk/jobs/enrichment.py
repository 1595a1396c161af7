"""Enrichment outside a worker (``newsdesk enrich``, the demo) under the same lock.

Workers enrich under ``jobs.locks.exclusive`` so that two processes never
assign stories against different in-memory indexes. A command-line backfill
must respect that lock too, or running it next to the workers would split
stories. It holds the lock for one lease at a time (a Redis lease expires, so
a long backfill renews it between leases) and gives up at once, saying so,
when a worker holds it: that worker keeps going until nothing is pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from newsdesk.config import Settings
from newsdesk.enrich.enricher import Enricher, EnrichReport
from newsdesk.jobs.locks import exclusive
from newsdesk.store.db import Database

LEASE_MARGIN_SECONDS = 60.0
SHARE_OF_LEASE = 0.8  # stop a lease's work this far in, well before the lease expires


def enrich_exclusively(
    settings: Settings, db: Database, enricher: Enricher,
    progress: Callable[[int], None] | None = None,
) -> EnrichReport | None:
    """Enrich everything pending while holding the enrich lock; ``None`` if it is taken."""
    url = settings.resolved_redis_url
    client = redis.Redis.from_url(url) if url else None
    lease = settings.task_time_limit + LEASE_MARGIN_SECONDS
    report = EnrichReport()
    try:
        while enricher.pending(limit=1, exclude=report.failed_ids):
            with exclusive(db, client, lease_seconds=lease) as held:
                if not held:
                    return None if not report.enriched else report
                deadline = _deadline(SHARE_OF_LEASE * settings.task_time_limit)
                report.merge(enricher.run_pending(progress, keep_going=deadline))
    finally:
        if client is not None:
            client.close()
    return report


def _deadline(seconds: float) -> Callable[[], bool]:
    """True until ``seconds`` from now."""
    stop_at = time.monotonic() + seconds
    return lambda: time.monotonic() < stop_at
