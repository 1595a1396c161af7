"""One enricher at a time across all workers: a non-blocking, crash-safe lock.

Enrichment assigns stories and marks copies against in-memory indexes; two
processes doing it at once would each miss the other's articles. So
``enrich_pending`` takes this lock and returns at once when someone else holds
it (the holder keeps going until nothing is pending). Each backend frees the
lock when its holder dies, so a killed worker never blocks enrichment for good:

* Redis (whenever one is configured): ``SET NX`` with an expiry (redis-py's
  ``Lock``), lasting a little longer than the task's hard time limit;
* PostgreSQL: a session advisory lock, keyed by the current schema, held on a
  connection of its own and released by the server if that connection drops;
* SQLite (one machine by nature): ``flock`` on a file next to the database,
  released by the kernel when the process exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.exceptions import LockError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from newsdesk.store.db import Database

log = logging.getLogger(__name__)

LOCK_NAME = "newsdesk:lock:enrich"
_PG_KEY = "hashtext(:name || ':' || current_schema())"


@contextmanager
def exclusive(db: Database, client: redis.Redis | None, *, lease_seconds: float,
              name: str = LOCK_NAME) -> Iterator[bool]:
    """Hold the lock inside the block if it was free; yields whether we got it."""
    if client is not None:
        lock_cm = _redis_lock(client, name, lease_seconds)
    elif db.is_sqlite:
        lock_cm = _file_lock(db, name)
    else:
        lock_cm = _advisory_lock(db, name)
    with lock_cm as held:
        yield held


@contextmanager
def _redis_lock(client: redis.Redis, name: str, lease_seconds: float) -> Iterator[bool]:
    lock = client.lock(name, timeout=lease_seconds, blocking=False)
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        try:
            lock.release()
        except LockError:  # the lease ran out first: someone may have started meanwhile
            log.warning("the %s lock expired before its holder released it", name)


@contextmanager
def _advisory_lock(db: Database, name: str) -> Iterator[bool]:
    # AUTOCOMMIT: a session-level advisory lock needs no open transaction, and an
    # idle-in-transaction connection could be cut by the server's timeout.
    # The key includes the schema: newsdesk instances sharing one database in
    # different schemas must not block each other.
    params = {"name": name}
    with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_PG_KEY})"), params)
                    .scalar())
        try:
            yield held
        finally:
            if held:
                conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"), params)


_LOCAL = threading.Lock()  # flock is per open file: threads of one process need this too


@contextmanager
def _file_lock(db: Database, name: str) -> Iterator[bool]:
    database = make_url(db.url).database
    if not database or database == ":memory:":
        got = _LOCAL.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                _LOCAL.release()
        return
    path = Path(f"{database}.{name.replace(':', '-')}.lock")
    if not _LOCAL.acquire(blocking=False):
        yield False
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            yield _try_flock(fd)
        finally:
            os.close(fd)  # closing drops the flock
    finally:
        _LOCAL.release()


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
