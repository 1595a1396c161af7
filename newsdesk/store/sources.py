"""Source repository: subscriptions, their HTTP validators and their schedule.

Scheduling follows Miniflux: each source carries its own ``next_check_at``;
success schedules the next check from the feed's TTL (bounded), failure backs
off exponentially up to a cap and records the error for the UI and CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from newsdesk.store.tables import SourceRow, utcnow


@dataclass(frozen=True)
class Schedule:
    """Bounds for the next check, from Settings (passed in, never global)."""

    min_minutes: int = 5
    max_minutes: int = 24 * 60
    default_minutes: int = 60
    max_backoff_minutes: int = 24 * 60


def add_source(
    session: Session, url: str, *, kind: str = "feed", title: str = "", site_url: str = "",
    category: str = "",
) -> tuple[SourceRow, bool]:
    """Subscribe to ``url``; returns the source and whether it is new."""
    existing = session.scalars(select(SourceRow).where(SourceRow.url == url)).first()
    if existing is not None:
        return existing, False
    row = SourceRow(url=url, kind=kind, title=title, site_url=site_url, category=category,
                    next_check_at=None, created_at=utcnow())
    session.add(row)
    session.flush()
    return row, True


def list_sources(session: Session) -> list[SourceRow]:
    return list(session.scalars(select(SourceRow).order_by(SourceRow.category, SourceRow.title)))


def get_source(session: Session, source_id: int) -> SourceRow | None:
    return session.get(SourceRow, source_id)


def due_sources(
    session: Session, now: datetime | None = None, limit: int = 1000
) -> list[SourceRow]:
    """Unpaused sources whose next check time has come (or was never set)."""
    now = now or utcnow()
    stmt = (
        select(SourceRow)
        .where(SourceRow.paused.is_(False))
        .where(or_(SourceRow.next_check_at.is_(None), SourceRow.next_check_at <= now))
        .order_by(SourceRow.next_check_at.is_not(None), SourceRow.next_check_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def record_success(
    session: Session, source: SourceRow, schedule: Schedule, *, etag: str | None,
    last_modified: str | None, ttl_minutes: int | None = None, retry_after: float | None = None,
    title: str = "", site_url: str = "", now: datetime | None = None,
) -> None:
    """Store validators and schedule the next check from TTL, bounded."""
    now = now or utcnow()
    source.etag = etag or source.etag
    source.last_modified = last_modified or source.last_modified
    if ttl_minutes is not None:
        source.ttl_minutes = ttl_minutes
    if title and not source.title:
        source.title = title[:512]
    if site_url and not source.site_url:
        source.site_url = site_url[:2048]
    source.error_count = 0
    source.last_error = ""
    source.last_checked_at = now
    source.last_success_at = now
    minutes = max(schedule.default_minutes, source.ttl_minutes or 0)
    if retry_after:
        minutes = max(minutes, int(retry_after // 60) + 1)
    minutes = min(max(minutes, schedule.min_minutes), schedule.max_minutes)
    source.next_check_at = now + timedelta(minutes=minutes)


def record_failure(
    session: Session, source: SourceRow, schedule: Schedule, error: str, *,
    retry_after: float | None = None, now: datetime | None = None,
) -> None:
    """Count the failure and back off: min * 2^(errors-1), capped, at least Retry-After."""
    now = now or utcnow()
    source.error_count += 1
    source.last_error = error[:2000]
    source.last_checked_at = now
    minutes = schedule.min_minutes * 2 ** min(source.error_count - 1, 20)
    minutes = min(minutes, schedule.max_backoff_minutes)
    if retry_after:
        minutes = max(minutes, int(retry_after // 60) + 1)
    source.next_check_at = now + timedelta(minutes=minutes)
