"""Security headers on every kind of response: pages, redirects, errors, static files."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.security.conftest import csrf_from, register


def _assert_hardened(response: Any) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "base-uri 'none'" in csp and "form-action 'self'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert response.headers.get("x-frame-options") == "DENY"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/", 200), ("GET", "/login", 200), ("GET", "/register", 200),
    ("GET", "/account", 303), ("GET", "/no-such-page", 404), ("GET", "/static/style.css", 200),
    ("GET", "/static/..%2fapp.py", 404), ("GET", "/api/articles", 200),
    ("GET", "/api/articles/999", 404), ("POST", "/logout", 403), ("PUT", "/login", 405),
    ("GET", "/articles/not-a-number", 404), ("GET", "/search?page=x", 400),
])
def test_headers_on_every_response(client: TestClient, method: str, path: str,
                                   status: int) -> None:
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    _assert_hardened(response)


def test_headers_on_413_and_429(app: FastAPI) -> None:
    client = TestClient(app)
    _assert_hardened(client.post("/login", content=b"x" * (2 * 1024 * 1024)))
    from tests.security.conftest import login

    for _ in range(6):
        last = login(TestClient(app), "ghost", "wrong pass")
    assert getattr(last, "status_code") == 429
    _assert_hardened(last)


def test_headers_on_login_redirect_and_account_pages(app: FastAPI) -> None:
    client = register(TestClient(app), "alice")
    account = client.get("/account")
    _assert_hardened(account)
    assert account.headers["cache-control"] == "no-store"
    token = csrf_from(client, "/account")
    _assert_hardened(client.post("/logout", data={"csrf_token": token}, follow_redirects=False))


def test_nonce_is_fresh_and_only_scripts_with_it(client: TestClient) -> None:
    first = client.get("/login").headers["content-security-policy"]
    second = client.get("/login").headers["content-security-policy"]
    assert first != second and "'nonce-" in first


def test_error_pages_do_not_reflect_markup(client: TestClient) -> None:
    response = client.get("/<script>alert(1)</script>")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text
