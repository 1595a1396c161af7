"""Sources, articles and full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from newsdesk.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite: an external-content FTS5 index kept in step by triggers, so a write
# to ``articles`` and its index commit or roll back together.
_SQLITE_FTS = [
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, outlet, content='articles', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text, outlet)
        VALUES (new.id, new.title, new.text, new.outlet); END""",
    """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text, outlet)
        VALUES ('delete', old.id, old.title, old.text, old.outlet); END""",
    """CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text, outlet)
        VALUES ('delete', old.id, old.title, old.text, old.outlet);
        INSERT INTO articles_fts(rowid, title, text, outlet)
        VALUES (new.id, new.title, new.text, new.outlet); END""",
]

# PostgreSQL: a weighted tsvector maintained as a generated column with a GIN index.
_PG_FTS = [
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(outlet, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(text, '')), 'C')) STORED""",
    "CREATE INDEX ix_articles_search ON articles USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, server_default="feed"),
        sa.Column("title", sa.String(512), nullable=False, server_default=""),
        sa.Column("site_url", sa.String(2048), nullable=False, server_default=""),
        sa.Column("category", sa.String(256), nullable=False, server_default=""),
        sa.Column("etag", sa.String(1024)),
        sa.Column("last_modified", sa.String(128)),
        sa.Column("ttl_minutes", sa.Integer),
        sa.Column("skip_hours", sa.String(128), nullable=False, server_default=""),
        sa.Column("skip_days", sa.String(128), nullable=False, server_default=""),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("next_check_at", UTCDateTime()),
        sa.Column("last_checked_at", UTCDateTime()),
        sa.Column("last_success_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sources_next_check_at", "sources", ["next_check_at"])
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="SET NULL")),
        sa.Column("key_url", sa.String(2048), nullable=False, unique=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False, server_default=""),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("outlet", sa.String(256), nullable=False, server_default=""),
        sa.Column("byline", sa.String(512), nullable=False, server_default=""),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("language", sa.String(16), nullable=False, server_default=""),
        sa.Column("copyright", sa.Text, nullable=False, server_default=""),
        sa.Column("image", sa.String(2048), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("word_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_url", "articles", ["url"])
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])
    op.create_index("ix_articles_ingested_at", "articles", ["ingested_at"])
    op.create_index("ix_articles_published", "articles", ["published_at"])
    op.create_index("ix_articles_outlet_published", "articles", ["outlet", "published_at"])
    statements = _SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else _PG_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("articles_ai", "articles_ad", "articles_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    op.drop_table("articles")
    op.drop_table("sources")
