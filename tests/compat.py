"""Shared set-up for the Google Reader, Fever and newsboat tests: made-up articles, real users.

Users register through the web form and create their app passwords on
/account, as a person would, so the tests cover that flow too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from newsdesk.model import Article
from newsdesk.store.articles import save_article
from newsdesk.store.db import Database
from newsdesk.store.sources import add_source

PASSWORD = "correct horse battery"
SOURCE_URL = "http://127.0.0.1:9/planet.xml"
BASE = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOKEN = re.compile(r'id="new-token">([^<]+)<')


@dataclass
class World:
    planet: list[int]  # "Daily Planet" articles, newest last (source SOURCE_URL, folder World)
    gazette: list[int]  # "Gazette" articles, no source


def seed(db: Database, planet: int = 5, gazette: int = 3) -> World:
    """Articles from two outlets, one hour apart, all published before ``BASE``."""
    world = World([], [])
    with db.write() as session:
        source, _ = add_source(session, SOURCE_URL, title="Daily Planet feed", category="World")
        for i in range(planet):
            art = Article(url=f"https://planet.example/{i}", title=f"Planet story {i}",
                          text=f"Planet paragraph {i}.\nMore about {i}.", outlet="Daily Planet",
                          published_at=BASE - timedelta(hours=planet - i))
            world.planet.append(save_article(session, art, source.id).article_id)
        for i in range(gazette):
            art = Article(url=f"https://gazette.example/{i}", title=f"Gazette item {i}",
                          text=f"Gazette text {i}.", outlet="Gazette",
                          published_at=BASE - timedelta(minutes=30 + 60 * i))
            world.gazette.append(save_article(session, art).article_id)
    return world


def csrf(client: TestClient, path: str) -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def register(client: TestClient, username: str) -> None:
    token = csrf(client, "/register")
    response = client.post("/register", data={"username": username, "password": PASSWORD,
                                              "confirm": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def app_password(client: TestClient, kind: str) -> str:
    """Create a ``greader``/``fever`` app password on /account; it is shown once."""
    token = csrf(client, "/account")
    response = client.post("/account/tokens", data={"label": f"{kind} app", "kind": kind,
                                                    "csrf_token": token})
    match = _TOKEN.search(response.text)
    assert response.status_code == 200 and match, response.text[:500]
    return match.group(1)


def follow(client: TestClient, kind: str, target: str) -> None:
    """Follow through the web UI's own route, as a reader clicking the button."""
    token = csrf(client, "/account")
    response = client.post("/follow", data={"kind": kind, "target": target, "mode": "follow",
                                            "csrf_token": token}, follow_redirects=False)
    assert response.status_code in (200, 303), response.text[:300]
