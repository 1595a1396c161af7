"""``newsdesk eval crash``: kill -9 workers during an ingest, then prove nothing was lost.

Issue #6's crash test. A loopback farm serves ``feeds`` x ``items`` articles
(pages fetched and extracted, ``crawl_pages=always``, so tasks are long enough
to be caught mid-way). Two real workers ingest them while this process
kills one ``kills`` times at random moments with SIGKILL: either the pool
process running a task (the task must be redelivered: acks-late and
reject-on-worker-lost) or the whole worker node, which is then restarted
(the broker must give its unacknowledged messages to the others; on Redis
after the visibility timeout). Afterwards every farm article must be stored
exactly once, enrichment must have caught up, and ``newsdesk check`` must find
the installation consistent.

The anchor, in the same output, is the same ingest with no kills: the time
the kills cost.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from newsdesk.config import Settings
from newsdesk.eval import stack as st
from newsdesk.eval.feedfarm import FarmSpec, FeedFarm
from newsdesk.eval.refresh import default_corpus
from newsdesk.store import sources as source_store
from newsdesk.store.check import check_installation
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow


def run(settings: Settings, *, backend: str, broker_url: str, pg_admin_url: str,
        feeds: int = 250, items: int = 20, kills: int = 10, workers: int = 2,
        seed: int = 1, cap_seconds: float = 3600, keep_logs: Path | None = None,
        anchor: bool = True, corpus: str | None = None) -> dict[str, Any]:
    """The crash run, and (``anchor``) the same ingest without kills, side by side.

    ``corpus=""`` serves generated texts, each unique: then every served URL
    must be stored exactly once, with no undisturbed run needed to compare.
    """
    stored: dict[str, set[str]] = {}
    text = default_corpus(settings) if corpus is None else corpus
    spec = FarmSpec(feeds=feeds, items=items, corpus=text)
    result: dict[str, Any] = {"backend": backend, "broker": broker_url.split(":", 1)[0],
                              "articles_expected": feeds * items, "workers": workers}
    runs = {"with_kills": kills, "without_kills": 0} if anchor else {"with_kills": kills}
    with FeedFarm(spec) as farm:
        served = _expected_urls(farm.feed_urls, items)
        for name, n in runs.items():
            outcome, stored[name] = _one_run(
                settings, farm.feed_urls, served, backend=backend, broker_url=broker_url,
                pg_admin_url=pg_admin_url, kills=n, workers=workers, seed=seed,
                cap=cap_seconds, keep_logs=keep_logs if n else None)
            result[name] = outcome
    crashed = result["with_kills"]
    if not text:  # unique texts: the exact expectation is every URL the farm served
        crashed["exactly_once"] &= crashed["not_stored"] == 0
    if anchor:
        # The farm may serve two items with one text, which newsdesk stores once: so the
        # exact expectation is the set of (outlet, text) the undisturbed run stored.
        crashed["same_articles_as_without_kills"] = stored["with_kills"] == stored["without_kills"]
        crashed["exactly_once"] &= crashed["same_articles_as_without_kills"]
    result["passed"] = bool(crashed["exactly_once"] and crashed["check_ok"]
                            and crashed["caught_up"])
    return result


def _expected_urls(feed_urls: list[str], items: int) -> set[str]:
    """Every article the farm serves (its item pages, see feedfarm.build_site)."""
    urls = set()
    for index, feed in enumerate(feed_urls):
        base = feed.removesuffix("/feed.xml")
        urls |= {f"{base}/news/{index}-{j}.html" for j in range(items)}
    return urls


def _one_run(settings: Settings, feed_urls: list[str], expected: set[str], *, backend: str,
             broker_url: str, pg_admin_url: str, kills: int, workers: int, seed: int,
             cap: float, keep_logs: Path | None = None) -> tuple[dict[str, Any], set[str]]:
    """One ingest of the whole farm into a fresh database; the outcome and the stored URLs."""
    with tempfile.TemporaryDirectory(prefix="newsdesk-crash-") as tmp:
        folder = Path(tmp)
        with st.fresh_database(backend, folder, pg_admin_url) as url:
            local = settings.with_(data_dir=folder / "data", database_url=url)
            db = Database(url)
            try:
                db.migrate()
                with db.write() as session:
                    for feed in feed_urls:
                        source_store.add_source(session, feed, kind="feed")
                st.purge_broker(broker_url)
                stack = st.Stack.for_run(folder, url, broker_url, crawl_pages="always",
                                         task_time_limit="60")
                try:
                    outcome = _ingest_with_kills(stack, db, broker_url, kills, workers,
                                                 random.Random(seed), cap)
                finally:
                    stack.stop()
                    if keep_logs:
                        stack.keep_logs(keep_logs)
                verdict, urls = _verify(local, db, expected)
                outcome |= verdict
                outcome["tracebacks_in_logs"] = stack.grep_logs("Traceback")
                return outcome, urls
            finally:
                db.dispose()


def _ingest_with_kills(stack: st.Stack, db: Database, broker_url: str, kills: int,
                       workers: int, rng: random.Random, cap: float) -> dict[str, Any]:
    names = [f"worker-{n + 1}" for n in range(workers)]
    for name in names:
        stack.start(name, "worker", "--concurrency", "1")
    started = time.monotonic()
    stack.start("scheduler", "scheduler")
    log: list[dict[str, Any]] = []
    if kills:
        _until_first_article(db, started, cap)  # kill during the ingest, not during start-up
    for _ in range(kills):
        time.sleep(rng.uniform(3.0, 12.0))
        log.append(_kill_one(stack, rng.choice(names), rng.choice(["task", "node"]), db, rng))
    return {"kills": log} | st.wait_caught_up(db, broker_url, started, cap).as_dict()


def _until_first_article(db: Database, started: float, cap: float) -> None:
    while st.progress(db)[0] == 0 and time.monotonic() - started < cap:
        time.sleep(0.5)


def _kill_one(stack: st.Stack, name: str, mode: str, db: Database,
              rng: random.Random) -> dict[str, Any]:
    """SIGKILL a pool process running tasks ("task") or the whole node, then restart it."""
    stored, pending = st.progress(db)
    entry: dict[str, Any] = {"at_stored": stored, "at_pending": pending, "worker": name,
                             "mode": mode}
    children = stack.children(name)
    if mode == "task" and children:
        with suppress(ProcessLookupError):
            os.kill(rng.choice(children), signal.SIGKILL)
        entry["pid"] = "pool child"
        return entry
    stack.kill_group(name)
    stack.start(name, "worker", "--concurrency", "1")
    entry["mode"] = "node"
    return entry


def _verify(settings: Settings, db: Database,
            served: set[str]) -> tuple[dict[str, Any], set[str]]:
    """No URL stored twice, none from outside the farm; and ``newsdesk check``."""
    with db.read() as session:
        rows = list(session.execute(select(ArticleRow.url, func.count())
                                    .group_by(ArticleRow.url)))
        # Which of two same-text items is stored depends on timing; the texts do not.
        texts = {f"{o}\t{h}" for o, h in session.execute(
            select(ArticleRow.outlet, ArticleRow.content_hash))}
    counts = {url: n for url, n in rows}
    repeated = {u for u, n in counts.items() if n > 1}
    unexpected = counts.keys() - served
    report = check_installation(settings, db)
    return {"served": len(served), "not_stored": len(served - counts.keys()),
            "repeated": len(repeated), "unexpected": len(unexpected),
            "exactly_once": not (repeated or unexpected), "check_ok": report.ok,
            "check_problems": [p.name for p in report.problems]}, texts
