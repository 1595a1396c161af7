"""``newsdesk migrate-db``: SQLite -> PostgreSQL -> SQLite keeps every row, and both still work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from newsdesk import cli
from newsdesk.config import Settings
from newsdesk.model import Article
from newsdesk.store import articles, search
from newsdesk.store.check import check_installation
from newsdesk.store.db import Database
from newsdesk.store.migrate import (
    MigrationError,
    checksum,
    migrate_database,
    normalise,
    tables,
    verify,
)
from newsdesk.store.tables import ArticleRow, CommentRow, StoryRow
from tests import installation
from tests.conftest import _pg_schema


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory,
             embedder: object) -> tuple[Settings, list[int]]:
    return installation.build_template(tmp_path_factory.mktemp("template"), embedder)


def _works(url: str, data_dir: Path) -> None:
    """Search finds the copied articles, the check passes, and new rows get fresh ids."""
    db = Database(url)
    try:
        with db.read() as session:
            titles = {h.article.title for h in search.search(session, "volcano erupts")}
            assert titles == {"Volcano erupts before dawn", "Island volcano erupts"}
            top = int(session.scalar(select(func.max(ArticleRow.id))) or 0)
        report = check_installation(Settings(data_dir=data_dir, database_url=url), db)
        assert report.ok, report.as_dict()
        with db.write() as session:  # PostgreSQL: the sequences moved past the copied ids
            new = articles.save_article(session, Article(
                url="https://wire.example/after", title="After the move", outlet="Wire",
                text="Written after the migration.\nIt must get a fresh id."))
            session.add(CommentRow(user_id=1, article_id=new.article_id, body="New."))
        assert new.status == "created" and new.article_id == top + 1
    finally:
        db.dispose()


def test_round_trip_sqlite_postgresql_sqlite(template: tuple[Settings, list[int]],
                                             tmp_path: Path) -> None:
    settings, _ = template
    source = settings.resolved_database_url
    back = f"sqlite:///{tmp_path / 'back.db'}"
    with _pg_schema() as pg:
        there = migrate_database(source, pg, batch=3)  # tiny batches: several per table
        assert there.identical and there.as_dict()["tables"] == len(tables())
        assert all(t.source_rows for t in there.tables), "every table has rows"
        again = migrate_database(pg, back)
        assert again.identical and again.rows == there.rows
        _works(pg, tmp_path / "pg-node")
    _assert_same(source, back)
    _works(back, tmp_path / "sqlite-node")


def _assert_same(a: str, b: str) -> None:
    one, two = Database(a), Database(b)
    try:
        assert all(t.identical for t in verify(one, two))
    finally:
        one.dispose()
        two.dispose()


def test_duplicate_of_may_point_at_a_later_row(template: tuple[Settings, list[int]]) -> None:
    """The installation has a copy whose original has the higher id (copied in a second pass)."""
    db = Database(template[0].resolved_database_url)
    with db.read() as session:
        forward = session.scalar(select(func.count()).select_from(ArticleRow).where(
            ArticleRow.duplicate_of > ArticleRow.id))
    db.dispose()
    assert forward


def test_non_empty_target_needs_force(template: tuple[Settings, list[int]],
                                      tmp_path: Path) -> None:
    source = template[0].resolved_database_url
    target = f"sqlite:///{tmp_path / 'target.db'}"
    migrate_database(source, target)
    with pytest.raises(MigrationError, match=r"not empty: .*articles \(5\)"):
        migrate_database(source, target)
    report = migrate_database(source, target, force=True)
    assert report.identical
    _assert_same(source, target)


def test_bad_source_and_same_database_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(MigrationError, match="no SQLite database"):
        migrate_database(f"sqlite:///{tmp_path / 'missing.db'}", url)
    Database(url).migrate()
    with pytest.raises(MigrationError, match="same database"):
        migrate_database(url, url)


def test_cli_prints_a_table_and_one_json_line(template: tuple[Settings, list[int]],
                                              tmp_path: Path) -> None:
    source = template[0].resolved_database_url
    target = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"NEWSDESK_DATA_DIR": str(tmp_path), "NEWSDESK_SAMPLE": ""}
    result = CliRunner().invoke(cli.app, ["migrate-db", "--from", source, "--to", target],
                                env=env)
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["identical"] is True and line["tables"] == len(tables()) and line["rows"] > 20
    assert set(line) == {"tables", "rows", "identical", "seconds"}
    assert "article_vectors" in result.stderr and "rebuilds" in result.stderr
    refused = CliRunner().invoke(cli.app, ["migrate-db", "--from", source, "--to", target],
                                 env=env)
    assert refused.exit_code == 1 and "--force" in refused.stderr


def test_values_are_normalised_across_backends() -> None:
    naive = datetime(2025, 1, 2, 3, 4, 5, 6)
    aware = naive.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert normalise(naive) == normalise(aware) == "2025-01-02T03:04:05.000006"
    assert normalise(True) == normalise(1) and normalise(False) == 0
    assert normalise(0.1 + 0.2) == normalise(0.30000000000000004) == "0.3"
    assert normalise(memoryview(b"ab")) == normalise(b"ab")


def test_checksum_ignores_order_but_not_content(tmp_path: Path) -> None:
    one = Database(f"sqlite:///{tmp_path / '1.db'}")
    two = Database(f"sqlite:///{tmp_path / '2.db'}")
    for db, order in ((one, [1, 2]), (two, [2, 1])):
        db.migrate()
        with db.write() as session:
            for n in order:
                session.add(ArticleRow(id=n, key_url=f"u{n}", url=f"u{n}", content_hash="h",
                                       title="t", text="x", ingested_at=installation.T0))
    table = next(t for t in tables() if t.name == "articles")
    assert checksum(one, table) == checksum(two, table)
    with two.write() as session:
        session.get_one(ArticleRow, 2).title = "changed"
    assert checksum(one, table) != checksum(two, table)
    one.dispose()
    two.dispose()


def test_0004_fills_story_topics_from_the_stored_profile(settings: Settings) -> None:
    """Stories clustered before ``topic_id`` existed get the topic their JSON profile names."""
    db = Database(settings.resolved_database_url)
    try:
        db.migrate("0003")
        profiles = ['{"topic": 5, "v": 1}', '{"v": 1}', "not json", '{"topic": "x"}', ""]
        with db.write_engine.begin() as conn:
            for i, terms in enumerate(profiles, start=1):
                conn.execute(text("INSERT INTO stories (id, title, first_outlet, first_seen_at, "
                                  "updated_at, article_count, outlet_count, terms) VALUES "
                                  "(:id, 't', 'o', :at, :at, 1, 1, :terms)"),
                             {"id": i, "at": datetime(2025, 1, 1, tzinfo=UTC), "terms": terms})
        db.migrate()
        with db.read() as session:
            got = dict(session.execute(select(StoryRow.id, StoryRow.topic_id)).all())
        assert got == {1: 5, 2: None, 3: None, 4: None, 5: None}
    finally:
        db.dispose()
