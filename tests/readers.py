"""Shared helpers for the reader tests: a small tagged corpus, users, and logging in.

Users are created with the accounts service (cheap argon2 parameters, patched
by the tests) and log in through the real ``/login`` form, so the tests cover
the same cookie and CSRF path a browser takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient

from newsdesk.accounts import service
from newsdesk.model import Article, Tag
from newsdesk.store import articles, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import StoryRow

NOW = datetime(2025, 6, 22, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Corpus:
    """Article ids by name, and the story id, of the seeded corpus."""

    ids: dict[str, int]
    story_id: int


def _article(slug: str, title: str, outlet: str, hours: float) -> Article:
    return Article(url=f"https://{outlet.lower().replace(' ', '-')}.example/{slug}",
                   title=title, text=f"{title}. More text about it follows here.\nSecond line.",
                   outlet=outlet, published_at=NOW - timedelta(hours=hours), language="en")


ARTICLES = {
    "russia_old": (_article("ru-old", "Russia talks stall", "Wire One", 30), ["Russia"]),
    "russia_new": (_article("ru-new", "Russia and Ukraine meet", "Wire One", 1),
                   ["Russia", "Ukraine"]),
    "oil": (_article("oil", "Oil prices rise", "Market Daily", 2), ["Oil", "Russia"]),
    "ferry": (_article("ferry", "Lake ferry resumes", "Lakeside Gazette", 3), ["Ferry"]),
    "garden": (_article("garden", "Garden show opens", "Town Notes", 0.5), ["Gardening"]),
}


def seed(db: Database) -> Corpus:
    """Five articles over four outlets with hashtags; two of them form a story."""
    ids: dict[str, int] = {}
    with db.write() as session:
        for name, (article, slugs) in ARTICLES.items():
            ids[name] = articles.save_article(session, article).article_id
            tags.set_article_tags(session, ids[name],
                                  [Tag(s, s, "topic", 1.0 - i / 10) for i, s in enumerate(slugs)])
        story = StoryRow(title="Russia talks", first_outlet="Wire One", first_seen_at=NOW,
                         updated_at=NOW, article_count=2, outlet_count=1)
        session.add(story)
        session.flush()
        for name in ("russia_old", "russia_new"):
            row = articles.get_article(session, ids[name])
            assert row is not None
            row.story_id = story.id
        return Corpus(ids=ids, story_id=story.id)


def make_user(db: Database, username: str, *, admin: bool = False) -> int:
    with db.write() as session:
        return service.create_user(session, username, PASSWORD, admin=admin).id


def csrf_of(client: TestClient, path: str) -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def login(client: TestClient, username: str) -> str:
    """Log in through the form; returns the session's CSRF token for later POSTs."""
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client, "/for-you")


def post(client: TestClient, path: str, token: str, **data: str) -> httpx.Response:
    """A form POST with the CSRF token, not following the 303."""
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
