"""``newsdesk eval load``: readers on every kind of page while workers ingest.

Issue #6's load test. A loopback farm serves ``feeds`` x ``items`` articles;
a first slice of it is ingested and enriched up front so that article, story
and search pages exist. Then the real deployment starts (``newsdesk serve``,
two ``newsdesk worker`` processes, ``newsdesk scheduler``) and wrk plays
``readers`` concurrent readers on front, article, story and search pages
while two ingest workers (fetch and extract queues) store the rest and a
third worker (the enrich queue, as docs/deployment.md recommends) enriches.
The anchor, measured in the same run, is the same wrk load on the same pages
before ingest starts.

Pass criteria (the issue's): zero 5xx and zero "database is locked" in any
log; the p99 page latency is reported for SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from newsdesk.config import Settings
from newsdesk.enrich.enricher import Enricher
from newsdesk.eval import stack as st
from newsdesk.eval import wrk
from newsdesk.eval.feedfarm import FarmSpec, FeedFarm
from newsdesk.eval.refresh import default_corpus
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, StoryRow

SEARCH_WORDS = ["government", "minister", "market", "police", "people", "election", "court",
                "football", "music", "company"]


def run(settings: Settings, *, backend: str, broker_url: str, pg_admin_url: str,
        feeds: int = 500, items: int = 20, seed_feeds: int = 25, readers: int = 64,
        workers: int = 2, baseline_seconds: int = 20, cap_seconds: float = 3600,
        until_enriched: bool = True, keep_logs: Path | None = None) -> dict[str, Any]:
    """The whole load test in a temporary folder; returns the result object."""
    with tempfile.TemporaryDirectory(prefix="newsdesk-load-") as tmp:
        folder = Path(tmp)
        with st.fresh_database(backend, folder, pg_admin_url) as url:
            local = settings.with_(data_dir=folder / "data", database_url=url,
                                   allow_private_networks=True, broker_url=broker_url)
            spec = FarmSpec(feeds=seed_feeds + feeds, items=items,
                            corpus=default_corpus(settings))
            with FeedFarm(spec) as farm:
                paths = _seed(local, farm.feed_urls[:seed_feeds])
                stack = st.Stack.for_run(folder, url, broker_url)
                try:
                    result = _measure(local, stack, farm.feed_urls[seed_feeds:], paths,
                                      readers=readers, workers=workers,
                                      baseline_seconds=baseline_seconds, cap=cap_seconds,
                                      until_enriched=until_enriched)
                finally:
                    stack.stop()
                    if keep_logs:
                        stack.keep_logs(keep_logs)
                result["database_locked"] = stack.grep_logs("database is locked")
                result["tracebacks"] = stack.grep_logs("Traceback")
    result.update(backend=backend, broker=broker_url.split(":", 1)[0], readers=readers,
                  workers=workers, feeds=feeds, items_per_feed=items,
                  farm_items=(seed_feeds + feeds) * items, seeded_items=seed_feeds * items,
                  load_average=_loadavg())
    result["passed"] = (result["during_ingest"]["server_errors"] == 0
                        and result["baseline"]["server_errors"] == 0
                        and result["database_locked"] == 0 and result["caught_up"])
    return result


def _seed(settings: Settings, urls: list[str]) -> list[str]:
    """Ingest and enrich the first feeds in-process; returns the page paths to read."""
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        with db.write() as session:
            for url in urls:
                source_store.add_source(session, url, kind="feed")
        asyncio.run(Pipeline(settings, db).run_due())
        Enricher(settings, db).run_pending()
        return _paths(db)
    finally:
        db.dispose()


def _paths(db: Database) -> list[str]:
    """A fixed mix: front and search pages, and the stored articles and stories."""
    with db.read() as session:
        articles = list(session.scalars(select(ArticleRow.id).limit(200)))
        stories = list(session.scalars(select(StoryRow.id).limit(100)))
    paths = ["/"] * 20 + [f"/search?q={w}" for w in SEARCH_WORDS] * 2
    paths += [f"/articles/{i}" for i in articles] + [f"/stories/{i}" for i in stories]
    random.Random(7).shuffle(paths)
    return paths


def _measure(settings: Settings, stack: st.Stack, urls: list[str], paths: list[str], *,
             readers: int, workers: int, baseline_seconds: int, cap: float,
             until_enriched: bool) -> dict[str, Any]:
    port = _free_port()
    stack.start("web", "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    st.wait_http(base + "/healthz")
    baseline = wrk.start(base, paths, stack.folder, connections=readers,
                         seconds=baseline_seconds)
    baseline.proc.wait(baseline_seconds + 60)
    result: dict[str, Any] = {"baseline": baseline.finish()}
    db = Database(settings.resolved_database_url)
    try:
        with db.write() as session:
            for url in urls:
                source_store.add_source(session, url, kind="feed")
        st.purge_broker(settings.broker_url)
        for n in range(workers):  # the ingest workers; enrichment has one of its own
            stack.start(f"worker-{n + 1}", "worker", "--queues", "fetch,extract",
                        "--concurrency", "1")
        stack.start("enricher", "worker", "--queues", "enrich", "--concurrency", "1")
        started = time.monotonic()
        load = wrk.start(base, paths, stack.folder, connections=readers)
        stack.start("scheduler", "scheduler")
        result |= st.wait_caught_up(db, settings.broker_url, started, cap,
                                    enrichment=until_enriched).as_dict()
        result["during_ingest"] = load.finish()
    finally:
        db.dispose()
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
