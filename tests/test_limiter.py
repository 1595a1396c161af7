"""The per-host limiter shared through Redis: leases, expiry, and two processes against one host.

Real Redis on loopback, real HTTP from the fixture server; skipped when Redis is
not running.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from newsdesk.config import Settings
from newsdesk.ingest.fetch import Fetcher
from newsdesk.ingest.limiter import LocalHostLimiter, RedisHostLimiter
from tests.fixtureserver import FixtureServer, Request, Response

REDIS_URL = "redis://127.0.0.1:6379/9"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, so parallel runs never share slots."""
    name = f"test:{uuid.uuid4().hex[:8]}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


class Gauge:
    """Counts requests in flight at the fixture server, by client, and the peak."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now = 0
        self.peak = 0
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def __call__(self, req: Request) -> Response:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        start = time.monotonic()
        time.sleep(self.seconds)
        with self._lock:
            self.now -= 1
            self.spans.setdefault(req.path.split("/")[1], []).append((start, time.monotonic()))
        return Response(body="ok", content_type="text/plain")


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def test_local_limiter_holds_a_host_to_its_limit() -> None:
    limiter = LocalHostLimiter(2)
    inside = peak = 0

    async def one() -> None:
        nonlocal inside, peak
        async with limiter.slot("example.org"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(8)))

    asyncio.run(run())
    assert peak == 2


def test_redis_leases_are_capped_and_expire(redis_url: str, prefix: str) -> None:
    async def run() -> None:
        async with RedisHostLimiter(redis_url, 2, lease_seconds=0.3, prefix=prefix) as limiter:
            first = await limiter.try_acquire("a.example")
            assert first and await limiter.try_acquire("a.example")
            assert await limiter.try_acquire("a.example") is None  # full
            assert await limiter.try_acquire("b.example")  # other hosts are not affected
            await limiter.release("a.example", first)
            assert await limiter.try_acquire("a.example")  # a released slot is free at once
            await asyncio.sleep(0.4)  # holders "killed": their leases run out
            assert await limiter.try_acquire("a.example")
            assert await limiter.try_acquire("a.example")

    asyncio.run(run())


def test_fetcher_uses_the_shared_limiter(redis_url: str, prefix: str,
                                         server: FixtureServer) -> None:
    gauge = Gauge(0.15)
    for i in range(6):
        server.add(f"/one/{i}", gauge)
    settings = Settings(allow_private_networks=True, per_host_concurrency=2, sample="")

    async def run() -> None:
        async with (RedisHostLimiter(redis_url, 2, lease_seconds=10, prefix=prefix) as limiter,
                    Fetcher(settings, host_limiter=limiter) as fetcher):
            await asyncio.gather(*(fetcher.get(server.url(f"/one/{i}")) for i in range(6)))

    asyncio.run(run())
    assert gauge.peak == 2


# One fetching process: waits for a common start time, then GETs 6 URLs at once.
_CHILD = """
import asyncio, sys, time
from newsdesk.config import Settings
from newsdesk.ingest.fetch import Fetcher
from newsdesk.ingest.limiter import RedisHostLimiter

redis_url, prefix, base, name, start_at = sys.argv[1:6]
settings = Settings(allow_private_networks=True, per_host_concurrency=2, sample="")

async def main():
    async with (RedisHostLimiter(redis_url, 2, lease_seconds=10, prefix=prefix) as limiter,
                Fetcher(settings, host_limiter=limiter) as fetcher):
        await asyncio.gather(*(fetcher.get(f"{base}/{name}/{i}") for i in range(6)))

time.sleep(max(0.0, float(start_at) - time.time()))
asyncio.run(main())
"""


def test_two_processes_never_exceed_the_per_host_limit(redis_url: str, prefix: str,
                                                       server: FixtureServer) -> None:
    gauge = Gauge(0.2)
    for name in ("p1", "p2"):
        for i in range(6):
            server.add(f"/{name}/{i}", gauge)
    start_at = time.time() + 4  # both have imported by then, so their requests overlap
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, redis_url, prefix, server.base,
                               name, str(start_at)], cwd=ROOT)
             for name in ("p1", "p2")]
    assert [p.wait(timeout=40) for p in procs] == [0, 0]
    assert len(gauge.spans["p1"]) == len(gauge.spans["p2"]) == 6
    # Each process alone would allow 2: the two together stayed at 2, while both were active.
    assert gauge.peak == 2
    assert _overlap(gauge.spans["p1"], gauge.spans["p2"])
