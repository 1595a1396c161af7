"""Source repository: subscriptions, their HTTP validators and their schedule.

Scheduling follows Miniflux's entry-frequency scheduler: each source carries its
own ``next_check_at``; success schedules the next check from how often the
source posts (articles of the last 7 days, counted on demand), bounded by the
configured min and max and pushed later by what the publisher asks (feed TTL,
HTTP cache lifetime, Retry-After) and out of its skipHours/skipDays; failure
backs off exponentially up to a cap and records the error for the UI and CLI.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from newsdesk.store.tables import ArticleRow, SourceRow, utcnow

WEEK = timedelta(days=7)
WEEK_MINUTES = 7 * 24 * 60
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
    session: Session, now: datetime | None = None, limit: int = 1000, *,
    error_limit: int = 0, per_host: int = 0,
) -> list[SourceRow]:
    """Unpaused sources whose next check time has come (or was never set), most overdue first.

    ``error_limit`` > 0 leaves out sources that failed that many times in a row
    (Miniflux's POLLING_PARSING_ERROR_LIMIT: a dead feed stops costing requests
    until someone looks at it). ``per_host`` > 0 takes at most that many sources
    of one host into the batch, so one big publisher with hundreds of feeds
    cannot fill a batch that then waits on its per-host connection limit.
    """
    now = now or utcnow()
    stmt = (
        select(SourceRow)
        .where(SourceRow.paused.is_(False))
        .where(or_(SourceRow.next_check_at.is_(None), SourceRow.next_check_at <= now))
        .order_by(SourceRow.next_check_at.is_not(None), SourceRow.next_check_at, SourceRow.id)
    )
    if error_limit > 0:
        stmt = stmt.where(SourceRow.error_count < error_limit)
    if per_host <= 0:
        return list(session.scalars(stmt.limit(limit)))
    return _spread_over_hosts(session, stmt, limit, per_host)


def _spread_over_hosts(
    session: Session, stmt: Select[SourceRow], limit: int, per_host: int
) -> list[SourceRow]:
    """The first ``limit`` rows of ``stmt`` with at most ``per_host`` of any one host.

    Rows are streamed in due order and the scan stops once the batch is full,
    so a large backlog on one host costs reading its rows, not loading them all.
    """
    taken: list[SourceRow] = []
    per: dict[str, int] = {}
    result = session.scalars(stmt, execution_options={"yield_per": max(limit, 100)})
    try:
        for row in result:
            host = source_host(row.url)
            if per.get(host, 0) >= per_host:
                continue
            per[host] = per.get(host, 0) + 1
            taken.append(row)
            if len(taken) >= limit:
                break
    finally:
        result.close()
    return taken


def source_host(url: str) -> str:
    """The host a source is fetched from (lower case), the unit of per-host limits."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


# -- the schedule --------------------------------------------------------------------


def rate_interval(entries_per_week: float, schedule: Schedule) -> int:
    """Minutes until the next check from the posting rate, bounded by min and max.

    Miniflux's entry-frequency scheduler: a feed that posted N entries in the
    last week is checked every week/N, so a wire service is polled every few
    minutes and a dormant blog once a day (the max); no entries -> the max.
    """
    if entries_per_week <= 0:
        return schedule.max_minutes
    minutes = round(WEEK_MINUTES / entries_per_week)
    return min(max(minutes, schedule.min_minutes), schedule.max_minutes)


def next_interval(
    schedule: Schedule, entries_per_week: float, *, ttl_minutes: int | None = None,
    retry_after: float | None = None,
) -> int:
    """Minutes until the next check: posting rate, pushed later by TTL and Retry-After.

    A publisher's TTL (``<ttl>``, ``sy:updatePeriod``, Cache-Control max-age,
    Expires) says "nothing new before then", so it can only delay the check,
    never advance it; it is capped at the max so a misconfigured feed cannot
    silence itself for a month. Retry-After is the server asking us to stay
    away and is honoured in full.
    """
    minutes = rate_interval(entries_per_week, schedule)
    if ttl_minutes:
        minutes = max(minutes, min(ttl_minutes, schedule.max_minutes))
    if retry_after:
        minutes = max(minutes, math.ceil(retry_after / 60))
    return minutes


def entries_per_week(dates: Iterable[datetime | None], now: datetime) -> float:
    """Posting rate a feed's own entry dates show, extrapolated when the feed is short.

    A feed keeps only its last N items: when all of its dated items are from
    the last week, the week holds more than N, so the rate is N over the span
    they cover (at least an hour, so a burst of one minute does not read as
    thousands a week).
    """
    dated = [d for d in dates if d is not None and d <= now]
    recent = [d for d in dated if d >= now - WEEK]
    if len(recent) < 2 or len(recent) < len(dated):
        return float(len(recent))
    span = max(now - min(recent), timedelta(hours=1))
    return len(recent) * (WEEK / span)


def weekly_article_count(session: Session, source_id: int, now: datetime) -> int:
    """Articles of this source that appeared (published, else stored) in the last 7 days.

    Computed on demand from the articles table (indexed on source_id), so the
    rate needs no column of its own and follows deletions and re-imports.
    """
    since = now - WEEK
    appeared = or_(
        ArticleRow.published_at >= since,
        and_(ArticleRow.published_at.is_(None), ArticleRow.ingested_at >= since),
    )
    stmt = select(func.count(ArticleRow.id)).where(ArticleRow.source_id == source_id, appeared)
    return int(session.scalar(stmt) or 0)


def skip_forward(when: datetime, skip_hours: Iterable[int], skip_days: Iterable[str]) -> datetime:
    """The first moment at or after ``when`` outside the feed's skipHours/skipDays (UTC).

    RSS 2.0 says aggregators may not read the feed during those hours (GMT) and
    days. A rule that skips every hour or every day is ignored rather than
    obeyed, since it would mean never checking again.
    """
    hours = {h for h in skip_hours if 0 <= h < 24}
    days = {d.capitalize() for d in skip_days} & set(DAYS)
    hours = set() if len(hours) >= 24 else hours
    days = set() if len(days) >= 7 else days
    at = when.astimezone(UTC)
    for _ in range(8 * 24):
        if at.hour not in hours and DAYS[at.weekday()] not in days:
            return at
        at = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return when


def format_skip_hours(hours: Iterable[int]) -> str:
    """skipHours as stored on the source: sorted, comma-separated."""
    return ",".join(str(h) for h in sorted({h for h in hours if 0 <= h < 24}))


def format_skip_days(days: Iterable[str]) -> str:
    """skipDays as stored on the source, in week order."""
    wanted = {d.capitalize() for d in days}
    return ",".join(d for d in DAYS if d in wanted)


def parse_skip_hours(stored: str) -> set[int]:
    return {int(h) for h in stored.split(",") if h.strip().isdigit()}


def parse_skip_days(stored: str) -> set[str]:
    return {d.strip() for d in stored.split(",") if d.strip()}


# -- outcomes ------------------------------------------------------------------------


def record_success(
    session: Session, source: SourceRow, schedule: Schedule, *, etag: str | None,
    last_modified: str | None, ttl_minutes: int | None = None, retry_after: float | None = None,
    title: str = "", site_url: str = "", now: datetime | None = None,
    feed_rate: float = 0.0, skip_hours: Iterable[int] | None = None,
    skip_days: Iterable[str] | None = None,
) -> None:
    """Store validators and what the feed said, then schedule the next check.

    ``ttl_minutes`` and the skip rules are None when the response did not carry
    them (a 304): the stored values stay in force. ``ttl_minutes=0`` clears a
    TTL the feed no longer declares. ``feed_rate`` is the feed's own posting
    rate (:func:`entries_per_week`); the stored articles of the last week count
    too, since a short feed window under-reports a busy source.
    """
    now = now or utcnow()
    _store_feed_facts(source, etag, last_modified, ttl_minutes, title, site_url)
    if skip_hours is not None:
        source.skip_hours = format_skip_hours(skip_hours)
    if skip_days is not None:
        source.skip_days = format_skip_days(skip_days)
    source.error_count = 0
    source.last_error = ""
    source.last_checked_at = now
    source.last_success_at = now
    rate = max(float(weekly_article_count(session, source.id, now)), feed_rate)
    minutes = next_interval(schedule, rate, ttl_minutes=source.ttl_minutes,
                            retry_after=retry_after)
    source.next_check_at = skip_forward(now + timedelta(minutes=minutes),
                                        parse_skip_hours(source.skip_hours),
                                        parse_skip_days(source.skip_days))


def _store_feed_facts(
    source: SourceRow, etag: str | None, last_modified: str | None, ttl_minutes: int | None,
    title: str, site_url: str,
) -> None:
    source.etag = etag or source.etag
    source.last_modified = last_modified or source.last_modified
    if ttl_minutes is not None:
        source.ttl_minutes = ttl_minutes or None
    if title and not source.title:
        source.title = title[:512]
    if site_url and not source.site_url:
        source.site_url = site_url[:2048]


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
        minutes = max(minutes, math.ceil(retry_after / 60))
    source.next_check_at = now + timedelta(minutes=minutes)
