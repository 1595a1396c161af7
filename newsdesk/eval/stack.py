"""A whole newsdesk deployment on loopback, for the load and crash benchmarks.

Web server, Celery workers and scheduler run as the real commands
(``newsdesk serve``/``worker``/``scheduler``) in child processes against one
database and one broker, exactly as the systemd units in ``deploy/`` start
them; the benchmark process only watches the database and sends signals.
Their logs go to files in the run's folder, which the benchmarks grep for
errors ("database is locked", tracebacks) afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, SourceRow

NEWSDESK = [sys.executable, "-m", "newsdesk.cli"]
# A worker in warm shutdown finishes its task (an enrich batch may take minutes); a
# benchmark does not wait that long: acks-late hands the task to the next run anyway.
STOP_GRACE_SECONDS = 10.0


@contextmanager
def fresh_database(backend: str, folder: Path, pg_admin_url: str) -> Iterator[str]:
    """A new, empty database: a SQLite file in ``folder`` or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'newsdesk.db'}"
        return
    name = f"newsdesk_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield str(make_url(pg_admin_url).set(database=name))
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def purge_broker(broker_url: str) -> None:
    """Empty newsdesk's queues, so a run never inherits an earlier run's messages."""
    from kombu import Connection

    from newsdesk.jobs.app import QUEUES

    with Connection(broker_url, connect_timeout=5) as conn:
        channel = conn.channel()
        for queue in QUEUES:
            with suppress(Exception):  # a queue that does not exist yet has nothing to purge
                channel.queue_purge(queue)
        if broker_url.startswith("redis"):
            client = channel.client
            for key in client.scan_iter("unacked*"):
                client.delete(key)


@dataclass
class Stack:
    """Child processes of one deployment; ``stop()`` ends them all."""

    folder: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def for_run(cls, folder: Path, database_url: str, broker_url: str,
                **extra: str) -> Stack:
        env = dict(os.environ)
        env.update({
            "NEWSDESK_DATA_DIR": str(folder / "data"),
            "NEWSDESK_DATABASE_URL": database_url,
            "NEWSDESK_BROKER_URL": broker_url,
            "NEWSDESK_ALLOW_PRIVATE_NETWORKS": "1",
            "NEWSDESK_LOG_FORMAT": "json",
            "NEWSDESK_SCHEDULER_INTERVAL": "2",
            "NEWSDESK_SCHEDULER_BATCH_SIZE": "1000",
            "NEWSDESK_SCHEDULER_PER_HOST": "1000",
        })
        env.update({f"NEWSDESK_{k.upper()}": v for k, v in extra.items()})
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        return cls(folder, env)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``newsdesk ARGS`` as process ``name``, its output in ``logs/NAME.log``."""
        log = (self.folder / "logs" / f"{name}.log").open("ab")
        proc = subprocess.Popen([*NEWSDESK, *args], env=self.env, stdout=log,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def children(self, name: str) -> list[int]:
        """PIDs of the direct children of process ``name`` (a worker's pool processes)."""
        parent = self.procs[name].pid
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == parent:
                    found.append(int(stat.parent.name))
        return found

    def kill_group(self, name: str) -> None:
        """kill -9 the process and everything it started (a crashed machine)."""
        proc = self.procs[name]
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        for proc in self.procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def grep_logs(self, pattern: str) -> int:
        """Lines of all logs matching ``pattern`` (case-insensitive)."""
        regex = re.compile(pattern, re.IGNORECASE)
        total = 0
        for log in (self.folder / "logs").glob("*.log"):
            with log.open("rb") as fh:
                total += sum(1 for line in fh if regex.search(line.decode("utf-8", "replace")))
        return total

    def keep_logs(self, dest: Path) -> None:
        shutil.copytree(self.folder / "logs", dest, dirs_exist_ok=True)


def wait_http(url: str, timeout: float = 120) -> None:
    """Until ``url`` answers 200 (a server that has started and migrated)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class CatchUp:
    """How an ingest ended: stored, pending enrichment, and when each part finished."""

    caught_up: bool
    stored: int
    pending: int
    ingest_seconds: float | None
    enrich_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return {"caught_up": self.caught_up, "articles_stored": self.stored,
                "pending_enrichment": self.pending, "ingest_seconds": self.ingest_seconds,
                "enrich_caught_up_seconds": self.enrich_seconds}


def wait_caught_up(db: Database, broker_url: str, started: float, cap: float,
                   poll: float = 2.0, *, enrichment: bool = True) -> CatchUp:
    """Until every source was checked, the queues are empty and nothing is pending.

    Counting articles would not do: the farm may serve two items with the same
    text, which newsdesk rightly stores once. So ingest is done when every
    source has been checked and the fetch and extract queues stay empty with
    the article count unchanged over one poll; enrichment when nothing is
    pending on top of that.
    """
    from newsdesk.obs.metrics import queue_depths

    ingest_done: float | None = None
    last = (-1, -1)
    while time.monotonic() - started < cap:
        stored, pending = progress(db)
        depths = queue_depths(broker_url, timeout=5.0)
        idle = _all_checked(db) and depths.get("fetch", 0) + depths.get("extract", 0) == 0
        if idle and ingest_done is None and last[0] == stored:
            ingest_done = time.monotonic() - started
            if not enrichment:
                return CatchUp(True, stored, pending, round(ingest_done, 1), None)
        if ingest_done is not None and pending == 0 and sum(depths.values()) == 0 \
                and last == (stored, pending):
            return CatchUp(True, stored, 0, round(ingest_done, 1),
                           round(time.monotonic() - started, 1))
        last = (stored, pending)
        time.sleep(poll)
    stored, pending = progress(db)
    return CatchUp(False, stored, pending, ingest_done, None)


def _all_checked(db: Database) -> bool:
    with db.read() as session:
        unchecked = session.scalar(select(func.count()).select_from(SourceRow)
                                   .where(SourceRow.last_checked_at.is_(None))) or 0
    return int(unchecked) == 0


def progress(db: Database) -> tuple[int, int]:
    """(articles stored, articles not enriched yet)."""
    with db.read() as session:
        stored = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
        pending = session.scalar(select(func.count()).select_from(ArticleRow)
                                 .where(ArticleRow.enriched_at.is_(None))) or 0
    return int(stored), int(pending)
