"""Per-host concurrency limits: in-process, or shared by every worker through Redis.

The fetcher promises a site at most ``per_host_concurrency`` requests at once.
One process keeps that promise with asyncio semaphores; many Celery workers on
many machines only keep it if they count together, so :class:`RedisHostLimiter`
holds each slot as a lease in a Redis sorted set (member: a random token, score:
its expiry). An atomic Lua script drops expired leases and grants a new one only
below the limit, so two workers can never both take the last slot, and a worker
killed mid-request frees its slot when the lease expires instead of never.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Protocol

import redis.asyncio as aioredis


class HostLimiter(Protocol):
    """What the fetcher needs: hold one of a host's slots for the length of a request."""

    def slot(self, host: str) -> AbstractAsyncContextManager[None]:
        """Wait for a free slot of ``host`` and hold it inside the ``async with``."""
        ...


class LocalHostLimiter:
    """One asyncio semaphore per host: the limit within one process (the default)."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._semaphores.get(host)
        if semaphore is None:
            semaphore = self._semaphores[host] = asyncio.Semaphore(self.per_host)
        async with semaphore:
            yield


# KEYS[1]: the host's sorted set; ARGV: limit, lease milliseconds, token.
# Redis' own clock scores the leases, so workers with skewed clocks agree.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
"""


class RedisHostLimiter:
    """Per-host slots shared by every process that points at the same Redis.

    ``lease_seconds`` must outlast one request (the fetcher bounds a hop by
    ``total_timeout``): it is how long a dead holder keeps its slot. Waiters poll
    with a short jittered sleep; hosts are few and requests long, so polling
    costs little and needs no extra wake-up channel. Use as an async context
    manager (it owns one Redis connection pool, bound to the running loop).
    """

    def __init__(self, url: str, per_host: int, *, lease_seconds: float,
                 prefix: str = "newsdesk:host:", poll_seconds: float = 0.05) -> None:
        self.per_host = max(1, per_host)
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.prefix = prefix
        self.poll_seconds = poll_seconds
        self._redis = aioredis.from_url(url)
        self._acquire = self._redis.register_script(_ACQUIRE)

    async def __aenter__(self) -> RedisHostLimiter:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def try_acquire(self, host: str) -> str | None:
        """Take a slot of ``host`` now if one is free; returns its token, else ``None``."""
        token = uuid.uuid4().hex
        granted = await self._acquire(keys=[self.prefix + host],
                                      args=[self.per_host, self.lease_ms, token])
        return token if int(granted) == 1 else None

    async def release(self, host: str, token: str) -> None:
        await self._redis.zrem(self.prefix + host, token)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        delay = self.poll_seconds
        while (token := await self.try_acquire(host)) is None:
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 1.5, 0.5)
        try:
            yield
        finally:
            # Shielded: a cancelled request must still hand its slot back now,
            # not when the lease runs out.
            await asyncio.shield(self.release(host, token))
