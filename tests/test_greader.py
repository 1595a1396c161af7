"""The Google Reader API over TestClient: login, every endpoint, paging, state both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsdesk.accounts import service, state
from newsdesk.config import Settings
from newsdesk.model import Article
from newsdesk.store.articles import save_article
from newsdesk.store.db import Database
from newsdesk.web import greader_streams as gs
from newsdesk.web.app import create_app
from tests.compat import SOURCE_URL, World, app_password, follow, register, seed

pytestmark = pytest.mark.usefixtures("fast_hasher")

API = "/reader/api/0"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING = "user/-/state/com.google/reading-list"


@pytest.fixture
def world(db: Database) -> World:
    return seed(db)


@pytest.fixture
def web(settings: Settings, db: Database, world: World) -> TestClient:
    """Alice's browser: registered, following both outlets, with an app password."""
    client = TestClient(create_app(settings, db))
    register(client, "alice")
    follow(client, "outlet", "Daily Planet")
    follow(client, "outlet", "Gazette")
    return client


class Reader:
    """A Google Reader app: no cookies, only the ``GoogleLogin`` header."""

    def __init__(self, client: TestClient, auth: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"GoogleLogin auth={auth}"}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(API + path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json() if "json" in response.headers["content-type"] else response.text

    def post(self, path: str, data: Any) -> str:
        response = self.client.post(API + path, data=data, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.text


def login(web: TestClient, username: str = "alice") -> Reader:
    password = app_password(web, "greader")
    app = TestClient(web.app)  # a separate client: no session cookie
    response = app.post("/accounts/ClientLogin", data={"Email": username, "Passwd": password,
                                                       "service": "reader"})
    assert response.status_code == 200, response.text
    lines = dict(line.split("=", 1) for line in response.text.strip().splitlines())
    assert set(lines) == {"SID", "LSID", "Auth"}
    return Reader(app, lines["Auth"])


@pytest.fixture
def reader(web: TestClient) -> Reader:
    return login(web)


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [int(i["id"].rsplit("/", 1)[-1], 16) for i in items]


def test_login_failures_are_401(web: TestClient) -> None:
    password = app_password(web, "greader")
    app = TestClient(web.app)
    assert app.post("/accounts/ClientLogin",
                    data={"Email": "alice", "Passwd": "wrong"}).status_code == 401
    assert app.post("/accounts/ClientLogin",
                    data={"Email": "bob", "Passwd": password}).status_code == 401
    api_token = app_password(web, "api")  # another kind of token is not an app password
    assert app.post("/accounts/ClientLogin",
                    data={"Email": "alice", "Passwd": api_token}).status_code == 401
    for header in ({}, {"Authorization": "GoogleLogin auth=nope"},
                   {"Authorization": f"Bearer {password}"}):
        assert app.get(API + "/user-info", headers=header).status_code == 401


def test_browser_session_cannot_use_the_api(web: TestClient) -> None:
    """Cookies are no credential here: the CSRF-free routes refuse a browser session."""
    assert web.get(API + "/subscription/list").status_code == 403
    assert web.post(API + "/edit-tag", data={"i": "1", "a": READ}).status_code == 403
    assert web.post("/fever/?api", data={"api_key": "0" * 32}).status_code == 403


def test_token_user_info_and_subscriptions(reader: Reader) -> None:
    assert len(reader.get("/token")) >= 40
    assert reader.get("/user-info")["userName"] == "alice"
    subs = reader.get("/subscription/list", output="json")["subscriptions"]
    titles = {s["title"]: s for s in subs}
    assert set(titles) == {"Daily Planet", "Gazette"}
    assert titles["Daily Planet"]["categories"][0]["label"] == "World"
    assert titles["Gazette"]["categories"][0]["id"] == "user/-/label/Outlets"
    assert titles["Gazette"]["id"].startswith("feed/http://testserver/outlets/Gazette/feed.atom")


def test_subscribe_unsubscribe_and_quickadd(reader: Reader, db: Database) -> None:
    subs = reader.get("/subscription/list")["subscriptions"]
    gazette = next(s["id"] for s in subs if s["title"] == "Gazette")
    assert reader.post("/subscription/edit", {"ac": "unsubscribe", "s": gazette}) == "OK"
    assert [s["title"] for s in reader.get("/subscription/list")["subscriptions"]] == [
        "Daily Planet"]
    assert reader.post("/subscription/edit", {"ac": "subscribe", "s": gazette}) == "OK"
    added = reader.client.post(API + "/subscription/quickadd", headers=reader.headers,
                               data={"quickadd": SOURCE_URL}).json()
    assert added["numResults"] == 1 and added["streamId"] == f"feed/{SOURCE_URL}"
    titles = {s["title"] for s in reader.get("/subscription/list")["subscriptions"]}
    assert titles == {"Daily Planet", "Gazette", "Daily Planet feed"}
    bad = reader.client.post(API + "/subscription/quickadd", headers=reader.headers,
                             data={"quickadd": "http://no-such-host.invalid/feed"})
    assert bad.json()["numResults"] == 0


def test_stream_contents_paging_and_order(reader: Reader, world: World) -> None:
    everything = world.planet + world.gazette
    first = reader.get(f"/stream/contents/{READING}", n=3)
    seen = _ids(first["items"])
    cont = first["continuation"]
    while cont:
        page = reader.get(f"/stream/contents/{READING}", n=3, c=cont)
        seen += _ids(page["items"])
        cont = page.get("continuation", "")
    assert sorted(seen) == sorted(everything) and len(seen) == len(everything)
    oldest = reader.get("/stream/contents", s=READING, r="o", n=1)["items"][0]
    assert _ids([oldest]) == [world.planet[0]]
    item = first["items"][0]
    assert item["origin"]["title"] in ("Daily Planet", "Gazette")
    assert READING in item["categories"] and item["summary"]["content"].startswith("<p>")


def test_stream_ids_filters_and_short_ids(reader: Reader, world: World) -> None:
    refs = reader.get("/stream/items/ids", s=READING, n=100)["itemRefs"]
    assert sorted(int(r["id"]) for r in refs) == sorted(world.planet + world.gazette)
    newest = max(int(r["timestampUsec"]) for r in refs)
    assert reader.get("/stream/items/ids", s=READING, ot="4102444800")["itemRefs"] == []
    assert newest > 0
    planet_feed = next(s["id"] for s in reader.get("/subscription/list")["subscriptions"]
                       if s["title"] == "Daily Planet")
    in_feed = reader.get("/stream/items/ids", s=planet_feed, n=100)["itemRefs"]
    assert sorted(int(r["id"]) for r in in_feed) == world.planet
    short = [str(world.gazette[0]), gs.long_id(world.planet[1])]
    got = reader.client.post(API + "/stream/items/contents", headers=reader.headers,
                             data={"i": short}).json()["items"]
    assert _ids(got) == [world.gazette[0], world.planet[1]]


def test_read_and_starred_round_trip(reader: Reader, web: TestClient, world: World,
                                     db: Database) -> None:
    one, two = world.planet[0], world.gazette[0]
    assert reader.post("/edit-tag", {"i": [gs.long_id(one), str(two)],
                                     "a": [READ, STARRED]}) == "OK"
    with db.read() as session:
        user = service.find_user(session, "alice")
        assert user is not None
        assert state.state_of(session, user.id, one) == state.State(True, True)
    unread = reader.get("/stream/items/ids", s=READING, xt=READ, n=100)["itemRefs"]
    assert {one, two}.isdisjoint(int(r["id"]) for r in unread)
    starred = reader.get(f"/stream/contents/{STARRED}")["items"]
    assert sorted(_ids(starred)) == sorted([one, two])
    assert "Planet story 0" in web.get("/saved").text  # newsdesk's own page agrees
    reader.post("/edit-tag", {"i": str(one), "r": [READ, STARRED]})
    with db.read() as session:
        assert state.state_of(session, user.id, one) == state.State(False, False)
    # and the other way: reading on the web shows up in the API
    web.get(f"/articles/{world.planet[2]}")
    read = reader.get("/stream/items/ids", s=READ)["itemRefs"]
    assert int(read[0]["id"]) in (world.planet[2], two)
    assert world.planet[2] in [int(r["id"]) for r in read]


def test_unread_count_tags_and_mark_all(reader: Reader, world: World) -> None:
    counts = {c["id"]: c["count"] for c in reader.get("/unread-count")["unreadcounts"]}
    assert counts[READING] == 8 and counts["user/-/label/World"] == 5
    tags = [t["id"] for t in reader.get("/tag/list")["tags"]]
    assert STARRED in tags and "user/-/label/World" in tags
    planet = next(s["id"] for s in reader.get("/subscription/list")["subscriptions"]
                  if s["title"] == "Daily Planet")
    assert reader.post("/mark-all-as-read", {"s": planet, "ts": str(2**62)}) == "OK"
    counts = {c["id"]: c["count"] for c in reader.get("/unread-count")["unreadcounts"]}
    assert counts[READING] == 3 and counts[planet] == 0
    reader.post("/mark-all-as-read", {"s": READING, "ts": "1000"})  # before everything
    assert {c["id"]: c["count"] for c in reader.get("/unread-count")["unreadcounts"]}[
        READING] == 3


def test_labels_browse_hashtags_and_folders(reader: Reader, world: World) -> None:
    folder = reader.get("/stream/items/ids", s="user/-/label/World", n=50)["itemRefs"]
    assert sorted(int(r["id"]) for r in folder) == world.planet
    assert reader.get("/stream/items/ids", s="user/-/label/#Nothing")["itemRefs"] == []
    assert reader.get("/stream/items/ids", s="user/-/label/Story 999 · x")["itemRefs"] == []


def test_other_users_state_is_invisible(settings: Settings, db: Database, world: World,
                                        reader: Reader) -> None:
    reader.post("/edit-tag", {"i": str(world.planet[0]), "a": [READ, STARRED]})
    bob_web = TestClient(reader.client.app)
    register(bob_web, "bob")
    follow(bob_web, "outlet", "Daily Planet")
    bob = login(bob_web, "bob")
    assert bob.get(f"/stream/contents/{STARRED}")["items"] == []
    assert bob.get("/stream/items/ids", s=READ)["itemRefs"] == []
    assert [s["title"] for s in bob.get("/subscription/list")["subscriptions"]] == [
        "Daily Planet"]
    bob.post("/edit-tag", {"i": str(world.planet[0]), "r": READ})  # only bob's own state
    assert reader.get("/stream/items/ids", s=READ)["itemRefs"][0]["id"] == str(world.planet[0])


def test_atom_endpoint_for_newsboat(reader: Reader, world: World) -> None:
    import feedparser

    feed_id = next(s["id"] for s in reader.get("/subscription/list")["subscriptions"]
                   if s["title"] == "Gazette")
    from urllib.parse import quote

    response = reader.client.get(f"/reader/atom/{quote(feed_id, safe='')}?n=2",
                                 headers=reader.headers)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 2
    assert parsed.entries[0].id == gs.long_id(world.gazette[0])
    labels = {t["label"] for t in parsed.entries[0].tags}
    assert "fresh" in labels and "read" not in labels
    assert reader.client.get(f"/reader/atom/{feed_id}").status_code == 401


def _arrive(db: Database, tag: str, published: list[datetime | None]) -> list[int]:
    """New articles landing mid-paging, as the ingester would save them."""
    with db.write() as session:
        return [save_article(session, Article(
            url=f"https://late.example/{tag}/{i}", title=f"Late {tag} {i}",
            text=f"Late paragraph {tag} {i}.", outlet="Gazette", published_at=when)).article_id
            for i, when in enumerate(published)]


def _page_through(reader: Reader, db: Database, **params: Any) -> list[int]:
    """Page a stream two items at a time, landing new articles after the first pages.

    Arrivals stop after three rounds, or oldest-first (which reaches them) never ends.
    """
    seen: list[int] = []
    cont, round_ = "", 0
    while True:
        page = reader.get(f"/stream/contents/{READING}", n=2, **params,
                          **({"c": cont} if cont else {}))
        seen += _ids(page["items"])
        cont = page.get("continuation", "")
        if not cont:
            return seen
        round_ += 1
        assert round_ < 50, "paging does not end"
        if round_ > 3:
            continue
        newest = datetime.now(UTC) + timedelta(days=round_)
        _arrive(db, f"{params.get('r', 'n')}{round_}", [newest, None, _time(db, seen[-1])])


def _rows(db: Database, ids: list[int]) -> list[Any]:
    with db.read() as session:
        return gs.by_ids(session, ids)


def _time(db: Database, article_id: int) -> datetime:
    return _rows(db, [article_id])[0].sort_time


@pytest.mark.parametrize("order", ["n", "o"])
def test_continuation_survives_arrivals(reader: Reader, world: World, db: Database,
                                        order: str) -> None:
    """Keyset paging: articles saved between pages never make a page repeat or skip.

    Each round lands one article newer than everything, one with no date (so
    sorted by its arrival, now) and one with exactly the last seen item's time
    (the id breaks the tie). Offsets would repeat items here; the keyset may
    not. Oldest-first also reaches the arrivals sorted after the cursor.
    """
    _arrive(db, "tie", [_time(db, world.planet[2])] * 2)  # equal times on a page edge
    original = sorted(int(r["id"]) for r in reader.get("/stream/items/ids", s=READING,
                                                        n=1000)["itemRefs"])
    seen = _page_through(reader, db, **({"r": "o"} if order == "o" else {}))
    assert len(seen) == len(set(seen)), f"an item came twice: {seen}"
    assert set(original) <= set(seen), f"skipped {set(original) - set(seen)}"
    times = [r.sort_time for r in sorted(_rows(db, seen), key=lambda r: seen.index(r.id))]
    assert times == sorted(times, reverse=order == "n")


def test_forged_continuation_is_refused(reader: Reader) -> None:
    for bad in ("12", "not-a-token!", "MTIzNA", gs.Cursor(datetime.now(UTC), 0).token()):
        response = reader.client.get(f"{API}/stream/contents/{READING}", params={"c": bad},
                                     headers=reader.headers)
        assert response.status_code == 400, bad
    first = reader.get(f"/stream/contents/{READING}", n=1)
    token = first["continuation"]
    assert gs.Cursor.parse(token).article_id == _ids(first["items"])[0]
