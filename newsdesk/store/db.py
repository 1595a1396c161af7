"""Database access: one writer, many readers, migrations on open.

SQLite is done the Datasette way: WAL, a single write connection that starts
transactions with ``BEGIN IMMEDIATE`` (so a writer takes the lock up front and
never fails half-way with "database is locked"), and a pool of read connections
that never block on it. PostgreSQL uses one ordinary pooled engine for both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

POOL_SIZE = 32
"""Most PostgreSQL connections one process opens (half kept, half overflow); the web
server runs at most POOL_SIZE // 2 handlers at once, each holding at most two."""

_MIGRATE_LOCK = 0x6E657773  # "news": the advisory lock key that serialises migrations

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def _sqlite_engine(url: str, begin: str) -> Engine:
    database = make_url(url).database
    pooled = {} if not database or database == ":memory:" else {
        "pool_size": POOL_SIZE // 2, "max_overflow": POOL_SIZE // 2}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           **pooled)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below; pysqlite's
        # own implicit BEGIN would be DEFERRED and could deadlock two writers.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """Engines and sessions for one newsdesk database."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, "BEGIN")
        else:
            if parsed.drivername in ("postgresql", "postgres"):
                url = str(parsed.set(drivername="postgresql+psycopg"))
            self.write_engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE // 2,
                                              max_overflow=POOL_SIZE // 2)
            self.read_engine = self.write_engine
        self._writer_lock = threading.Lock()
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest Alembic revision (or to ``revision``, for tests
        of a migration's data step)."""
        cfg = AlembicConfig()
        scripts = resources.files("newsdesk.store") / "migrations"
        cfg.set_main_option("script_location", str(scripts))
        with self.write_engine.begin() as conn:
            if not self.is_sqlite:
                # Several nodes may start at once (web, worker, scheduler): the first
                # migrates, the others wait here and then find the schema at head.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        In-process writers are serialised by a lock, so on SQLite they queue in
        Python instead of spinning on the database lock.
        """
        lock = self._writer_lock if self.is_sqlite else _NULL_LOCK
        with lock, self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; never blocks and is never blocked by the writer."""
        with self._read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL_LOCK = _NullLock()
