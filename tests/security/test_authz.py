"""Authorisation: one reader can never change another's comments or see their private state.

Uses the security suite's app and fast hasher (``tests/security/conftest.py``)
on a seeded corpus; users log in through the real ``/login`` form.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.accounts import markup
from newsdesk.store.db import Database
from tests import readers
from tests.readers import Corpus, login, make_user, post


@pytest.fixture
def corpus(db: Database) -> Corpus:
    corpus = readers.seed(db)
    make_user(db, "admin", admin=True)
    make_user(db, "alice")
    make_user(db, "bob")
    return corpus


def _as(app: FastAPI, username: str) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    return client, login(client, username)


def _alice_comment(app: FastAPI, corpus: Corpus) -> int:
    alice, token = _as(app, "alice")
    loc = post(alice, f"/articles/{corpus.ids['oil']}/comments", token,
               body="Alice wrote this").headers["location"]
    return int(loc.rsplit("-", 1)[1])


def test_b_cannot_edit_or_delete_a_comment(app: FastAPI, corpus: Corpus) -> None:
    cid = _alice_comment(app, corpus)
    bob, token = _as(app, "bob")
    assert bob.get(f"/comments/{cid}/edit").status_code == 403
    assert post(bob, f"/comments/{cid}/edit", token, body="Bob was here").status_code == 403
    assert post(bob, f"/comments/{cid}/delete", token).status_code == 403
    page = bob.get(f"/articles/{corpus.ids['oil']}").text
    assert "Alice wrote this" in page and "Bob was here" not in page
    assert f'href="/comments/{cid}/edit"' not in page  # no edit link on someone else's comment


def test_admins_moderate_but_do_not_edit_others_comments(app: FastAPI, corpus: Corpus) -> None:
    cid = _alice_comment(app, corpus)
    admin, token = _as(app, "admin")
    assert post(admin, f"/comments/{cid}/edit", token, body="rewritten").status_code == 403


def test_missing_comment_is_404(app: FastAPI, corpus: Corpus) -> None:
    bob, token = _as(app, "bob")
    assert post(bob, "/comments/987654/delete", token).status_code == 404
    assert bob.get("/comments/987654/edit").status_code == 404


def test_b_cannot_see_a_saved_or_for_you(app: FastAPI, corpus: Corpus) -> None:
    alice, a_token = _as(app, "alice")
    post(alice, f"/articles/{corpus.ids['ferry']}/save", a_token, saved="1")
    post(alice, "/follow", a_token, kind="tag", target="Gardening", mode="follow")
    assert "Lake ferry resumes" in alice.get("/saved").text
    assert "Garden show opens" in alice.get("/for-you").text
    bob, _ = _as(app, "bob")
    assert "Lake ferry resumes" not in bob.get("/saved").text
    assert "Garden show opens" not in bob.get("/for-you").text
    assert 'aria-pressed="true"' not in bob.get(f"/articles/{corpus.ids['ferry']}").text
    anon = TestClient(app)
    for path in ("/saved", "/for-you"):
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_state_changes_need_the_session_csrf_token(app: FastAPI, corpus: Corpus) -> None:
    cid = _alice_comment(app, corpus)
    alice, token = _as(app, "alice")
    bob, bob_token = _as(app, "bob")
    forged = {"csrf_token": bob_token}  # another session's token is no good either
    for path, data in ((f"/comments/{cid}/delete", {}),
                       (f"/comments/{cid}/edit", {"body": "x"}),
                       (f"/articles/{corpus.ids['oil']}/save", {}),
                       ("/follow", {"kind": "tag", "target": "Oil", "mode": "follow"})):
        assert alice.post(path, data=data).status_code == 403
        assert alice.post(path, data={**data, **forged}).status_code == 403
    foreign = alice.post(f"/comments/{cid}/delete", data={"csrf_token": token},
                         headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "Alice wrote this" in bob.get(f"/articles/{corpus.ids['oil']}").text


def test_readers_cannot_use_admin_routes(app: FastAPI, corpus: Corpus) -> None:
    cid = _alice_comment(app, corpus)
    bob, token = _as(app, "bob")
    for path in (f"/admin/comments/{cid}/hide", "/admin/users/1/ban", "/admin/sources",
                 "/admin/sources/1/pause"):
        assert post(bob, path, token, url="https://example.com/feed").status_code == 403
    for path in ("/admin/moderation", "/admin/users", "/admin/sources"):
        assert bob.get(path).status_code == 403


XSS_COMMENTS = [
    "<script>alert(1)</script>",
    "<svg/onload=alert(1)>",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<iframe src="//evil.example"></iframe>',
    '<base href="//evil.example/">',
    '<meta http-equiv="refresh" content="0;url=//evil.example">',
    '<form action="//evil.example"><button>go</button></form>',
    '<object data="//evil.example/x"></object>',
    "javascript:alert(1) and data:text/html,<script>alert(1)</script>",
    "https://ok.example/\"><script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", XSS_COMMENTS)
def test_comment_xss_is_neutralised_in_the_page(app: FastAPI, corpus: Corpus,
                                                payload: str) -> None:
    alice, token = _as(app, "alice")
    path = f"/articles/{corpus.ids['garden']}"
    assert post(alice, f"{path}/comments", token, body=payload).status_code == 303
    page = alice.get(path).text
    body = page[page.index('class="comment-body"'):page.index("</div>", page.index(
        'class="comment-body"'))]
    for tag in ("<script", "<svg", "<iframe", "<base", "<meta", "<form", "<object", "<button"):
        assert tag not in body.lower()
    hrefs = re.findall(r'<a\s[^>]*href="([^"]*)"', body)  # real links, not escaped text
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert markup.sanitize(markup.render(payload)) == markup.render(payload)
