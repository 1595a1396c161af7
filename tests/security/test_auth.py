"""Accounts and sessions under attack: registration, login, throttling, CSRF, redirects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from newsdesk.accounts import service
from newsdesk.store.db import Database
from newsdesk.store.tables import (
    ApiTokenRow,
    FollowRow,
    LoginAttemptRow,
    UserRow,
    UserSessionRow,
)
from newsdesk.web import auth
from tests.security.conftest import (
    PASSWORD,
    Clock,
    configure,
    csrf_from,
    form_error,
    login,
    register,
)


def _count(db: Database, table: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _user(db: Database, name: str) -> UserRow | None:
    with db.read() as session:
        return service.find_user(session, name)


def _cookie_header(response: object, name: str) -> str:
    headers = getattr(response, "headers")
    for value in headers.get_list("set-cookie"):
        if value.startswith(f"{name}="):
            return str(value)
    return ""


# -- register / login / logout -----------------------------------------------------------


def test_first_user_is_admin_second_is_not(app: FastAPI, db: Database) -> None:
    register(TestClient(app), "alice")
    register(TestClient(app), "bob")
    alice, bob = _user(db, "alice"), _user(db, "bob")
    assert alice is not None and alice.is_admin
    assert bob is not None and not bob.is_admin


def test_password_is_stored_as_argon2id(app: FastAPI, db: Database) -> None:
    register(TestClient(app), "alice")
    user = _user(db, "alice")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_register_then_account_page_shows_user(client: TestClient) -> None:
    register(client, "alice")
    page = client.get("/account")
    assert page.status_code == 200
    assert "alice" in page.text and "administrator" in page.text
    assert 'href="/account"' in client.get("/").text  # header shows the logged-in user


@pytest.mark.parametrize(("username", "password", "confirm"), [
    ("", PASSWORD, PASSWORD), ("a" * 65, PASSWORD, PASSWORD), ("bad name", PASSWORD, PASSWORD),
    ("<script>", PASSWORD, PASSWORD), ("ok", "short", "short"), ("ok", PASSWORD, "different!"),
])
def test_register_validation(client: TestClient, db: Database, username: str, password: str,
                             confirm: str) -> None:
    token = csrf_from(client, "/register")
    response = client.post("/register", data={"username": username, "password": password,
                                              "confirm": confirm, "csrf_token": token})
    assert response.status_code == 400
    assert form_error(response.text)
    assert "<script>" not in response.text.split("</header>")[1].replace("&lt;script&gt;", "")
    assert _count(db, UserRow) == 0


def test_usernames_are_unique_ignoring_case(app: FastAPI, db: Database) -> None:
    register(TestClient(app), "alice")
    client = TestClient(app)
    token = csrf_from(client, "/register")
    response = client.post("/register", data={"username": "ALICE", "password": PASSWORD,
                                              "confirm": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and "taken" in form_error(response.text)
    assert _count(db, UserRow) == 1


def test_registration_can_be_switched_off(app: FastAPI, client: TestClient,
                                          db: Database) -> None:
    configure(app, allow_registration=False)
    assert client.get("/register").status_code == 403
    token = csrf_from(client, "/login")
    response = client.post("/register", data={"username": "eve", "password": PASSWORD,
                                              "confirm": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert _count(db, UserRow) == 0


def test_login_and_logout_delete_the_server_session(app: FastAPI, db: Database) -> None:
    register(TestClient(app), "alice")
    client = TestClient(app)
    response = login(client, "alice")
    assert getattr(response, "status_code") == 303
    cookie = client.cookies.get(auth.SESSION_COOKIE)
    assert cookie and _count(db, UserSessionRow) == 2
    with db.read() as session:  # only the hash is stored
        assert session.get(UserSessionRow, service.sha256(cookie)) is not None
        assert session.get(UserSessionRow, cookie) is None
    token = csrf_from(client, "/account")
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert _count(db, UserSessionRow) == 1
    stolen = TestClient(app, cookies={auth.SESSION_COOKIE: cookie})
    assert stolen.get("/account", follow_redirects=False).status_code == 303


def test_login_failure_messages_are_identical(app: FastAPI, db: Database,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    register(TestClient(app), "alice")
    verified: list[str] = []
    real = service._verify
    monkeypatch.setattr(service, "_verify",
                        lambda stored, pw: verified.append(stored) or real(stored, pw))
    wrong = login(TestClient(app), "alice", "wrong password")
    unknown = login(TestClient(app), "nobody", "wrong password")
    assert getattr(wrong, "status_code") == getattr(unknown, "status_code") == 401
    assert form_error(getattr(wrong, "text")) == form_error(getattr(unknown, "text")) != ""
    assert len(verified) == 2  # the unknown user also paid for one hash verification


def test_login_rehashes_when_parameters_change(app: FastAPI, db: Database,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    register(TestClient(app), "alice")
    before = _user(db, "alice")
    monkeypatch.setattr(service, "HASHER", PasswordHasher(time_cost=2, memory_cost=128,
                                                          parallelism=1))
    assert getattr(login(TestClient(app), "alice"), "status_code") == 303
    after = _user(db, "alice")
    assert before is not None and after is not None
    assert after.password_hash != before.password_hash and "t=2" in after.password_hash


def test_banned_user_cannot_log_in_and_loses_session(app: FastAPI, db: Database) -> None:
    client = register(TestClient(app), "alice")
    with db.write() as session:
        user = service.find_user(session, "alice")
        assert user is not None
        user.is_banned = True
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert getattr(login(TestClient(app), "alice"), "status_code") == 401


# -- throttling --------------------------------------------------------------------------


def test_throttle_per_username(app: FastAPI, clock: Clock) -> None:
    register(TestClient(app), "alice")
    for _ in range(5):
        assert getattr(login(TestClient(app), "alice", "wrong pass"), "status_code") == 401
    blocked = login(TestClient(app), "alice")  # even the right password waits
    assert getattr(blocked, "status_code") == 429
    retry = int(getattr(blocked, "headers")["retry-after"])
    assert 0 < retry <= 15 * 60
    clock.now += timedelta(minutes=15, seconds=1)
    assert getattr(login(TestClient(app), "alice"), "status_code") == 303


def test_throttle_per_client_address_ignores_forged_forwarded_for(app: FastAPI) -> None:
    for i in range(5):
        response = login(TestClient(app), f"user{i}", "wrong pass",)
        assert getattr(response, "status_code") == 401
    client = TestClient(app, headers={"X-Forwarded-For": "203.0.113.9"})
    assert getattr(login(client, "fresh", "wrong pass"), "status_code") == 429


def test_throttle_message_same_for_unknown_and_known(app: FastAPI) -> None:
    register(TestClient(app), "alice")
    configure(app, trust_proxy=True)  # a fresh address per try, so only the username counts
    for name in ("alice", "ghost"):
        for i in range(5):
            login(TestClient(app, headers={"X-Forwarded-For": f"198.51.100.{i}"}), name, "bad!")
    known = login(TestClient(app, headers={"X-Forwarded-For": "192.0.2.1"}), "alice")
    unknown = login(TestClient(app, headers={"X-Forwarded-For": "192.0.2.2"}), "ghost")
    assert getattr(known, "status_code") == getattr(unknown, "status_code") == 429
    assert form_error(getattr(known, "text")) == form_error(getattr(unknown, "text"))


def test_old_attempts_are_pruned(app: FastAPI, db: Database, clock: Clock) -> None:
    login(TestClient(app), "ghost", "wrong pass")
    clock.now += timedelta(hours=1)
    login(TestClient(app), "ghost2", "wrong pass")
    assert _count(db, LoginAttemptRow) == 2  # the first pair pruned, the new pair kept


# -- sessions and cookies ------------------------------------------------------------------


def test_session_expires(app: FastAPI, clock: Clock) -> None:
    client = register(TestClient(app), "alice")
    assert client.get("/account").status_code == 200
    clock.now += timedelta(days=31)
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount"


def test_cookie_flags_on_http(app: FastAPI) -> None:
    client = TestClient(app)
    register(client, "alice")
    response = login(TestClient(app), "alice")
    header = _cookie_header(response, auth.SESSION_COOKIE).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert "secure" not in header
    parsed = SimpleCookie()
    parsed.load(_cookie_header(response, auth.SESSION_COOKIE))
    assert len(parsed[auth.SESSION_COOKIE].value) >= 43  # token_urlsafe(32)


def test_cookie_secure_on_https(app: FastAPI) -> None:
    register(TestClient(app), "alice")
    response = login(TestClient(app, base_url="https://testserver"), "alice")
    assert "secure" in _cookie_header(response, auth.SESSION_COOKIE).lower()


@pytest.mark.parametrize(("trusted", "secure"), [(False, False), (True, True)])
def test_forwarded_proto_only_from_trusted_proxy(app: FastAPI, trusted: bool,
                                                 secure: bool) -> None:
    register(TestClient(app), "alice")
    configure(app, trust_proxy=trusted)
    client = TestClient(app, headers={"X-Forwarded-Proto": "https"})
    token = csrf_from(client, "/login")
    # the anonymous CSRF cookie is Secure when trusted; TestClient speaks http, so pass it
    response = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False,
                           headers={"Origin": "https://testserver" if trusted
                                    else "http://testserver",
                                    "Cookie": f"{auth.ANON_CSRF_COOKIE}={token}"})
    assert response.status_code == 303
    assert ("secure" in _cookie_header(response, auth.SESSION_COOKIE).lower()) is secure


def test_login_rotates_session(app: FastAPI) -> None:
    register(TestClient(app), "alice")
    client = TestClient(app)
    login(client, "alice")
    first = client.cookies.get(auth.SESSION_COOKIE)
    login(client, "alice")
    assert client.cookies.get(auth.SESSION_COOKIE) != first


# -- change password, delete account, tokens -------------------------------------------


def test_change_password_ends_other_sessions(app: FastAPI) -> None:
    me = register(TestClient(app), "alice")
    other = TestClient(app)
    login(other, "alice")
    token = csrf_from(me, "/account")
    bad = me.post("/account/password", data={"current": "nope nope", "new": "new password 1",
                                             "confirm": "new password 1", "csrf_token": token})
    assert bad.status_code == 400 and form_error(bad.text)
    ok = me.post("/account/password", data={"current": PASSWORD, "new": "new password 1",
                                            "confirm": "new password 1", "csrf_token": token},
                 follow_redirects=False)
    assert ok.status_code == 303
    assert me.get("/account").status_code == 200
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert getattr(login(TestClient(app), "alice"), "status_code") == 401
    assert getattr(login(TestClient(app), "alice", "new password 1"), "status_code") == 303


def test_delete_account_needs_password_and_removes_data(app: FastAPI, db: Database) -> None:
    client = register(TestClient(app), "alice")
    register(TestClient(app), "bob")
    token = csrf_from(client, "/account")
    client.post("/account/tokens", data={"label": "phone", "csrf_token": token})
    alice = _user(db, "alice")
    assert alice is not None
    with db.write() as session:
        session.add(FollowRow(user_id=alice.id, kind="tag", target="ferries", mode="follow"))
    refused = client.post("/account/delete", data={"password": "wrong one", "csrf_token": token})
    assert refused.status_code == 400 and _user(db, "alice") is not None
    done = client.post("/account/delete", data={"password": PASSWORD, "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303
    assert _user(db, "alice") is None and _user(db, "bob") is not None
    assert _count(db, ApiTokenRow) == 0 and _count(db, FollowRow) == 0
    assert _count(db, UserSessionRow) == 1  # bob's
    assert client.get("/account", follow_redirects=False).status_code == 303


def _whoami_app(app: FastAPI) -> None:
    def whoami(user: UserRow = Depends(auth.require_user)) -> dict[str, str]:
        return {"user": user.username}

    def admin_only(user: UserRow = Depends(auth.require_admin)) -> dict[str, str]:
        return {"admin": user.username}

    app.add_api_route("/api/test/whoami", whoami)
    app.add_api_route("/api/test/admin", admin_only)


def test_api_tokens_issue_use_revoke(app: FastAPI, db: Database) -> None:
    _whoami_app(app)
    client = register(TestClient(app), "alice")
    register(TestClient(app), "bob")
    token = csrf_from(client, "/account")
    page = client.post("/account/tokens", data={"label": "cli", "csrf_token": token})
    issued = page.text.split('id="new-token">')[1].split("<")[0]
    with db.read() as session:
        row = session.scalars(select(ApiTokenRow)).one()
        assert row.token_hash == service.sha256(issued) and issued not in row.token_hash
    bearer = TestClient(app, headers={"Authorization": f"Bearer {issued}"})
    assert bearer.get("/api/test/whoami").json() == {"user": "alice"}
    bob = TestClient(app)
    login(bob, "bob")
    bob_token = csrf_from(bob, "/account")
    assert bob.post(f"/account/tokens/{row.id}/revoke",
                    data={"csrf_token": bob_token}).status_code == 404
    assert client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    denied = bearer.get("/api/test/whoami")
    assert denied.status_code == 401 and denied.json()["error"]["code"]


def test_require_admin(app: FastAPI) -> None:
    _whoami_app(app)
    admin = register(TestClient(app), "alice")
    reader = register(TestClient(app), "bob")
    assert admin.get("/api/test/admin").status_code == 200
    assert reader.get("/api/test/admin").status_code == 403
    assert TestClient(app).get("/api/test/admin").status_code == 401


# -- CSRF --------------------------------------------------------------------------------


def test_post_without_csrf_token_is_403(app: FastAPI, db: Database) -> None:
    client = register(TestClient(app), "alice")
    assert client.post("/account/tokens", data={"label": "x"}).status_code == 403
    assert client.post("/account/tokens", data={"label": "x", "csrf_token": "forged"}
                       ).status_code == 403
    assert client.post("/logout").status_code == 403
    assert _count(db, ApiTokenRow) == 0


def test_csrf_token_in_header_works(app: FastAPI, db: Database) -> None:
    client = register(TestClient(app), "alice")
    token = csrf_from(client, "/account")
    assert client.post("/account/tokens", data={"label": "x"},
                       headers={"X-CSRF-Token": token}).status_code == 200
    assert _count(db, ApiTokenRow) == 1


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"}, {"Origin": "null"},
    {"Origin": "http://testserver.evil.example"}, {"Origin": "https://testserver"},
    {"Referer": "https://evil.example/page"},
])
def test_foreign_origin_is_403_even_with_token(app: FastAPI, db: Database,
                                               headers: dict[str, str]) -> None:
    client = register(TestClient(app), "alice")
    token = csrf_from(client, "/account")
    response = client.post("/account/tokens", data={"label": "x", "csrf_token": token},
                           headers=headers)
    assert response.status_code == 403
    assert _count(db, ApiTokenRow) == 0


def test_same_origin_with_token_passes(app: FastAPI) -> None:
    client = register(TestClient(app), "alice")
    token = csrf_from(client, "/account")
    response = client.post("/account/tokens", data={"label": "x", "csrf_token": token},
                           headers={"Origin": "http://testserver",
                                    "Referer": "http://testserver/account"})
    assert response.status_code == 200


def test_login_form_needs_csrf_token(app: FastAPI) -> None:
    register(TestClient(app), "alice")
    client = TestClient(app)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert auth.SESSION_COOKIE not in client.cookies


def test_session_csrf_token_of_another_user_is_refused(app: FastAPI, db: Database) -> None:
    alice = register(TestClient(app), "alice")
    bob = register(TestClient(app), "bob")
    bobs = csrf_from(bob, "/account")
    assert alice.post("/account/tokens", data={"label": "x", "csrf_token": bobs}
                      ).status_code == 403


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, also inside included routers (FastAPI >= 0.13x
    keeps them nested instead of copying them onto the app)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path_format, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + getattr(context, "prefix", ""))


def test_every_state_changing_route_demands_csrf(app: FastAPI) -> None:
    """Walks the whole app, including routes other modules add: none accepts a bare POST."""
    client = register(TestClient(app), "alice")
    checked = 0
    for full_path, route in _api_routes(list(app.routes)):
        for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            path = re.sub(r"\{[^}]+\}", "1", full_path)
            response = client.request(method, path, data={"x": "1"})
            assert response.status_code == 403, (method, full_path, response.status_code)
            checked += 1
    assert checked >= 5


# -- redirects ---------------------------------------------------------------------------


BAD_NEXT = ["//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example",
            "https://evil.example", "%2F%2Fevil.example", "/%2F/evil.example",
            "/%5Cevil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
            "/\t/evil.example", " //evil.example", "///evil.example", "//%09/evil.example",
            "data:text/html,<script>alert(1)</script>", "evil.example", "/%252F%252Fevil"]


@pytest.mark.parametrize("target", BAD_NEXT)
def test_next_never_leaves_the_site(app: FastAPI, target: str) -> None:
    register(TestClient(app), "alice")
    response = login(TestClient(app), "alice", next=target)
    assert getattr(response, "status_code") == 303
    assert getattr(response, "headers")["location"] == "/"


@pytest.mark.parametrize("target", BAD_NEXT)
def test_next_in_query_string_is_dropped_from_form(client: TestClient, target: str) -> None:
    page = client.get("/login", params={"next": target})
    assert 'name="next" value="/"' in page.text


def test_encoded_next_in_raw_query(client: TestClient) -> None:
    page = client.get("/login?next=%2F%2Fevil.example")
    assert 'name="next" value="/"' in page.text


@pytest.mark.parametrize("target", ["/account", "/articles/3?page=2", "/tags/ferries#top"])
def test_next_on_site_is_kept(app: FastAPI, target: str) -> None:
    register(TestClient(app), "alice")
    response = login(TestClient(app), "alice", next=target)
    assert getattr(response, "headers")["location"] == target


def test_login_redirect_preserves_path_only(client: TestClient) -> None:
    response = client.get("/account?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%3Fx%3D1"
    assert auth.safe_next("/account?x=1") == "/account?x=1"
