from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from newsdesk.config import Settings
from newsdesk.store.db import Database
from tests.fixtureserver import FixtureServer

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seed" / "000_af01607751a1112c.txt"
DATA = SHARED / "data"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    yield srv
    srv.stop()


# NEWSDESK_TEST_BACKEND=postgresql runs every test that uses ``settings`` or
# ``strict_settings`` against PostgreSQL (a fresh schema each): `make test` runs
# the suite on both backends, the same code and the same tests.
BACKEND = os.environ.get("NEWSDESK_TEST_BACKEND", "sqlite")


@pytest.fixture
def backend_url(tmp_path: Path) -> Iterator[str]:
    """The database a test's settings point at: SQLite in tmp_path, or a PostgreSQL schema."""
    if BACKEND != "postgresql":
        yield ""
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, backend_url: str) -> Settings:
    """Settings for a test: private networks allowed (the fixture server is on loopback)."""
    return Settings(
        data_dir=tmp_path,
        database_url=backend_url,
        allow_private_networks=True,
        connect_timeout=2.0,
        total_timeout=5.0,
        sample="",
    )


@pytest.fixture
def strict_settings(tmp_path: Path, backend_url: str) -> Settings:
    """Settings as a real deployment has them: private networks refused."""
    return Settings(data_dir=tmp_path, database_url=backend_url, allow_private_networks=False,
                    connect_timeout=2.0, total_timeout=5.0, sample="")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A migrated database on the test's backend (see ``backend_url``)."""
    database = Database(settings.resolved_database_url)
    database.migrate()
    yield database
    database.dispose()


PG_URL = os.environ.get("NEWSDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql://", "postgresql://", 1),
                             connect_timeout=2):
            return True
    except Exception:
        return False


@contextmanager
def _pg_schema() -> Iterator[str]:
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture
def db_on_each_backend(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend in turn, whatever NEWSDESK_TEST_BACKEND says."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
"""argon2 with tiny parameters: tests log in thousands of times; production uses the defaults."""


@pytest.fixture
def fast_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap the account service's hasher for the fast one during a test."""
    from newsdesk.accounts import service

    monkeypatch.setattr(service, "HASHER", FAST_HASHER)


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The packaged all-MiniLM-L6-v2 on onnxruntime, loaded once for the whole run."""
    from newsdesk.enrich.embed import load_embedder

    return load_embedder()
