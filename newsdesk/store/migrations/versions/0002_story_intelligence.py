"""Story intelligence: duplicates, stories, tags, embeddings, MinHash signatures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from newsdesk.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("lead_article_id", sa.Integer),
        sa.Column("first_outlet", sa.String(256), nullable=False, server_default=""),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("article_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outlet_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("centroid", sa.LargeBinary),
        sa.Column("terms", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_stories_updated_at", "stories", ["updated_at"])
    _add_article_columns()
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
    op.create_index("ix_articles_enriched_at", "articles", ["enriched_at"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(128), nullable=False, unique=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="topic"),
    )
    op.create_table(
        "article_tags",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_article_tags_tag", "article_tags", ["tag_id", "article_id"])
    op.create_table(
        "article_vectors",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("minhash", sa.LargeBinary, nullable=False),
    )


def _add_article_columns() -> None:
    """Add columns in place: a batch "copy and move" on SQLite would drop the FTS triggers."""
    if op.get_bind().dialect.name == "sqlite":
        for ddl in ("story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL",
                    "duplicate_of INTEGER REFERENCES articles(id) ON DELETE SET NULL",
                    "enriched_at DATETIME"):
            op.execute(f"ALTER TABLE articles ADD COLUMN {ddl}")
        return
    op.add_column("articles", sa.Column("story_id", sa.Integer, sa.ForeignKey(
        "stories.id", name="fk_articles_story", ondelete="SET NULL")))
    op.add_column("articles", sa.Column("duplicate_of", sa.Integer, sa.ForeignKey(
        "articles.id", name="fk_articles_duplicate", ondelete="SET NULL")))
    op.add_column("articles", sa.Column("enriched_at", UTCDateTime()))


def downgrade() -> None:
    op.drop_table("article_signatures")
    op.drop_table("article_vectors")
    op.drop_table("article_tags")
    op.drop_table("tags")
    op.drop_index("ix_articles_enriched_at", "articles")
    op.drop_index("ix_articles_duplicate_of", "articles")
    op.drop_index("ix_articles_story_id", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("enriched_at")
        batch.drop_column("duplicate_of")
        batch.drop_column("story_id")
    op.drop_table("stories")
