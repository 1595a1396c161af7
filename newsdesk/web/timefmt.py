"""Human time for readers: "24 minutes ago" on cards, an absolute date beside it.

A news reader judges freshness at a glance, so recent times are relative; past
a week a relative time ("23 days ago") is harder to place than a date, so it
turns into one. ``now`` is always passed in, which keeps this pure and testable.
"""

from __future__ import annotations

from datetime import UTC, datetime

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY


def _aware(moment: datetime) -> datetime:
    """Treat naive datetimes as UTC: that is how the store writes them."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _span(seconds: float) -> str:
    """The largest whole unit in a span shorter than a week."""
    if seconds < _HOUR:
        return _plural(int(seconds // _MINUTE), "minute")
    if seconds < _DAY:
        return _plural(int(seconds // _HOUR), "hour")
    return _plural(int(seconds // _DAY), "day")


def relative(moment: datetime | None, now: datetime) -> str:
    """"just now", "24 minutes ago", "3 hours ago", "2 days ago", then a date.

    Future times (a source's next check) read "in 5 minutes"; an empty string
    for an unknown time lets templates simply skip it.
    """
    if moment is None:
        return ""
    delta = (_aware(now) - _aware(moment)).total_seconds()
    if abs(delta) < _MINUTE:
        return "just now"
    if abs(delta) >= _WEEK:
        return short_date(moment)
    return f"{_span(delta)} ago" if delta > 0 else f"in {_span(-delta)}"


def short_date(moment: datetime) -> str:
    """"20 Aug 2025": unambiguous in every locale, unlike 08/20/2025."""
    m = _aware(moment)
    return f"{m.day} {m:%b %Y}"


def absolute(moment: datetime | None) -> str:
    """"20 Aug 2025, 14:05 UTC": the exact time shown beside the relative one."""
    if moment is None:
        return ""
    m = _aware(moment)
    return f"{short_date(m)}, {m:%H:%M} UTC"


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``: for ``<time datetime>``, JSON-LD and the API."""
    if moment is None:
        return None
    return _aware(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def long_date(moment: datetime) -> str:
    """"Wednesday, 20 August 2025": the masthead date."""
    m = _aware(moment)
    return f"{m:%A}, {m.day} {m:%B %Y}"
