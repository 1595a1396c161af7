"""One JSON shape for an article, shared by the web API and ``export --jsonl``.

Keeping a single serializer means the API and the export cannot drift apart,
and consumers can rely on the same keys everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from newsdesk.store import search
from newsdesk.store.tables import ArticleRow

RELATED_LIMIT = 5


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or ``None`` when the time is unknown."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def related_json(
    session: Session, row: ArticleRow, limit: int = RELATED_LIMIT
) -> list[dict[str, Any]]:
    """Lexical neighbours from other outlets first, as small reference objects."""
    return [
        {
            "id": hit.article.id,
            "title": hit.article.title,
            "outlet": hit.article.outlet,
            "published_at": iso_utc(hit.article.published_at),
        }
        for hit in search.related(session, row, limit=limit)
    ]


def article_json(session: Session, row: ArticleRow, *, with_related: bool = True) -> dict[str, Any]:
    """The public JSON object for one article.

    ``hashtags`` is an empty list until tagging lands, so consumers can code
    against the final shape today. With ``with_related=False`` the ``related``
    key is left out rather than emptied: "not computed" must not read as "none".
    """
    data: dict[str, Any] = {
        "id": row.id,
        "url": row.url,
        "canonical_url": row.canonical_url,
        "title": row.title,
        "outlet": row.outlet,
        "byline": row.byline,
        "published_at": iso_utc(row.published_at),
        "language": row.language,
        "text": row.text,
        "copyright": row.copyright,
        "image": row.image,
        "hashtags": [],
    }
    if with_related:
        data["related"] = related_json(session, row)
    return data
