"""What one worker process keeps between tasks: database, pipeline, enricher, fetcher.

Built once per process (see ``NewsdeskCelery.runtime``), never per task: the
enricher's model and indexes take seconds to load, engines hold pools, and the
fetcher holds keep-alive connections and each site's robots.txt. A fetcher per
task would ask every site for robots.txt once per article, doubling the
requests we make of it; so the process keeps one event loop and one fetcher,
renewed every ``FETCHER_MAX_AGE`` seconds so that robots.txt changes are seen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TypeVar

import redis

from newsdesk.config import Settings
from newsdesk.enrich.enricher import Enricher
from newsdesk.ingest.fetch import Fetcher
from newsdesk.ingest.limiter import RedisHostLimiter
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.store.db import Database

# A request holds its per-host lease at most ``total_timeout``; this margin covers
# the gap between the deadline firing and the release reaching Redis.
LEASE_MARGIN_SECONDS = 5.0
# How long one fetcher (its connections and robots.txt cache) serves a process.
FETCHER_MAX_AGE = 600.0

T = TypeVar("T")


class Debouncer:
    """Says yes at most once per ``seconds`` (per process): coalesces many triggers into one.

    Thread-safe, because a threaded pool runs tasks side by side.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def ready(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.seconds
            return True


class Runtime:
    """One process's long-lived state for running newsdesk tasks."""

    def __init__(self, settings: Settings, *, enrich_debounce: float = 2.0) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.pipeline = Pipeline(settings, self.db)
        self.enricher = Enricher(settings, self.db)
        url = settings.resolved_redis_url
        self.redis: redis.Redis | None = redis.Redis.from_url(url) if url else None
        self.enrich_debounce = Debouncer(enrich_debounce)
        # One loop per process: the fetcher's connections belong to it. The lock
        # serialises tasks should a threaded pool ever run two at once.
        self._loop = asyncio.new_event_loop()
        self._loop_lock = threading.Lock()
        self._fetcher: Fetcher | None = None
        self._fetcher_born = 0.0
        self._limiter: RedisHostLimiter | None = None

    def fetch(self, work: Callable[[Fetcher], Awaitable[T]]) -> T:
        """Run ``work`` with this process's fetcher on this process's event loop.

        If the task is interrupted (its soft time limit), the coroutine is
        cancelled and unwound before the exception goes on, so it releases its
        per-host slot and leaves nothing half-run on the loop for the next task.
        """
        with self._loop_lock:
            task = self._loop.create_task(self._with_fetcher(work))
            try:
                return self._loop.run_until_complete(task)
            except BaseException:
                task.cancel()
                with suppress(BaseException):
                    self._loop.run_until_complete(task)
                raise

    async def _with_fetcher(self, work: Callable[[Fetcher], Awaitable[T]]) -> T:
        if self._fetcher is None or time.monotonic() - self._fetcher_born > FETCHER_MAX_AGE:
            await self._close_fetcher()
            self._fetcher = Fetcher(self.settings, host_limiter=self._host_limiter())
            self._fetcher_born = time.monotonic()
        return await work(self._fetcher)

    def _host_limiter(self) -> RedisHostLimiter | None:
        """Per-host slots shared by every worker through Redis, when there is one."""
        url = self.settings.resolved_redis_url
        if not url:
            return None  # the fetcher's own in-process limit
        self._limiter = RedisHostLimiter(
            url, self.settings.per_host_concurrency,
            lease_seconds=self.settings.total_timeout + LEASE_MARGIN_SECONDS)
        return self._limiter

    async def _close_fetcher(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._limiter is not None:
            await self._limiter.aclose()
            self._limiter = None

    def close(self) -> None:
        """Release connections (the HNSW file is saved by each enrich run already)."""
        with self._loop_lock:
            self._loop.run_until_complete(self._close_fetcher())
            self._loop.close()
        if self.redis is not None:
            self.redis.close()
        self.db.dispose()
