"""Follow and mute, the "For you" page, read and saved state, unread counts."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.accounts import follows, state
from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.store.tables import UserRow
from newsdesk.web.app import create_app
from tests import readers
from tests.readers import NOW, Corpus, login, make_user, post

pytestmark = pytest.mark.usefixtures("fast_hasher")


@pytest.fixture
def corpus(db: Database) -> Corpus:
    return readers.seed(db)


@pytest.fixture
def app(settings: Settings, db: Database, corpus: Corpus) -> FastAPI:
    application = create_app(settings, db)
    application.state.clock = lambda: NOW
    make_user(db, "alice")
    return application


@pytest.fixture
def alice(app: FastAPI) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    return client, login(client, "alice")


def _titles(html: str) -> list[str]:
    """Article titles in page order (from the seeded corpus)."""
    found = [(html.find(title), title) for article, _ in readers.ARTICLES.values()
             for title in [article.title] if title in html]
    return [t for _, t in sorted(found)]


def _follow(client: TestClient, token: str, kind: str, target: str, mode: str) -> int:
    response = post(client, "/follow", token, kind=kind, target=target, mode=mode)
    return response.status_code


def test_for_you_ranks_followed_and_explains_why(alice: tuple[TestClient, str]) -> None:
    client, token = alice
    assert _follow(client, token, "tag", "Russia", "follow") == 303
    page = client.get("/for-you").text
    titles = _titles(page)
    assert titles == ["Russia and Ukraine meet", "Oil prices rise", "Russia talks stall"]
    assert "Because you follow #Russia" in page
    assert "Garden show opens" not in page and "Lake ferry resumes" not in page
    assert "3 unread" in page


def test_story_follow_outranks_a_tag_match(alice: tuple[TestClient, str],
                                           corpus: Corpus) -> None:
    client, token = alice
    _follow(client, token, "tag", "Oil", "follow")
    _follow(client, token, "story", str(corpus.story_id), "follow")
    page = client.get("/for-you").text
    assert _titles(page)[0] == "Russia and Ukraine meet"
    assert "Because you follow the story “Russia talks”" in page


def test_muted_tag_never_appears_on_for_you_or_front(alice: tuple[TestClient, str]) -> None:
    client, token = alice
    _follow(client, token, "outlet", "Wire One", "follow")
    _follow(client, token, "tag", "Ukraine", "mute")
    page = client.get("/for-you").text
    assert "Russia talks stall" in page and "Russia and Ukraine meet" not in page
    front = client.get("/").text
    assert "Russia and Ukraine meet" not in front and "Oil prices rise" in front
    anonymous = TestClient(client.app).get("/").text
    assert "Russia and Ukraine meet" in anonymous  # only this reader's view changes


def test_muted_outlet_and_story_leave_the_front_page(alice: tuple[TestClient, str],
                                                      corpus: Corpus) -> None:
    client, token = alice
    _follow(client, token, "outlet", "Market Daily", "mute")
    _follow(client, token, "story", str(corpus.story_id), "mute")
    front = client.get("/").text
    for hidden in ("Oil prices rise", "Russia talks stall", "Russia and Ukraine meet"):
        assert hidden not in front
    assert "Garden show opens" in front


def test_unmute_restores_and_follow_buttons_reflect_state(alice: tuple[TestClient, str]) -> None:
    client, token = alice
    _follow(client, token, "tag", "Russia", "mute")
    assert "Unmute" in client.get("/tags/Russia").text
    _follow(client, token, "tag", "Russia", "")
    tag_page = client.get("/tags/Russia").text
    assert ">Follow<" in tag_page and "Unmute" not in tag_page
    assert "Russia talks stall" in client.get("/").text


def test_follow_unknown_target_is_404_and_next_stays_on_site(
        alice: tuple[TestClient, str]) -> None:
    client, token = alice
    assert _follow(client, token, "tag", "NoSuchTag", "follow") == 404
    assert _follow(client, token, "planet", "Mars", "follow") == 404
    response = post(client, "/follow", token, kind="tag", target="russia", mode="follow",
                    next="//evil.example/")
    assert response.headers["location"] == "/tags/Russia"


def test_follow_needs_login_and_csrf(app: FastAPI, alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    assert client.post("/follow", data={"kind": "tag", "target": "Russia",
                                        "mode": "follow"}).status_code == 403
    anon = TestClient(app)
    assert anon.get("/for-you", follow_redirects=False).headers["location"] == \
        "/login?next=%2Ffor-you"


def test_opening_an_article_marks_it_read_and_updates_unread(
        alice: tuple[TestClient, str], corpus: Corpus) -> None:
    client, token = alice
    _follow(client, token, "tag", "Russia", "follow")
    assert 'aria-label="3 unread"' in client.get("/for-you").text
    client.get(f"/articles/{corpus.ids['oil']}")
    page = client.get("/for-you").text
    assert "2 unread" in page and 'aria-label="2 unread"' in page


def test_save_unsave_and_saved_page(alice: tuple[TestClient, str], corpus: Corpus) -> None:
    client, token = alice
    aid = corpus.ids["ferry"]
    assert "Nothing saved yet" in client.get("/saved").text
    response = post(client, f"/articles/{aid}/save", token, saved="1")
    assert response.headers["location"] == f"/articles/{aid}"
    assert 'aria-pressed="true"' in client.get(f"/articles/{aid}").text
    assert "Lake ferry resumes" in client.get("/saved").text
    post(client, f"/articles/{aid}/save", token, saved="0")
    assert "Lake ferry resumes" not in client.get("/saved").text
    assert post(client, "/articles/999999/save", token).status_code == 404


def test_state_service_round_trip(db: Database, corpus: Corpus) -> None:
    make_user(db, "dora")
    with db.write() as session:
        user = session.query(UserRow).filter_by(username="dora").one()
        aid = corpus.ids["oil"]
        state.mark_read(session, user.id, aid, NOW)
        state.set_saved(session, user.id, aid, True, NOW)
        assert state.state_of(session, user.id, aid) == state.State(read=True, saved=True)
        state.set_saved(session, user.id, aid, False)
        assert state.state_of(session, user.id, aid) == state.State(read=True, saved=False)
        assert state.unread_for_tag(session, user.id, "Russia") == 2
        follows.set_follow(session, user.id, "tag", "russia", "follow")
        assert follows.preferences(session, user.id).mode_of("tag", "Russia") == "follow"


def test_nav_links_and_keyboard_script(alice: tuple[TestClient, str], app: FastAPI) -> None:
    client, _ = alice
    page = client.get("/").text
    assert 'href="/for-you"' in page and 'href="/saved"' in page
    response = client.get("/")
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script src="/static/keys.js" nonce="{nonce}" defer></script>' in response.text
    assert "For you" not in TestClient(app).get("/").text
    script = client.get("/static/keys.js")
    assert script.status_code == 200 and "kbd-help" in script.text
