"""Fixtures for the security suite: an app on a temporary SQLite database.

argon2 runs with tiny parameters here so the suite stays fast; production
parameters are argon2-cffi's defaults (see ``newsdesk.accounts.service``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.web.app import create_app
from newsdesk.web.auth import AuthConfig

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A settable clock for the app (session expiry, throttle windows)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _fast_hashing(fast_hasher: None) -> None:
    """Every security test logs in with the fast hasher (tests/conftest.py)."""


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock) -> FastAPI:
    application = create_app(settings, db)
    application.state.clock = clock
    return application


def configure(app: FastAPI, **changes: object) -> None:
    """Change auth settings of a running test app (registration off, trusted proxy)."""
    current: AuthConfig = app.state.auth
    app.state.auth = replace(current, **changes)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def csrf_from(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page's forms carry (sets the anonymous cookie on first use)."""
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no csrf field on {path} ({response.status_code})"
    return match.group(1)


def register(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_from(client, "/register")
    response = client.post("/register", data={"username": username, "password": password,
                                              "confirm": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def login(client: TestClient, username: str, password: str = PASSWORD,
          **extra: str) -> object:
    token = csrf_from(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, **extra}, follow_redirects=False)


def form_error(html: str) -> str:
    match = re.search(r'class="form-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else ""
