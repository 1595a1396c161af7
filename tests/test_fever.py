"""The Fever API over TestClient, with the requests Fever clients (Reeder, Unread) send."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsdesk.accounts import service, state
from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.store.tables import ApiTokenRow
from newsdesk.web.app import create_app
from newsdesk.web.fever import api_key, group_id
from tests.compat import World, app_password, follow, register, seed

pytestmark = pytest.mark.usefixtures("fast_hasher")


@pytest.fixture
def world(db: Database) -> World:
    return seed(db)


def _browser(settings: Settings, db: Database, name: str) -> TestClient:
    client = TestClient(create_app(settings, db))
    register(client, name)
    follow(client, "outlet", "Daily Planet")
    follow(client, "outlet", "Gazette")
    return client


class Fever:
    """A Fever client: form POSTs to /fever/?api, no cookies."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = TestClient(client.app)
        self.key = key

    def call(self, query: str, **data: str) -> dict[str, Any]:
        response = self.client.post(f"/fever/?api&{query}", data={"api_key": self.key, **data})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["api_version"] == 3
        return body


@pytest.fixture
def web(settings: Settings, db: Database, world: World) -> TestClient:
    return _browser(settings, db, "alice")


@pytest.fixture
def fever(web: TestClient) -> Fever:
    return Fever(web, api_key("alice", app_password(web, "fever")))


def _ids(text: str) -> list[int]:
    return [int(i) for i in text.split(",") if i]


def test_auth(fever: Fever, db: Database) -> None:
    assert fever.call("")["auth"] == 1
    assert Fever(fever.client, "0" * 32).call("")["auth"] == 0
    assert Fever(fever.client, "").call("")["auth"] == 0
    with db.read() as session:  # neither the password nor the md5 is stored
        hashes = [t.token_hash for t in session.query(ApiTokenRow).filter_by(kind="fever")]
    assert hashes == [service.sha256(fever.key)]


def test_groups_feeds_and_items(fever: Fever, world: World) -> None:
    body = fever.call("groups&feeds")
    titles = {f["title"]: f["id"] for f in body["feeds"]}
    assert set(titles) == {"Daily Planet", "Gazette"}
    groups = {g["title"]: g["id"] for g in body["groups"]}
    assert groups == {"World": group_id("World"), "Outlets": group_id("Outlets")}
    links = {g["group_id"]: _ids(g["feed_ids"]) for g in body["feeds_groups"]}
    assert links[group_id("World")] == [titles["Daily Planet"]]
    first = fever.call("items")
    assert first["total_items"] == 8
    assert [i["id"] for i in first["items"]] == sorted(world.planet + world.gazette)
    since = fever.call("items", since_id=str(world.planet[2]))
    assert [i["id"] for i in since["items"]] == sorted(world.planet[3:] + world.gazette)
    below = fever.call("items", max_id=str(world.gazette[0]))
    assert [i["id"] for i in below["items"]] == world.planet[::-1]
    picked = fever.call("items", with_ids=f"{world.gazette[1]},{world.planet[0]}")
    item = picked["items"][0]
    assert item["feed_id"] == titles["Gazette"] and item["is_read"] == 0
    assert fever.call("favicons&links")["favicons"] == []


def test_mark_item_round_trip(fever: Fever, web: TestClient, world: World,
                              db: Database) -> None:
    one = world.planet[0]
    fever.call("", mark="item", **{"as": "read"}, id=str(one))
    fever.call("", mark="item", **{"as": "saved"}, id=str(one))
    with db.read() as session:
        user = service.find_user(session, "alice")
        assert user is not None
        assert state.state_of(session, user.id, one) == state.State(True, True)
    assert one not in _ids(fever.call("unread_item_ids")["unread_item_ids"])
    assert _ids(fever.call("saved_item_ids")["saved_item_ids"]) == [one]
    assert "Planet story 0" in web.get("/saved").text
    fever.call("", mark="item", **{"as": "unsaved"}, id=str(one))
    assert fever.call("saved_item_ids")["saved_item_ids"] == ""
    web.get(f"/articles/{world.gazette[0]}")  # reading on the web shows up in Fever
    assert world.gazette[0] not in _ids(fever.call("unread_item_ids")["unread_item_ids"])


def test_mark_feed_and_group(fever: Fever, world: World) -> None:
    feeds = {f["title"]: f["id"] for f in fever.call("feeds")["feeds"]}
    fever.call("", mark="feed", **{"as": "read"}, id=str(feeds["Gazette"]),
               before="4102444800")
    assert sorted(_ids(fever.call("unread_item_ids")["unread_item_ids"])) == world.planet
    fever.call("", mark="group", **{"as": "read"}, id=str(group_id("World")), before="1000")
    assert len(_ids(fever.call("unread_item_ids")["unread_item_ids"])) == 5  # all newer
    fever.call("", mark="group", **{"as": "read"}, id="0", before="4102444800")
    assert fever.call("unread_item_ids")["unread_item_ids"] == ""


def test_users_are_isolated(settings: Settings, db: Database, fever: Fever,
                            world: World) -> None:
    fever.call("", mark="item", **{"as": "saved"}, id=str(world.planet[0]))
    bob_web = _browser(settings, db, "bob")
    bob = Fever(bob_web, api_key("bob", app_password(bob_web, "fever")))
    assert bob.call("saved_item_ids")["saved_item_ids"] == ""
    assert len(_ids(bob.call("unread_item_ids")["unread_item_ids"])) == 8
    assert Fever(bob_web, api_key("alice", "guess")).call("")["auth"] == 0
    assert _ids(fever.call("saved_item_ids")["saved_item_ids"]) == [world.planet[0]]


def test_opml_export_and_import(web: TestClient, world: World) -> None:
    from tests.compat import csrf

    exported = web.get("/account/opml")
    assert exported.status_code == 200 and "Daily Planet" in exported.text
    opml = (b'<?xml version="1.0"?><opml version="2.0"><head/><body>'
            b'<outline text="Tech"><outline text="Planet" xmlUrl="http://127.0.0.1:9/planet.xml"/>'
            b'<outline text="New" xmlUrl="http://127.0.0.1:9/new.xml"/></outline>'
            b'<outline text="Bad" xmlUrl="http://no-such-host.invalid/x"/></body></opml>')
    token = csrf(web, "/account")
    answer = web.post("/account/opml", data={"csrf_token": token},
                      files={"file": ("subs.opml", opml, "text/x-opml")})
    assert answer.status_code == 200 and "Subscribed to 2 feeds" in answer.text
    again = web.get("/account/opml").text
    assert "http://127.0.0.1:9/new.xml" in again and "Daily Planet feed" in again
    refused = web.post("/account/opml", files={"file": ("s.opml", opml, "text/x-opml")})
    assert refused.status_code == 403  # the upload keeps CSRF protection
