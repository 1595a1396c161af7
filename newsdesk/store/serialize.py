"""One JSON shape for an article, shared by the web API and ``export --jsonl``.

Keeping a single serializer means the API and the export cannot drift apart,
and consumers can rely on the same keys everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from newsdesk.store import dedup, search, tags
from newsdesk.store.tables import ArticleRow, TagRow

RELATED_LIMIT = 5
RELATED_OVERFETCH = 3  # copies are dropped after the search, so ask for more than shown


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or ``None`` when the time is unknown."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def copy_group(session: Session, row: ArticleRow) -> set[int]:
    """Ids of the article's copy group: itself, its original and every copy of that original.

    ``duplicate_of`` is read both ways, so a copy never shows its original as
    "related" and an original never shows its copies.
    """
    return {row.id} | {other.id for other in dedup.duplicates_of(session, row.id)}


RelatedFinder = Callable[[Session, ArticleRow, int], list[ArticleRow]]
"""Finds candidate related rows, best first (the web passes the semantic one)."""


def lexical_related(session: Session, row: ArticleRow, limit: int) -> list[ArticleRow]:
    """BM25 key-term neighbours: what works with no vectors and no models loaded."""
    return [hit.article for hit in search.related(session, row, limit=limit)]


def related_articles(session: Session, row: ArticleRow, limit: int = RELATED_LIMIT,
                     finder: RelatedFinder = lexical_related) -> list[ArticleRow]:
    """Related coverage without syndicated copies: not of this article, not of each other.

    A candidate is dropped when it belongs to this article's copy group, and
    only the first member of any other copy group is kept, so the same wire
    text never fills two slots.
    """
    group = copy_group(session, row)
    seen_roots: set[int] = set()
    picked: list[ArticleRow] = []
    for other in finder(session, row, limit * RELATED_OVERFETCH):
        root = other.duplicate_of or other.id
        if other.id in group or root in group or root in seen_roots:
            continue
        seen_roots.add(root)
        picked.append(other)
        if len(picked) == limit:
            break
    return picked


def related_json(
    session: Session, row: ArticleRow, limit: int = RELATED_LIMIT,
    finder: RelatedFinder = lexical_related,
) -> list[dict[str, Any]]:
    """Related coverage, other outlets first, as small reference objects."""
    return [
        {
            "id": other.id,
            "title": other.title,
            "outlet": other.outlet,
            "published_at": iso_utc(other.published_at),
        }
        for other in related_articles(session, row, limit, finder)
    ]


def tag_json(tag: TagRow) -> dict[str, str]:
    """A hashtag as consumers need it: ``slug`` for links, ``name`` to show, ``kind``."""
    return {"slug": tag.slug, "name": tag.name, "kind": tag.kind}


def duplicates_json(session: Session, row: ArticleRow) -> list[dict[str, Any]]:
    """The other members of the article's copy group ("also published by")."""
    return [{"id": other.id, "outlet": other.outlet, "url": other.url}
            for other in dedup.duplicates_of(session, row.id)]


def article_json(session: Session, row: ArticleRow, *, with_related: bool = True,
                 finder: RelatedFinder = lexical_related) -> dict[str, Any]:
    """The public JSON object for one article.

    ``duplicates`` lists the rest of the copy group (original included when
    this article is a copy); ``duplicate_of`` names the original, or is null.
    With ``with_related=False`` the ``related`` key is left out rather than
    emptied: "not computed" must not read as "none".
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
        "hashtags": [tag_json(tag) for tag in tags.article_tags(session, row.id)],
        "story_id": row.story_id,
        "duplicates": duplicates_json(session, row),
        "duplicate_of": row.duplicate_of,
    }
    if with_related:
        data["related"] = related_json(session, row, finder=finder)
    return data
