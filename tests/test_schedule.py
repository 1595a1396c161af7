"""The scheduling policy: posting rate, bounds, TTL, Retry-After, skipHours/skipDays, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsdesk.model import Article
from newsdesk.store import articles, sources
from newsdesk.store.db import Database
from newsdesk.store.sources import Schedule

NOW = datetime(2025, 6, 4, 10, 30, tzinfo=UTC)  # a Wednesday
SCHEDULE = Schedule(min_minutes=5, max_minutes=24 * 60)


def test_posting_rate_sets_the_interval_within_bounds() -> None:
    assert sources.rate_interval(0, SCHEDULE) == 24 * 60  # silent for a week: the max
    assert sources.rate_interval(1, SCHEDULE) == 24 * 60  # weekly, capped at the max
    assert sources.rate_interval(168, SCHEDULE) == 60  # hourly posts -> hourly checks
    assert sources.rate_interval(10_000, SCHEDULE) == 5  # a firehose, floored at the min


def test_ttl_and_cache_lifetime_only_push_later_and_are_capped() -> None:
    assert sources.next_interval(SCHEDULE, 168, ttl_minutes=30) == 60
    assert sources.next_interval(SCHEDULE, 168, ttl_minutes=180) == 180
    assert sources.next_interval(SCHEDULE, 168, ttl_minutes=7 * 24 * 60) == 24 * 60


def test_retry_after_is_honoured_in_full() -> None:
    assert sources.next_interval(SCHEDULE, 168, retry_after=7200) == 120
    assert sources.next_interval(SCHEDULE, 168, retry_after=3 * 86400) == 3 * 24 * 60


def test_entries_per_week_from_the_feed_dates() -> None:
    old = [NOW - timedelta(days=d) for d in (10, 20)]
    assert sources.entries_per_week([*old, None], NOW) == 0
    assert sources.entries_per_week([NOW - timedelta(days=1), *old], NOW) == 1
    # Twenty items within the last 10 hours and nothing older: the feed window is
    # full, so the rate is 20 per 10 hours, not 20 a week.
    burst = [NOW - timedelta(minutes=30 * i) for i in range(1, 21)]
    assert round(sources.entries_per_week(burst, NOW)) == 20 * 7 * 24 // 10


def test_skip_hours_and_days_move_the_check_out_utc() -> None:
    at = datetime(2025, 6, 4, 22, 15, tzinfo=UTC)  # Wednesday 22:15
    assert sources.skip_forward(at, {22, 23, 0}, set()) == datetime(2025, 6, 5, 1, 0, tzinfo=UTC)
    assert sources.skip_forward(at, set(), {"Wednesday", "thursday"}) == datetime(
        2025, 6, 6, 0, 0, tzinfo=UTC)
    assert sources.skip_forward(at, {1}, set()) == at  # not in a skipped hour: unchanged
    assert sources.skip_forward(at, set(range(24)), set()) == at  # degenerate rule ignored


def test_skip_rules_round_trip_through_their_columns() -> None:
    assert sources.format_skip_hours([23, 0, 7, 30]) == "0,7,23"
    assert sources.parse_skip_hours("0,7,23") == {0, 7, 23}
    assert sources.format_skip_days(["sunday", "Saturday"]) == "Saturday,Sunday"
    assert sources.parse_skip_days("Saturday,Sunday") == {"Saturday", "Sunday"}


def _articles(db: Database, source_id: int, count: int, age: timedelta) -> None:
    with db.write() as session:
        for i in range(count):
            articles.save_article(session, Article(
                url=f"https://feeds.example.com/a/{source_id}/{i}", title=f"Item {i}",
                text=f"Body of item {i} of source {source_id}.", outlet="Example",
                published_at=NOW - age - timedelta(minutes=i)), source_id)


def test_stored_articles_of_the_last_week_drive_the_schedule(db: Database) -> None:
    with db.write() as session:
        busy, _ = sources.add_source(session, "https://feeds.example.com/busy")
        quiet, _ = sources.add_source(session, "https://feeds.example.com/quiet")
    _articles(db, busy.id, 48, timedelta(days=1))  # 48 a week -> every 210 minutes
    _articles(db, quiet.id, 5, timedelta(days=9))  # nothing this week -> the max
    with db.write() as session:
        for source_id, minutes in ((busy.id, 210), (quiet.id, 24 * 60)):
            row = sources.get_source(session, source_id)
            assert row is not None
            assert sources.weekly_article_count(session, source_id, NOW) == (
                48 if source_id == busy.id else 0)
            sources.record_success(session, row, SCHEDULE, etag=None, last_modified=None,
                                   now=NOW)
            assert row.next_check_at == NOW + timedelta(minutes=minutes)


def test_feed_rate_ttl_and_skip_rules_are_stored_and_kept_on_304(db: Database) -> None:
    with db.write() as session:
        src, _ = sources.add_source(session, "https://feeds.example.com/rss")
        sources.record_success(session, src, SCHEDULE, etag='"v1"', last_modified=None,
                               now=NOW, feed_rate=7 * 24 * 4, ttl_minutes=45,
                               skip_hours={11, 12}, skip_days={"Sunday"})
        assert (src.skip_hours, src.skip_days, src.ttl_minutes) == ("11,12", "Sunday", 45)
        # 4 an hour -> 15 min, TTL 45 -> 11:15, a skipped hour -> 13:00.
        assert src.next_check_at == datetime(2025, 6, 4, 13, 0, tzinfo=UTC)
        # A 304 carries no feed: stored TTL and skip rules stay in force.
        sources.record_success(session, src, SCHEDULE, etag=None, last_modified=None,
                               now=NOW + timedelta(hours=2))
        assert src.etag == '"v1"' and src.skip_hours == "11,12" and src.ttl_minutes == 45
        # A feed that stops declaring a TTL clears it.
        sources.record_success(session, src, SCHEDULE, etag=None, last_modified=None,
                               now=NOW, ttl_minutes=0, skip_hours=set(), skip_days=set())
        assert src.ttl_minutes is None and src.skip_hours == "" and src.skip_days == ""


def test_due_sources_error_limit_and_per_host(db: Database) -> None:
    with db.write() as session:
        for i in range(4):
            sources.add_source(session, f"https://big.example.com/feed/{i}")
        for i in range(2):
            sources.add_source(session, f"https://small{i}.example.org/rss")
        broken, _ = sources.add_source(session, "https://broken.example.net/rss")
        broken.error_count = 10
    with db.read() as session:
        assert len(sources.due_sources(session, NOW)) == 7
        assert len(sources.due_sources(session, NOW, error_limit=10)) == 6
        assert len(sources.due_sources(session, NOW, error_limit=11)) == 7
        batch = sources.due_sources(session, NOW, error_limit=10, per_host=2)
        hosts = [sources.source_host(s.url) for s in batch]
        assert hosts.count("big.example.com") == 2 and len(batch) == 4
        assert len(sources.due_sources(session, NOW, limit=3, per_host=1)) == 3
