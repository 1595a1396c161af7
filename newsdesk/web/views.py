"""Plain view objects and the small text helpers templates rely on.

Rows are turned into dicts while the read session is open, so templates never
trigger database access and can be rendered after the session closes. Every
URL that ends up in ``href``/``src`` passes :func:`safe_url`, because feed data
is attacker-controlled and Jinja's autoescaping does not stop ``javascript:``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from newsdesk.store.serialize import iso_utc
from newsdesk.store.tables import ArticleRow

EXCERPT_CHARS = 220
BADGE_COLOURS = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WS = re.compile(r"\s+")


def safe_url(url: str | None) -> str:
    """The URL if it is absolute http(s), else "" (drops javascript:, data:, relative junk)."""
    if not url:
        return ""
    cleaned = url.strip()
    if _CONTROL.search(cleaned):  # browsers drop tabs/newlines: "java\tscript:" is a trick
        return ""
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return cleaned


def outlet_path(name: str) -> str:
    """The reader's page for an outlet; names may hold spaces or slashes."""
    return "/outlets/" + quote(name, safe="")


def badge_class(name: str) -> str:
    """A stable colour class per outlet, so a reader learns to spot outlets by colour."""
    digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).digest()
    return f"badge-{digest[0] % BADGE_COLOURS}"


def initial(name: str) -> str:
    """The letter shown in an outlet's badge."""
    stripped = name.strip()
    return stripped[0].upper() if stripped else "?"


def paragraphs(text: str) -> list[str]:
    """Body paragraphs: the store keeps one paragraph per line."""
    return [p.strip() for p in text.split("\n") if p.strip()]


def truncate(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Cut at a word boundary and mark the cut, so excerpts never end mid-word."""
    flat = _WS.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.-–—")
    return cut + "…"


def excerpt(row: ArticleRow, limit: int = EXCERPT_CHARS) -> str:
    """The outlet's own description when it has one, else the opening of the body."""
    source = row.description or next(iter(paragraphs(row.text)), "")
    return truncate(source, limit)


@dataclass(frozen=True)
class Card:
    """What a list of articles needs to show one of them."""

    id: int
    title: str
    outlet: str
    when: datetime | None
    excerpt: str
    image: str

    @property
    def path(self) -> str:
        return f"/articles/{self.id}"


def card(row: ArticleRow, limit: int = EXCERPT_CHARS) -> Card:
    return Card(
        id=row.id,
        title=row.title,
        outlet=row.outlet,
        when=row.published_at,  # an undated article shows no time rather than ingest time
        excerpt=excerpt(row, limit),
        image=safe_url(row.image),
    )


def json_ld(row: ArticleRow, page_url: str) -> dict[str, Any]:
    """schema.org NewsArticle, so shared links and search engines credit the outlet."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": row.title,
        "url": page_url,
        "mainEntityOfPage": safe_url(row.canonical_url) or safe_url(row.url) or page_url,
        "description": excerpt(row, 300),
        "isAccessibleForFree": True,
    }
    optional = {
        "datePublished": iso_utc(row.published_at),
        "inLanguage": row.language or None,
        "image": [safe_url(row.image)] if safe_url(row.image) else None,
        "author": {"@type": "Person", "name": row.byline} if row.byline else None,
        "publisher": {"@type": "Organization", "name": row.outlet} if row.outlet else None,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def script_json(data: object) -> str:
    """JSON safe inside ``<script>``: no ``</script>``, ``<!--`` or line separators."""
    text = json.dumps(data, ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text
