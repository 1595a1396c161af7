"""The Fever API over TestClient, with the requests Fever clients send, checked against the spec.

Request shapes are those of the Fever API document (feedafever.com/api, kept
as fever-api.md in the TinyTinyRSS Fever plugin): reads are query-string
arguments after ``?api``, ``api_key`` and writes are POSTed form data, and
``mark=feed|group`` carries ``before``. Two client styles are replayed:
Reeder/Unread/ReadKit post ``application/x-www-form-urlencoded`` bodies;
NewsFlash (its ``fever_api`` crate) posts ``api_key`` as ``multipart/form-data``
and puts every other argument, writes included, in the query string. Answers
are checked member by member against the types the document gives (integers
are JSON numbers, never booleans or strings; id lists are comma strings).
A real client library drives a live server in tests/test_fever_client.py.
"""

from __future__ import annotations

import re
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
        """Reeder/Unread style: reads in the query, ``api_key`` and writes url-encoded."""
        response = self.client.post(f"/fever/?api&{query}", data={"api_key": self.key, **data})
        return _checked(response)

    def multipart(self, query: str, path: str = "/fever/") -> dict[str, Any]:
        """NewsFlash style: everything but ``api_key`` in the query, the key as multipart."""
        response = self.client.post(f"{path}?api&{query}", files={"api_key": (None, self.key)})
        assert response.request.headers["content-type"].startswith("multipart/form-data")
        return _checked(response)


def _checked(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["api_version"] == 3 and _is_int(body["api_version"])
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


# -- the spec's types, member by member -------------------------------------------------

ID_LIST = re.compile(r"^(\d+(,\d+)*)?$")


def _is_int(value: object) -> bool:
    """A JSON integer: Python's bool is an int, so rule it out explicitly."""
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(obj: dict[str, Any], ints: tuple[str, ...], strings: tuple[str, ...]) -> None:
    assert set(obj) == set(ints) | set(strings), sorted(obj)
    for name in ints:
        assert _is_int(obj[name]), (name, obj[name])
    for name in strings:
        assert isinstance(obj[name], str), (name, obj[name])


def test_answers_have_the_spec_types(fever: Fever, world: World) -> None:
    every = "groups&feeds&items&unread_item_ids&saved_item_ids&favicons&links"
    body = fever.call(every)
    assert body["auth"] == 1 and _is_int(body["auth"])
    assert _is_int(body["last_refreshed_on_time"]) and body["last_refreshed_on_time"] > 0
    for group in body["groups"]:
        _shape(group, ("id",), ("title",))
        assert group["id"] > 0
    for link in body["feeds_groups"]:
        _shape(link, ("group_id",), ("feed_ids",))
        assert ID_LIST.match(link["feed_ids"])
    for feed in body["feeds"]:
        _shape(feed, ("id", "favicon_id", "is_spark", "last_updated_on_time"),
               ("title", "url", "site_url"))
        assert feed["id"] > 0 and feed["is_spark"] == 0 and feed["last_updated_on_time"] > 0
    assert body["items"] and _is_int(body["total_items"])
    for item in body["items"]:
        _shape(item, ("id", "feed_id", "is_saved", "is_read", "created_on_time"),
               ("title", "author", "html", "url"))
        assert item["is_saved"] in (0, 1) and item["is_read"] in (0, 1)
    for name in ("unread_item_ids", "saved_item_ids"):
        assert isinstance(body[name], str) and ID_LIST.match(body[name])
    assert body["favicons"] == [] and body["links"] == []


def test_unauthenticated_answers_carry_only_version_and_auth(fever: Fever) -> None:
    client = fever.client
    for response in (client.post("/fever/?api&items", data={"api_key": "f" * 32}),
                     client.get("/fever/?api&items"),  # the key must be POSTed
                     client.post("/fever/?api&items", data={"api_key": "x' OR 1=1 --"})):
        assert response.json() == {"api_version": 3, "auth": 0}
    assert client.post("/fever/", data={"api_key": fever.key}).json() == {
        "api_version": 3, "auth": 0}  # no ``api`` argument: not an API call


def test_newsflash_style_requests(fever: Fever, world: World) -> None:
    """Multipart key, writes in the query string, at FreshRSS's path as well as Fever's."""
    assert fever.multipart("", path="/api/fever.php")["auth"] == 1
    one = world.gazette[1]
    marked = fever.multipart(f"mark=item&as=read&id={one}")
    assert str(one) not in marked["unread_item_ids"].split(",")
    saved = fever.multipart(f"mark=item&as=saved&id={one}", path="/api/fever.php")
    assert saved["saved_item_ids"] == str(one)
    items = fever.multipart(f"items&with_ids={one}")["items"]
    assert [(i["id"], i["is_read"], i["is_saved"]) for i in items] == [(one, 1, 1)]


def test_since_id_and_max_id_sync_everything_once(fever: Fever, world: World) -> None:
    """A first sync pages back from ``max_id=0``; later ones forward from ``since_id``."""
    everything = sorted(world.planet + world.gazette)
    newest = fever.call("items", max_id="0")["items"]
    assert [i["id"] for i in newest] == everything[::-1]  # fewer than 50: all, newest first
    assert fever.call("items", max_id=str(everything[0]))["items"] == []
    assert fever.call("items", since_id=str(everything[-1]))["items"] == []
    seen: list[int] = []
    since = "0"
    while page := fever.call("items", since_id=since)["items"]:
        seen += [i["id"] for i in page]
        since = str(page[-1]["id"])
    assert seen == everything
    assert fever.call("items", max_id="junk", since_id="-4")["items"]  # bad values: defaults


def test_mark_answers_carry_the_id_lists(fever: Fever, world: World) -> None:
    """The spec: marking returns ``unread_item_ids`` or ``saved_item_ids`` as appropriate."""
    one = str(world.planet[0])
    assert one not in fever.call("", mark="item", **{"as": "read"}, id=one)[
        "unread_item_ids"].split(",")
    assert one in fever.call("", mark="item", **{"as": "unread"}, id=one)[
        "unread_item_ids"].split(",")
    assert fever.call("", mark="item", **{"as": "saved"}, id=one)["saved_item_ids"] == one
    assert fever.call("", mark="item", **{"as": "unsaved"}, id=one)["saved_item_ids"] == ""
    after_sparks = fever.call("", mark="group", **{"as": "read"}, id="-1", before="4102444800")
    assert len(_ids(after_sparks["unread_item_ids"])) == 8  # no Sparks here: nothing read
    ignored = fever.call("", mark="item", **{"as": "read"}, id="99999999")
    assert len(_ids(ignored["unread_item_ids"])) == 8


def test_unread_recently_read(fever: Fever, world: World) -> None:
    for article_id in world.planet[:2]:
        fever.call("", mark="item", **{"as": "read"}, id=str(article_id))
    assert len(_ids(fever.call("unread_item_ids")["unread_item_ids"])) == 6
    body = fever.call("", unread_recently_read="1")
    assert sorted(_ids(body["unread_item_ids"])) == sorted(world.planet + world.gazette)
