"""newsdesk's Celery tasks: fetch a source, extract an entry, enrich what is pending.

Every task is idempotent, because delivery is at least once (``acks_late``):

* ``fetch_source`` polls with the source's validators and queues one
  ``extract_entry`` per entry not stored yet; the check is recorded after the
  entries are queued, so a crash in between makes the source due again;
* ``extract_entry`` skips a URL already stored and saves in one transaction
  (``save_article`` is a no-op for an article it already has);
* ``enrich_pending`` works off ``enriched_at``, under a lock that lets one
  process enrich at a time.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from celery.exceptions import SoftTimeLimitExceeded

from newsdesk.ingest.pipeline import IngestReport
from newsdesk.jobs.app import ENRICH_PENDING, EXTRACT_ENTRY, FETCH_SOURCE
from newsdesk.jobs.base import NewsdeskTask, retry_options
from newsdesk.jobs.locks import exclusive
from newsdesk.jobs.messages import entry_from_message, entry_to_message

if TYPE_CHECKING:
    from newsdesk.jobs.app import NewsdeskCelery
    from newsdesk.jobs.runtime import Runtime

log = logging.getLogger(__name__)

# The enricher stops taking new batches at this share of the hard time limit
# (the soft limit is at 0.9) and queues a successor, so a backlog never hits it.
ENRICH_SHARE_OF_LIMIT = 0.8
# The enrich lock outlives the hard time limit by this much: long enough that it
# never expires under a live holder, short enough that a dead one blocks little.
LOCK_MARGIN_SECONDS = 30.0


def register(app: NewsdeskCelery) -> None:
    """Register the tasks on ``app`` with retry options from its settings."""
    options = retry_options(app.settings)
    app.task(name=FETCH_SOURCE, base=NewsdeskTask, bind=True, **options)(fetch_source)
    # Two workers saving one new URL at once: the loser's unique-key violation
    # becomes a no-op "unchanged" on retry.
    app.task(name=EXTRACT_ENTRY, base=NewsdeskTask, bind=True,
             **retry_options(app.settings, (sqlalchemy.exc.IntegrityError,)))(extract_entry)
    app.task(name=ENRICH_PENDING, base=NewsdeskTask, bind=True, **options)(enrich_pending)


# -- fetch_source -------------------------------------------------------------------------


def fetch_source(task: NewsdeskTask, source_id: int) -> dict[str, Any]:
    """Poll one source and queue its new entries; the outcome is recorded on the source."""
    runtime = task.runtime
    source = runtime.pipeline.source_state(int(source_id))
    if source is None:
        return {"source": source_id, "status": "gone"}
    report = IngestReport(sources=1)
    try:
        polled = runtime.fetch(
            lambda fetcher: runtime.pipeline.poll_source(fetcher, source, report))
        if polled is not None:
            for entry in polled.entries:
                task.app.send_task(EXTRACT_ENTRY, args=[source.id, entry_to_message(entry)])
            runtime.pipeline.finish_poll(polled)
    except SoftTimeLimitExceeded:
        # Record it rather than leave the lease to expire: the source backs off.
        runtime.pipeline.fail_source(source, f"{source.url}: not polled within the time limit")
        return {"source": source.id, "status": "timed out"}
    queued = len(polled.entries) if polled else 0
    return {"source": source.id, "queued": queued} | report.as_dict()


# -- extract_entry ------------------------------------------------------------------------


def extract_entry(task: NewsdeskTask, source_id: int | None,
                  entry: dict[str, Any]) -> dict[str, Any]:
    """Fetch, extract and store one feed entry, then (debounced) ask for enrichment."""
    feed_entry = entry_from_message(entry)
    runtime = task.runtime
    report = IngestReport()
    article_id = runtime.fetch(
        lambda fetcher: runtime.pipeline.extract_entry(fetcher, feed_entry, source_id, report))
    if report.errors:
        log.warning("entry not stored: %s", report.errors[0])
    if report.created or report.updated:
        request_enrichment(task.app, runtime)
    return {"article": article_id} | report.as_dict()


def request_enrichment(app: NewsdeskCelery, runtime: Runtime) -> bool:
    """Queue ``enrich_pending`` unless this process did within the debounce window.

    The task is delayed by a little more than the window, so every article
    whose request was swallowed by the window was committed before it runs:
    4000 saves cost a handful of enrich tasks, and none is left behind.
    """
    debounce = runtime.enrich_debounce
    if not debounce.ready():
        return False
    app.send_task(ENRICH_PENDING, countdown=debounce.seconds + 0.5)
    return True


# -- enrich_pending -----------------------------------------------------------------------


def enrich_pending(task: NewsdeskTask) -> dict[str, Any]:
    """Enrich everything pending, if no other process is doing it right now.

    The holder of the lock keeps going until nothing is pending. A request
    that finds the lock held returns at once: its articles were committed
    before the holder lets go, and the holder looks once more after letting go,
    queuing a successor if anything (not failing) is still pending.
    """
    runtime = task.runtime
    limit = runtime.settings.task_time_limit
    stop_at = time.monotonic() + ENRICH_SHARE_OF_LIMIT * limit
    failed: set[int] = set()
    outcome: dict[str, Any] = {"status": "done"}
    with exclusive(runtime.db, runtime.redis, lease_seconds=limit + LOCK_MARGIN_SECONDS) as held:
        if not held:
            return {"status": "busy"}
        try:
            report = runtime.enricher.run_pending(keep_going=lambda: time.monotonic() < stop_at)
            failed = report.failed_ids
            outcome |= {"enriched": report.enriched, "errors": len(report.errors)}
        except SoftTimeLimitExceeded:
            log.warning("enrichment stopped at the soft time limit; a successor continues")
            outcome["status"] = "timed out"
    if runtime.enricher.pending(limit=1, exclude=failed):
        task.app.send_task(ENRICH_PENDING)
        outcome["continued"] = True
    return outcome
