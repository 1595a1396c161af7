"""Move a whole installation between databases (SQLite <-> PostgreSQL) and prove it arrived.

The target gets the same Alembic migrations as any database, then every table
of ``Base.metadata`` is copied in foreign-key order, streamed in batches, in
one target transaction: a failure leaves the target as it was. What is derived
is rebuilt by the target's own schema rather than copied: SQLite's FTS5 index
is filled by the ``articles_ai`` trigger as rows arrive, PostgreSQL's
``search_vector`` is a generated column. PostgreSQL sequences are moved past
the copied ids. The ANN index file is not in the database at all: every node
rebuilds it from ``article_vectors`` (``store.vectors.VectorIndex.open``).

Verification reads both sides again: the same row count and the same
order-independent checksum per table, over values normalised so that SQLite
and PostgreSQL spellings of one value (a datetime, a boolean, a float) agree.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from newsdesk.store.db import Database
from newsdesk.store.tables import Base

BATCH = 1000
_MOD = 2**128

Progress = Callable[[str, int], None]
"""Called with a table name and the number of rows just copied."""


class MigrationError(Exception):
    """The migration cannot start (bad URLs, non-empty target) or a table failed to copy."""


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides after the copy."""

    name: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def identical(self) -> bool:
        return (self.source_rows == self.target_rows
                and self.source_checksum == self.target_checksum)


@dataclass
class MigrationReport:
    tables: list[TableCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)

    @property
    def identical(self) -> bool:
        return all(t.identical for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {"tables": len(self.tables), "rows": self.rows, "identical": self.identical,
                "seconds": round(self.seconds, 2)}


def tables() -> list[Table]:
    """Every newsdesk table, parents before children."""
    return list(Base.metadata.sorted_tables)


def redact(url: str) -> str:
    """A database URL fit for printing: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def migrate_database(source_url: str, target_url: str, *, force: bool = False,
                     batch: int = BATCH, progress: Progress | None = None) -> MigrationReport:
    """Copy every row from ``source_url`` to ``target_url`` and verify the copy.

    The target is migrated to the newest schema first; it must hold no rows
    unless ``force`` (then they are deleted, in the same transaction as the copy).
    """
    _check_urls(source_url, target_url)
    started = time.monotonic()
    source, target = Database(source_url), Database(target_url)
    try:
        source.migrate()  # the same schema on both sides, whatever version the source had
        target.migrate()
        with target.write_engine.begin() as conn:
            _prepare_target(conn, force)
            for table in tables():
                _copy_table(source, conn, table, batch, progress)
            if target.dialect == "postgresql":
                _reset_sequences(conn)
        report = MigrationReport(tables=verify(source, target))
    finally:
        source.dispose()
        target.dispose()
    report.seconds = time.monotonic() - started
    return report


def _check_urls(source_url: str, target_url: str) -> None:
    source = make_url(source_url)
    if source == make_url(target_url):
        raise MigrationError("source and target are the same database")
    if source.get_backend_name() == "sqlite" and not (
            source.database and Path(source.database).is_file()):
        raise MigrationError(f"no SQLite database at {source.database or '(memory)'}")


def _prepare_target(conn: Connection, force: bool) -> None:
    filled = {t.name: n for t in tables() if (n := _count(conn, t))}
    if not filled:
        return
    if not force:
        listed = ", ".join(f"{name} ({n})" for name, n in filled.items())
        raise MigrationError(f"the target is not empty: {listed}; use --force to replace it")
    for table in reversed(tables()):
        conn.execute(delete(table))


def _count(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _self_references(table: Table) -> list[str]:
    """Columns pointing into their own table (``articles.duplicate_of``, ``comments.parent_id``).

    A row may point at a row with a higher id (a backfilled original), which
    is not there yet when rows go in id order: these columns are filled in a
    second pass, once every row of the table exists.
    """
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _copy_table(source: Database, conn: Connection, table: Table, batch: int,
                progress: Progress | None) -> None:
    deferred = _self_references(table)
    try:
        for rows in _stream(source, table, batch):
            conn.execute(insert(table), [{**r, **dict.fromkeys(deferred)} for r in rows])
            if progress:
                progress(table.name, len(rows))
        if deferred:
            _fill_self_references(source, conn, table, deferred, batch)
    except DBAPIError as exc:
        raise MigrationError(f"copying {table.name}: {exc.orig or exc}") from exc


def _stream(db: Database, table: Table, batch: int) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order, ``batch`` at a time, without loading it all."""
    stmt = select(table).order_by(*table.primary_key.columns)
    with db.read_engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for part in result.mappings().partitions(batch):
            yield [dict(r) for r in part]


def _fill_self_references(source: Database, conn: Connection, table: Table,
                          columns: Sequence[str], batch: int) -> None:
    pk = [c.name for c in table.primary_key.columns]
    stmt = update(table).where(*(table.c[k] == bindparam(f"key_{k}") for k in pk)).values(
        {c: bindparam(f"new_{c}") for c in columns})
    for rows in _stream(source, table, batch):
        params = [{**{f"key_{k}": r[k] for k in pk}, **{f"new_{c}": r[c] for c in columns}}
                  for r in rows if any(r[c] is not None for c in columns)]
        if params:
            conn.execute(stmt, params)


def _reset_sequences(conn: Connection) -> None:
    """Move each serial id's sequence past the copied ids, or the next insert collides."""
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].autoincrement is False or not _is_integer(pk[0].type):
            continue
        seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                          {"t": table.name, "c": pk[0].name})
        if seq is None:
            continue
        top = func.max(pk[0])
        conn.execute(select(func.setval(seq, func.coalesce(top, 1), top.is_not(None))))


def _is_integer(type_: Any) -> bool:
    try:
        return type_.python_type is int
    except NotImplementedError:
        return False


# -- verification -------------------------------------------------------------------------


def verify(source: Database, target: Database, batch: int = BATCH) -> list[TableCheck]:
    """Row counts and order-independent checksums of every table on both sides."""
    out = []
    for table in tables():
        n_src, sum_src = checksum(source, table, batch)
        n_dst, sum_dst = checksum(target, table, batch)
        out.append(TableCheck(table.name, n_src, n_dst, sum_src, sum_dst))
    return out


def checksum(db: Database, table: Table, batch: int = BATCH) -> tuple[int, str]:
    """The row count and a sum of per-row hashes: equal on two backends iff the rows are.

    A sum (mod 2**128) rather than a hash of the ordered rows, so that the two
    backends' orderings of text keys (collations differ) do not matter, and
    rather than XOR, so that two identical rows do not cancel out.
    """
    total = count = 0
    for rows in _stream(db, table, batch):
        for row in rows:
            encoded = json.dumps([normalise(row[c.name]) for c in table.columns])
            digest = hashlib.blake2b(encoded.encode(), digest_size=16).digest()
            total = (total + int.from_bytes(digest, "big")) % _MOD
            count += 1
    return count, f"{total:032x}"


def normalise(value: object) -> object:
    """One spelling per value, whichever backend it came from."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return format(value, ".12g")
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.blake2b(bytes(value), digest_size=16).hexdigest()
    return value
