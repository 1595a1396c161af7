"""The dialect's own INSERT, for ``ON CONFLICT`` upserts on SQLite and PostgreSQL alike.

Concurrent workers (several Celery processes on PostgreSQL) may write the same
row at the same moment; "select, then insert if missing" then fails one of them
on a unique key. ``INSERT ... ON CONFLICT`` lets the database settle it.
Both dialects spell it the same way in SQLAlchemy, only the import differs.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsdesk.store.tables import Base


def insert_for(session: Session, entity: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``entity``'s table with ``on_conflict_do_*`` for this session's backend."""
    table = Base.metadata.tables[entity.__tablename__]
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
