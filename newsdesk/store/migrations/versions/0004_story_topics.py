"""Story topics: ``stories.topic_id``, the clusterer's second level, as a column.

The clusterer has always put each story into a topic (a group of stories on one
subject) and kept the key inside ``stories.terms``; as a column, with an
index, the story page can list the other stories of its topic, and a restart
can continue topic keys after the largest one ever given out. Existing rows
are filled from the key stored in ``terms``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("stories", sa.Column("topic_id", sa.Integer, nullable=True))
    op.create_index("ix_stories_topic", "stories", ["topic_id", "updated_at"])
    stories = sa.table("stories", sa.column("id", sa.Integer), sa.column("terms", sa.Text),
                       sa.column("topic_id", sa.Integer))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.select(stories.c.id, stories.c.terms).where(stories.c.id > last)
                            .order_by(stories.c.id).limit(BATCH)).all()
        if not rows:
            break
        for story_id, terms in rows:
            topic = _topic_key(terms)
            if topic is not None:
                bind.execute(stories.update().where(stories.c.id == story_id)
                             .values(topic_id=topic))
        last = rows[-1][0]


def _topic_key(terms: str | None) -> int | None:
    """The ``topic`` the clusterer stored in a story's JSON profile, if any."""
    try:
        topic = json.loads(terms or "{}").get("topic")
    except (ValueError, AttributeError):
        return None
    return topic if isinstance(topic, int) and not isinstance(topic, bool) else None


def downgrade() -> None:
    op.drop_index("ix_stories_topic", "stories")
    op.drop_column("stories", "topic_id")
