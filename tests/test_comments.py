"""Comments: markup and sanitising, threads, edit/delete, reports, rate limits, moderation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsdesk.accounts import comments, markup
from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.store.tables import CommentRow, UserRow
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
    make_user(db, "admin", admin=True)
    make_user(db, "alice")
    make_user(db, "bob")
    return application


def _client(app: FastAPI, username: str | None = None) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    return client, (login(client, username) if username else "")


# -- markup ------------------------------------------------------------------------------


def test_plain_text_becomes_paragraphs_emphasis_and_safe_links() -> None:
    html = markup.render("Hi *there* and **you**\nsee https://example.com/a?b=1&c=2.\n\nBye")
    assert html == ('<p>Hi <em>there</em> and <strong>you</strong><br>see '
                    '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
                    'https://example.com/a?b=1&amp;c=2</a>.</p><p>Bye</p>')


XSS = [
    "<script>alert(1)</script>",
    "<ScRiPt src=//evil.example/x.js></ScRiPt>",
    "<svg onload=alert(1)>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<form action="https://evil.example"><input name=x></form>',
    '<object data="https://evil.example/x.swf"></object>',
    '<a href="/relative" onclick="alert(1)">x</a>',
    "<style>body{display:none}</style>",
]
FORBIDDEN = ("<script", "onload", "onerror", "onclick", "javascript:", "data:text", "<iframe",
             "<base", "<meta", "<form", "<input", "<object", "<svg", "<img", "<style",
             'href="/relative"')


@pytest.mark.parametrize("payload", XSS)
def test_hostile_markup_is_neutralised_when_sanitised(payload: str) -> None:
    cleaned = markup.sanitize(payload).lower()
    assert not any(bad in cleaned for bad in FORBIDDEN), cleaned


@pytest.mark.parametrize("payload", XSS)
def test_hostile_comment_text_renders_as_text(payload: str) -> None:
    rendered = markup.render(payload)
    assert "<a " not in rendered.replace('<a href="https://', "")  # only http(s) links
    for tag in ("<script", "<svg", "<iframe", "<base", "<meta", "<form", "<object", "<img"):
        assert tag not in rendered


@pytest.mark.parametrize("payload", [*XSS, "a *b* https://x.example/?q=<1>&r='2'",
                                     '<a href="https://ok.example" rel="opener">ok</a>',
                                     "<p>one<br>two</p><em>x</em><strong>y</strong>"])
def test_sanitising_is_idempotent(payload: str) -> None:
    once = markup.sanitize(payload)
    assert markup.sanitize(once) == once
    rendered = markup.render(payload)
    assert markup.sanitize(rendered) == rendered


def test_links_carry_nofollow_ugc_noopener() -> None:
    cleaned = markup.sanitize('<a href="https://ok.example" rel="opener" target="_blank">ok</a>')
    assert cleaned == '<a href="https://ok.example" rel="nofollow ugc noopener">ok</a>'


# -- pages -------------------------------------------------------------------------------


def test_empty_article_shows_exact_placeholder_and_login_link(app: FastAPI,
                                                               corpus: Corpus) -> None:
    client, _ = _client(app)
    page = client.get(f"/articles/{corpus.ids['oil']}").text
    assert '<p class="empty">No comments yet...</p>' in page
    assert f'href="/login?next=/articles/{corpus.ids["oil"]}"' in page
    assert 'name="body"' not in page  # no comment form for visitors


def test_block_order_on_article_page_is_kept(app: FastAPI, corpus: Corpus) -> None:
    client, _ = _client(app, "alice")
    page = client.get(f"/articles/{corpus.ids['oil']}").text
    marks = ['id="headline"', 'class="story-meta"', 'class="story-body"', 'class="copyright"',
             'id="hashtags"', 'id="ai-features"', 'id="comments"', 'id="related"']
    positions = [page.index(m) for m in marks]
    assert positions == sorted(positions)


def test_comment_reply_thread_and_count(app: FastAPI, corpus: Corpus) -> None:
    alice, a_token = _client(app, "alice")
    bob, b_token = _client(app, "bob")
    path = f"/articles/{corpus.ids['oil']}"
    first = post(alice, f"{path}/comments", a_token, body="First *take*")
    assert first.status_code == 303
    root_id = int(first.headers["location"].rsplit("-", 1)[1])
    reply = post(bob, f"{path}/comments", b_token, body="A reply", parent_id=str(root_id))
    reply_id = int(reply.headers["location"].rsplit("-", 1)[1])
    deeper = post(alice, f"{path}/comments", a_token, body="Deeper", parent_id=str(reply_id))
    assert deeper.status_code == 303
    page = alice.get(path).text
    assert 'class="comment-count">(3)' in page
    assert "No comments yet..." not in page
    assert "<em>take</em>" in page
    thread = page[page.index('id="comment-' + str(root_id)):]
    replies = thread[thread.index('class="comment-replies"'):]
    assert "A reply" in replies and "Deeper" in replies  # deeper replies join the thread


def test_story_comments(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    response = post(client, f"/stories/{corpus.story_id}/comments", token, body="On the story")
    assert response.status_code == 303
    assert "On the story" in client.get(f"/stories/{corpus.story_id}").text


def test_xss_comment_is_escaped_on_the_page(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    path = f"/articles/{corpus.ids['oil']}"
    payload = '<script>alert(1)</script><svg onload=alert(2)><a href="javascript:x">j</a>'
    post(client, f"{path}/comments", token, body=payload)
    body = client.get(path).text
    block = body[body.index('id="comments"'):body.index('id="related"')]
    assert "<script>alert(1)" not in block and "<svg" not in block
    assert '<a href="javascript:' not in block
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block


def test_edit_and_delete_own_comment(app: FastAPI, corpus: Corpus, db: Database) -> None:
    client, token = _client(app, "alice")
    bob, b_token = _client(app, "bob")
    path = f"/articles/{corpus.ids['oil']}"
    loc = post(client, f"{path}/comments", token, body="Tpyo").headers["location"]
    cid = int(loc.rsplit("-", 1)[1])
    assert "Tpyo" in client.get(f"/comments/{cid}/edit").text
    assert post(client, f"/comments/{cid}/edit", token, body="Typo fixed").status_code == 303
    page = client.get(path).text
    assert "Typo fixed" in page and "(edited)" in page
    post(bob, f"{path}/comments", b_token, body="Reply keeps it", parent_id=str(cid))
    assert post(client, f"/comments/{cid}/delete", token).status_code == 303
    page = client.get(path).text
    assert "[deleted]" in page and "Typo fixed" not in page and "Reply keeps it" in page
    with db.read() as session:
        row = session.get(CommentRow, cid)
        assert row is not None and row.body == "" and row.status == "deleted"


def test_deleted_comment_without_replies_disappears(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    path = f"/articles/{corpus.ids['ferry']}"
    loc = post(client, f"{path}/comments", token, body="Gone soon").headers["location"]
    post(client, f"/comments/{loc.rsplit('-', 1)[1]}/delete", token)
    page = client.get(path).text
    assert "[deleted]" not in page and "No comments yet..." in page


def test_empty_and_oversized_comments_are_refused(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    path = f"/articles/{corpus.ids['oil']}/comments"
    assert post(client, path, token, body="   ").status_code == 400
    too_long = "x" * (markup.MAX_BODY + 1)
    assert post(client, path, token, body=too_long).status_code == 400


def test_comment_without_csrf_or_login_is_refused(app: FastAPI, corpus: Corpus) -> None:
    client, _ = _client(app, "alice")
    path = f"/articles/{corpus.ids['oil']}/comments"
    assert client.post(path, data={"body": "x"}).status_code == 403
    anon = TestClient(app)
    response = anon.post(path, data={"body": "x", "csrf_token": readers.csrf_of(anon, "/login")},
                         follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_rate_limit_per_minute_gives_429(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    path = f"/articles/{corpus.ids['oil']}/comments"
    for i in range(comments.PER_MINUTE):
        assert post(client, path, token, body=f"comment {i}").status_code == 303
    refused = client.post(path, data={"csrf_token": token, "body": "one too many"})
    assert refused.status_code == 429
    assert "at most 5 comments a minute" in refused.text


def test_rate_limit_per_day(db: Database, corpus: Corpus) -> None:
    make_user(db, "carol")
    target = comments.Target(article_id=corpus.ids["oil"])
    with db.write() as session:
        user = session.query(UserRow).filter_by(username="carol").one()
        for i in range(comments.PER_DAY):
            comments.add_comment(session, user, target, f"c{i}",
                                 now=NOW - timedelta(hours=20) + timedelta(minutes=2 * i))
        with pytest.raises(comments.RateLimited, match="a day"):
            comments.add_comment(session, user, target, "again", now=NOW)
        comments.add_comment(session, user, target, "tomorrow", now=NOW + timedelta(hours=5))


def test_reply_to_other_target_is_refused(app: FastAPI, corpus: Corpus) -> None:
    client, token = _client(app, "alice")
    cid = str(_comment(client, token, corpus.ids["oil"], "here"))
    response = post(client, f"/articles/{corpus.ids['ferry']}/comments", token, body="x",
                    parent_id=cid)
    assert response.status_code == 404


# -- reports and moderation ---------------------------------------------------------------


def _comment(client: TestClient, token: str, article_id: int, body: str) -> int:
    loc = post(client, f"/articles/{article_id}/comments", token, body=body).headers["location"]
    return int(loc.rsplit("-", 1)[1])


def test_report_once_and_moderation_hide_restore(app: FastAPI, corpus: Corpus,
                                                 db: Database) -> None:
    alice, a_token = _client(app, "alice")
    bob, b_token = _client(app, "bob")
    admin, m_token = _client(app, "admin")
    aid = corpus.ids["oil"]
    cid = _comment(alice, a_token, aid, "Buy cheap pills")
    first = post(bob, f"/comments/{cid}/report", b_token, reason="spam")
    assert first.status_code == 200 and "Thank you" in first.text
    again = post(bob, f"/comments/{cid}/report", b_token, reason="spam!!")
    assert "already reported" in again.text
    assert post(alice, f"/comments/{cid}/report", a_token).status_code == 400
    queue = admin.get("/admin/moderation").text
    assert "Buy cheap pills" in queue and "1 open report" in queue and "spam" in queue
    assert post(admin, f"/admin/comments/{cid}/hide", m_token).status_code == 303
    page = bob.get(f"/articles/{aid}").text
    assert "Buy cheap pills" not in page and "No comments yet..." in page
    assert "no open reports" in admin.get("/admin/moderation").text
    assert post(alice, f"/comments/{cid}/edit", a_token, body="sneaky").status_code == 403
    assert post(admin, f"/admin/comments/{cid}/restore", m_token).status_code == 303
    assert "Buy cheap pills" in bob.get(f"/articles/{aid}").text


def test_ban_user_hides_comments_and_ends_sessions(app: FastAPI, corpus: Corpus,
                                                    db: Database) -> None:
    alice, a_token = _client(app, "alice")
    admin, m_token = _client(app, "admin")
    aid = corpus.ids["ferry"]
    _comment(alice, a_token, aid, "Troll text")
    with db.read() as session:
        alice_id = session.query(UserRow).filter_by(username="alice").one().id
    assert post(admin, f"/admin/users/{alice_id}/ban", m_token,
                back="/admin/users").status_code == 303
    assert "Troll text" not in admin.get(f"/articles/{aid}").text
    assert "Banned" in admin.get("/admin/users").text
    refused = alice.post(f"/articles/{aid}/comments", data={"csrf_token": a_token, "body": "x"},
                         follow_redirects=False)
    assert refused.status_code in (303, 403)  # the banned session no longer counts
    with db.write() as session:
        user = session.get(UserRow, alice_id)
        assert user is not None
        with pytest.raises(comments.NotAllowed):
            comments.add_comment(session, user, comments.Target(article_id=aid), "x", now=NOW)
    assert post(admin, f"/admin/users/{alice_id}/unban", m_token).status_code == 303


def test_moderation_pages_are_admin_only(app: FastAPI) -> None:
    bob, b_token = _client(app, "bob")
    for path in ("/admin/moderation", "/admin/users", "/admin/sources"):
        assert bob.get(path).status_code == 403
    assert post(bob, "/admin/comments/1/hide", b_token).status_code == 403
    anon = TestClient(app)
    assert anon.get("/admin/moderation", follow_redirects=False).status_code == 303


def test_admin_sources_add_validate_pause(app: FastAPI, settings: Settings) -> None:
    admin, token = _client(app, "admin")
    refused = post(admin, "/admin/sources", token, url="javascript:alert(1)")
    assert refused.status_code == 400 and "cannot be added" in refused.text
    app.state.settings = settings.with_(allow_private_networks=False)
    blocked = post(admin, "/admin/sources", token, url="http://127.0.0.1/feed")
    assert blocked.status_code == 400
    app.state.settings = settings
    ok = post(admin, "/admin/sources", token, url="http://127.0.0.1:9/feed.xml")
    assert ok.status_code == 303
    page = admin.get("/admin/sources").text
    assert "127.0.0.1:9/feed.xml" in page and "As soon as possible" in page
    source_id = page.split('action="/admin/sources/')[1].split("/")[0]
    assert post(admin, f"/admin/sources/{source_id}/pause", token).status_code == 303
    assert "Resume" in admin.get("/admin/sources").text


def test_queue_offers_no_ban_for_an_administrator(app: FastAPI, corpus: Corpus,
                                                  db: Database) -> None:
    admin, m_token = _client(app, "admin")
    bob, b_token = _client(app, "bob")
    cid = _comment(admin, m_token, corpus.ids["oil"], "A note from the editors")
    assert post(bob, f"/comments/{cid}/report", b_token, reason="meh").status_code == 200
    queue = admin.get("/admin/moderation").text
    assert "A note from the editors" in queue and "/ban" not in queue
    with db.read() as session:
        admin_id = session.scalars(select(UserRow.id).where(UserRow.username == "admin")).one()
    refused = post(admin, f"/admin/users/{admin_id}/ban", m_token)
    assert refused.status_code == 400 and "cannot be banned" in refused.text
