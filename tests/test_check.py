"""``newsdesk check`` on a real enriched installation: clean, then broken one way at a time."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from newsdesk import cli
from newsdesk.config import Settings
from newsdesk.enrich.embed import Embedder
from newsdesk.store.check import CheckReport, check_installation
from newsdesk.store.db import Database
from newsdesk.store.migrate import migrate_database
from newsdesk.store.vectors import VectorIndex
from tests import installation


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory,
             embedder: object) -> tuple[Settings, list[int]]:
    """Built and enriched once; each test gets a copy (the breakages are destructive)."""
    return installation.build_template(tmp_path_factory.mktemp("template"), embedder)


@pytest.fixture
def ids(template: tuple[Settings, list[int]], settings: Settings, db: Database,
        embedder: Embedder) -> list[int]:
    """The template copied into this test's database (either backend), its HNSW file built."""
    migrate_database(template[0].resolved_database_url, settings.resolved_database_url)
    VectorIndex(settings, db, embedder.dim).open()
    return template[1]


def _failed(report: CheckReport) -> set[str]:
    return {f.name for f in report.problems}


def test_the_built_installation_is_consistent(template: tuple[Settings, list[int]]) -> None:
    settings, _ = template
    db = Database(settings.resolved_database_url)
    report = check_installation(settings, db)
    db.dispose()
    assert report.ok, report.as_dict()
    assert any(n.startswith("ann_index:") for n in {f.name for f in report.findings})


def test_a_migrated_installation_is_consistent(settings: Settings, db: Database,
                                               ids: list[int]) -> None:
    report = check_installation(settings, db)
    assert report.ok, report.as_dict()
    assert report.articles == len(ids)
    names = {f.name for f in report.findings}
    assert {"fulltext_index", "story_aggregates", "duplicate_of_original"} <= names
    assert any(n.startswith("ann_index:") for n in names)


def _exec(db: Database, sql: str, **params: object) -> None:
    with db.write() as session:
        session.execute(text(sql), params)


BREAKAGES: dict[str, tuple[Callable[[Database, list[int]], None], set[str]]] = {
    "story count drifts": (
        lambda db, ids: _exec(db, "UPDATE stories SET article_count = article_count + 5"),
        {"story_aggregates"}),
    "two rows, one canonical URL": (
        lambda db, ids: _exec(db, "UPDATE articles SET canonical_url = 'https://x.example/a' "
                                  "WHERE id IN (:a, :b)", a=ids[0], b=ids[3]),
        {"canonical_url_unique"}),
    "two enriched originals, one text": (
        lambda db, ids: _exec(db, "UPDATE articles SET content_hash = "
                                  "(SELECT content_hash FROM articles WHERE id = :a) "
                                  "WHERE id = :b", a=ids[0], b=ids[3]),
        {"content_hash_unique"}),
    "copy of a copy": (
        lambda db, ids: _exec(db, "UPDATE articles SET duplicate_of = :c WHERE id = :a",
                              a=ids[3], c=ids[1]),
        {"duplicate_of_original"}),
    "enriched without a vector": (
        lambda db, ids: _exec(db, "DELETE FROM article_vectors WHERE article_id = :a",
                              a=ids[3]),
        {"enriched_has_vector"}),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_each_inconsistency_is_reported(settings: Settings, db: Database, ids: list[int],
                                        case: str) -> None:
    breakage, expected = BREAKAGES[case]
    breakage(db, ids)
    failed = _failed(check_installation(settings, db))
    assert expected <= failed
    assert not {n for n in failed if not n.startswith("ann_index:")} - expected - {
        "story_aggregates"}  # nothing unrelated, bar a story the breakage touched


def test_ann_file_out_of_step_with_the_table(settings: Settings, db: Database,
                                             ids: list[int]) -> None:
    _exec(db, "DELETE FROM article_vectors WHERE article_id = :a", a=ids[0])
    report = check_installation(settings, db)
    ann = [f for f in report.problems if f.name.startswith("ann_index:")]
    assert ann and ann[0].examples == [f"index id {ids[0]} has no stored vector"]


def test_fulltext_index_missing_an_article_on_sqlite(settings: Settings, db: Database,
                                                     ids: list[int]) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's tsvector is a generated column: it cannot drift")
    _exec(db, "INSERT INTO articles_fts(articles_fts, rowid, title, text, outlet) "
              "SELECT 'delete', id, title, text, outlet FROM articles WHERE id = :a", a=ids[2])
    report = check_installation(settings, db)
    assert {"fulltext_index", "fulltext_integrity"} <= _failed(report)
    index = next(f for f in report.findings if f.name == "fulltext_index")
    assert index.examples == [f"article {ids[2]} not indexed"]


def _env(settings: Settings) -> dict[str, str]:
    return {"NEWSDESK_DATA_DIR": str(settings.data_dir),
            "NEWSDESK_DATABASE_URL": settings.resolved_database_url, "NEWSDESK_SAMPLE": ""}


def test_cli_exit_code_and_json_line(settings: Settings, db: Database, ids: list[int]) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli.app, ["check", "--json"], env=_env(settings))
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout.strip().splitlines()[-1])["ok"] is True
    _exec(db, "UPDATE stories SET outlet_count = outlet_count + 3")
    broken = runner.invoke(cli.app, ["check", "--json"], env=_env(settings))
    assert broken.exit_code == 1
    line = json.loads(broken.stdout.strip().splitlines()[-1])
    assert line["ok"] is False and line["problems"]["story_aggregates"] >= 1
    table = runner.invoke(cli.app, ["check"], env=_env(settings))
    assert table.exit_code == 1 and "problems" in table.stdout
