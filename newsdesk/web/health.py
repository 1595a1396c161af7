"""Readiness and metrics endpoints: ``/readyz`` and ``/metrics``.

``/healthz`` (in app.py) says the process answers; ``/readyz`` says it can do
its job: the database answers with its schema at the Alembic head, and the
broker and Redis answer when configured. A load balancer or orchestrator
should route traffic on readiness and restart on liveness. Every check runs
in a thread under a short deadline, so a hung dependency fails the probe
instead of hanging it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from importlib import resources

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, Connection, Select, func, inspect, or_, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from newsdesk.config import Settings
from newsdesk.obs import metrics
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, Base, SourceRow, utcnow

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
"""Seconds one readiness check may take; probes usually time out after a few."""

Check = Callable[[], str]


class NotReady(Exception):
    """A dependency answered, but not the way a ready node needs."""


# ------------------------------------------------------------------------- readiness


@functools.cache
def schema_heads() -> frozenset[str]:
    """The Alembic head revisions this code expects (they never change at run time)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("newsdesk.store") / "migrations"))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def _current_heads(conn: Connection) -> frozenset[str]:
    """The revisions recorded in ``alembic_version``, read directly: Alembic's
    MigrationContext would log two INFO lines on every probe."""
    if not inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def check_database(db: Database) -> str:
    """The database answers a query and its schema is at the Alembic head."""
    with db.read() as session:
        conn = session.connection()
        conn.execute(text("SELECT 1"))
        current = _current_heads(conn)
    expected = schema_heads()
    if current != expected:
        have = ", ".join(sorted(current)) or "none"
        raise NotReady(f"schema at {have}, code expects {', '.join(sorted(expected))}; "
                       "run `newsdesk migrate`")
    return "ok"


def check_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT,
                                  socket_connect_timeout=CHECK_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_broker(url: str) -> str:
    """A Redis broker answers PING; anything else a kombu connection (AMQP: one attempt)."""
    if url.startswith(("redis://", "rediss://")):
        return check_redis(url)
    from kombu import Connection

    with Connection(url, connect_timeout=CHECK_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT)
    return "ok"


def readiness_checks(settings: Settings, db: Database) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": functools.partial(check_database, db)}
    if settings.broker_url:
        checks["broker"] = functools.partial(check_broker, settings.broker_url)
    if settings.resolved_redis_url:
        checks["redis"] = functools.partial(check_redis, settings.resolved_redis_url)
    return checks


_CREDENTIALS = re.compile(r"(://)[^/@\s]*@")


def _failure_text(exc: BaseException) -> str:
    """One line for the probe body: the kind of failure, no stack, no credentials."""
    message = _CREDENTIALS.sub(r"\1***@", str(exc).splitlines()[0] if str(exc) else "")
    return f"{type(exc).__name__}: {message}"[:300]


async def _run_check(name: str, check: Check, timeout: float) -> tuple[str, bool, str]:
    try:
        return name, True, await asyncio.wait_for(asyncio.to_thread(check), timeout)
    except TimeoutError:
        log.warning("readiness check %s timed out after %gs", name, timeout)
        return name, False, f"timed out after {timeout:g}s"
    except Exception as exc:
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return name, False, _failure_text(exc)


async def readiness(checks: dict[str, Check], timeout: float = CHECK_TIMEOUT
                    ) -> tuple[bool, dict[str, str]]:
    """Run every check concurrently; ready only when all pass."""
    results = await asyncio.gather(*(_run_check(n, c, timeout) for n, c in checks.items()))
    return all(ok for _, ok, _ in results), {name: detail for name, _, detail in results}


async def readyz(request: Request) -> JSONResponse:
    """200 {"status": "ready", "checks": {...}} or 503 naming the failing check."""
    checks = readiness_checks(request.app.state.settings, request.app.state.db)
    ready, details = await readiness(checks)
    body = {"status": "ready" if ready else "not ready", "checks": details}
    return JSONResponse(body, status_code=200 if ready else 503,
                        headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- metrics


FIVE_MINUTES = timedelta(minutes=5)


def _count(table: type[Base], *where: ColumnElement[bool]) -> Select[int]:
    return select(func.count()).select_from(table).where(*where)


def database_stats(db: Database, error_limit: int) -> metrics.DatabaseStats:
    """Throughput and backlog counts for the scrape-time gauges.

    "Due" matches the scheduler: unpaused, next check reached (or never set),
    and not given up on after ``error_limit`` failures in a row (0: never).
    """
    now = utcnow()
    due = [SourceRow.paused.is_(False),
           or_(SourceRow.next_check_at.is_(None), SourceRow.next_check_at <= now)]
    if error_limit > 0:
        due.append(SourceRow.error_count < error_limit)
    with db.read() as session:
        recent = session.scalar(_count(ArticleRow, ArticleRow.ingested_at >= now - FIVE_MINUTES))
        backlog = session.scalar(_count(ArticleRow, ArticleRow.enriched_at.is_(None)))
        total = session.scalar(_count(SourceRow))
        due_n = session.scalar(_count(SourceRow, *due))
        failing = session.scalar(_count(SourceRow, SourceRow.error_count > 0))
    return metrics.DatabaseStats(articles_last_5m=recent or 0, enrichment_backlog=backlog or 0,
                                 sources=total or 0, sources_due=due_n or 0,
                                 sources_failing=failing or 0)


def state_collector(settings: Settings, db: Database) -> metrics.StateCollector:
    """The scrape-time probes: the database always, queue depths when there is a broker."""
    probes: dict[str, metrics.Probe] = {
        "database": lambda: metrics.database_families(
            database_stats(db, settings.source_error_limit)),
    }
    if settings.broker_url:
        probes["queues"] = lambda: metrics.queue_families(
            metrics.queue_depths(settings.broker_url))
    return metrics.StateCollector(probes)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition; probes touch the DB and broker, so off the event loop."""
    settings: Settings = request.app.state.settings
    collector = request.app.state.state_collector
    body, content_type = await asyncio.to_thread(metrics.render, settings, [collector])
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
