"""Proof with a real Fever client: the ``freshrss-api`` library (PyPI) against a live newsdesk.

FreshRSS lists this library among its compatible Fever clients. It is not
written here: it derives ``api_key = md5(user:password)``, POSTs it as form
data to ``<host>/api/fever.php?api&…`` with ``requests``, and checks ``auth``
on every answer. The test runs newsdesk under uvicorn on loopback and lets
the library list groups, feeds and items and mark items read, saved and
unsaved, then checks newsdesk's own state, and the reverse direction. The
library logs through loguru when an answer lacks what the Fever spec
promises after a mark (the id lists); the test fails on any such error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from newsdesk.accounts import follows, service, state
from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.web import fever
from tests.compat import PASSWORD, World, seed
from tests.conftest import FAST_HASHER
from tests.liveserver import running

freshrss_api = pytest.importorskip(
    "freshrss_api", reason="the Fever client is not installed (pip install freshrss-api loguru)")
loguru = pytest.importorskip("loguru")


@dataclass
class Live:
    url: str
    db: Database
    world: World
    user_id: int
    password: str

    def client(self, password: str = "") -> Any:
        return freshrss_api.FreshRSSAPI(host=self.url, username="alice",
                                        password=password or self.password)

    def flags(self, article_id: int) -> state.State:
        with self.db.read() as session:
            return state.state_of(session, self.user_id, article_id)


@pytest.fixture
def errors() -> Iterator[list[str]]:
    """What the client logs at ERROR (its complaints about our answers)."""
    found: list[str] = []
    sink = loguru.logger.add(lambda message: found.append(str(message)), level="ERROR")
    yield found
    loguru.logger.remove(sink)


@pytest.fixture
def live(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setattr(service, "HASHER", FAST_HASHER)
    for name in ("FRESHRSS_PYTHON_API_HOST", "FRESHRSS_PYTHON_API_USERNAME",
                 "FRESHRSS_PYTHON_API_PASSWORD", "FRESHRSS_PYTHON_API_VERIFY_SSL"):
        monkeypatch.delenv(name, raising=False)
    db = Database(settings.resolved_database_url)
    db.migrate()
    world = seed(db)
    with db.write() as session:
        user = service.create_user(session, "alice", PASSWORD)
        follows.set_follow(session, user.id, "outlet", "Daily Planet", "follow")
        follows.set_follow(session, user.id, "outlet", "Gazette", "follow")
        password = fever.issue_password(session, user, "freshrss-api")
        user_id = user.id
    try:
        with running(settings, tmp_path) as url:
            yield Live(url, db, world, user_id, password)
    finally:
        db.dispose()


def test_client_logs_in_and_lists(live: Live, errors: list[str]) -> None:
    client = live.client()  # its constructor already checked auth == 1
    with pytest.raises(freshrss_api.AuthenticationError):
        live.client("not-the-password")
    groups = client.get_groups()
    assert {g["title"] for g in groups["groups"]} == {"World", "Outlets"}
    feeds = {f["title"]: f for f in client.get_feeds()["feeds"]}
    assert set(feeds) == {"Daily Planet", "Gazette"}
    unread = client.get_unreads()
    everything = sorted(live.world.planet + live.world.gazette)
    assert [i.id for i in unread] == everything
    planet = {i.id for i in unread if i.feed_id == feeds["Daily Planet"]["id"]}
    assert planet == set(live.world.planet)
    first = unread[0]
    assert first.title == "Planet story 0" and "Planet paragraph 0" in first.readable
    assert first.url.startswith("https://planet.example/") and not first.is_read
    picked = client.get_items_from_ids([live.world.gazette[1], live.world.planet[3]])
    assert [i.id for i in picked] == sorted([live.world.gazette[1], live.world.planet[3]])
    assert errors == []


def test_client_marks_sync_both_ways(live: Live, errors: list[str]) -> None:
    client = live.client()
    one, two = live.world.planet[1], live.world.gazette[2]
    answer = client.set_mark("read", one)
    assert str(one) not in answer["unread_item_ids"].split(",")
    client.set_mark("saved", one)
    assert live.flags(one) == state.State(read=True, saved=True)
    assert [i.id for i in client.get_saved()] == [one]
    assert one not in [i.id for i in client.get_unreads()]
    client.set_mark("unsaved", one)
    assert live.flags(one) == state.State(read=True, saved=False)
    assert client.get_saved() == []
    with live.db.write() as session:  # reading in newsdesk shows up in the app
        state.mark_read(session, live.user_id, two)
        state.set_saved(session, live.user_id, two, True)
    assert two not in [i.id for i in client.get_unreads()]
    saved = client.get_saved()
    assert [(i.id, i.is_saved, i.is_read) for i in saved] == [(two, True, True)]
    assert errors == []
