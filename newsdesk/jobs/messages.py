"""Feed entries as JSON task arguments, and back, checked on the way in.

A message is input like any other: it may come from an older release or a
hand-written ``send_task``. A malformed one raises ``ValueError`` (the task
fails once, permanently) instead of reaching the pipeline half-valid.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from newsdesk.model import FeedEntry

_TEXT_FIELDS = tuple(f.name for f in fields(FeedEntry) if f.type in ("str", str))


def entry_to_message(entry: FeedEntry) -> dict[str, Any]:
    """A JSON-safe dict of ``entry`` (dates as ISO 8601)."""
    data = asdict(entry)
    data["published_at"] = entry.published_at.isoformat() if entry.published_at else None
    return data


def entry_from_message(data: object) -> FeedEntry:
    """The entry a message carries; ``ValueError`` when it is not a well-formed entry."""
    if not isinstance(data, dict):
        raise ValueError(f"a feed entry must be an object, got {type(data).__name__}")
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError("a feed entry needs a URL")
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = data.get(name, "")
        if not isinstance(value, str):
            raise ValueError(f"feed entry field {name!r} must be a string")
        values[name] = value
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError("feed entry tags must be a list of strings")
    return FeedEntry(**values, tags=tags, published_at=_date(data.get("published_at")))


def _date(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("feed entry published_at must be an ISO 8601 string")
    return datetime.fromisoformat(value)
