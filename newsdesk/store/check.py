"""``newsdesk check``: is the installation consistent?

Each check is one set-based query that returns the offending rows (normally
none), so the whole run stays a handful of table scans at 10k+ articles. It
covers what the schema cannot enforce: an article stored twice under two keys,
copy groups pointing at copies, story aggregates drifting from their articles
(two workers clustering at once), enriched articles missing their vector or
story, the full-text index out of step with ``articles``, and the ANN index
file holding other ids than ``article_vectors``.

Story aggregates are checked as bounds, not equalities: a story counts the
articles the clusterer absorbed, which are all its originals, none of the
copies joined later (they inherit the original's story), but possibly an
article that was absorbed first and re-pointed as a copy when an earlier
original arrived (a backfill). So ``article_count`` lies between the number
of its originals and of all its members, and likewise the outlets and times;
a lost update between two workers falls below the lower bound.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from newsdesk.config import Settings
from newsdesk.store.db import Database
from newsdesk.store.vectors import DEFAULT_MODEL, VectorIndex

EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One check's outcome: how many offending rows, and a few of them to look at."""

    name: str
    description: str
    problems: int
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problems == 0


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    articles: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "articles": self.articles, "checks": len(self.findings),
                "problems": {f.name: f.problems for f in self.problems},
                "examples": {f.name: f.examples for f in self.problems},
                "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class _Query:
    name: str
    description: str
    sql: str
    example: str  # format string over the row's columns


QUERIES: tuple[_Query, ...] = (
    _Query("key_url_unique", "no two articles share a key URL",
           "SELECT key_url, count(*) FROM articles GROUP BY key_url HAVING count(*) > 1",
           "{0} stored {1} times"),
    _Query("canonical_url_unique", "no two articles share a canonical URL",
           "SELECT canonical_url, count(*) FROM articles WHERE canonical_url <> '' "
           "GROUP BY canonical_url HAVING count(*) > 1", "{0} stored {1} times"),
    _Query("content_hash_unique",
           "no two originals share a text (within an outlet, or once enriched)",
           "SELECT content_hash, count(*) FROM articles WHERE duplicate_of IS NULL "
           "GROUP BY content_hash HAVING count(*) > 1 AND (count(enriched_at) = count(*) "
           "OR count(DISTINCT outlet) < count(*))", "text {0:.12} in {1} originals"),
    _Query("duplicate_of_original", "duplicate_of points at an existing original",
           "SELECT a.id, a.duplicate_of FROM articles a "
           "LEFT JOIN articles o ON o.id = a.duplicate_of WHERE a.duplicate_of IS NOT NULL "
           "AND (o.id IS NULL OR o.duplicate_of IS NOT NULL OR a.duplicate_of = a.id)",
           "article {0} -> {1}"),
    _Query("story_exists", "every article's story exists",
           "SELECT a.id, a.story_id FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
           "WHERE a.story_id IS NOT NULL AND s.id IS NULL", "article {0} in story {1}"),
    _Query("enriched_has_vector", "every enriched article has a vector",
           "SELECT a.id FROM articles a WHERE a.enriched_at IS NOT NULL AND NOT EXISTS "
           "(SELECT 1 FROM article_vectors v WHERE v.article_id = a.id)", "article {0}"),
    _Query("enriched_has_story", "every enriched article has a story or is a copy",
           "SELECT id FROM articles WHERE enriched_at IS NOT NULL AND story_id IS NULL "
           "AND duplicate_of IS NULL", "article {0}"),
    _Query("story_aggregates",
           "story counts and first/last times lie between its originals' and all its members'",
           "SELECT s.id, s.article_count, coalesce(m.n_orig, 0), coalesce(m.n_all, 0), "
           "s.outlet_count, coalesce(m.o_orig, 0), coalesce(m.o_all, 0), "
           "s.first_seen_at, m.first_all, m.first_orig, s.updated_at, m.last_orig, m.last_all "
           "FROM stories s LEFT JOIN (SELECT story_id, count(*) AS n_all, "
           "count(CASE WHEN duplicate_of IS NULL THEN 1 END) AS n_orig, "
           "count(DISTINCT CASE WHEN outlet <> '' THEN outlet END) AS o_all, "
           "count(DISTINCT CASE WHEN outlet <> '' AND duplicate_of IS NULL THEN outlet END) "
           "AS o_orig, min(coalesce(published_at, ingested_at)) AS first_all, "
           "min(CASE WHEN duplicate_of IS NULL THEN coalesce(published_at, ingested_at) END) "
           "AS first_orig, "
           "max(CASE WHEN duplicate_of IS NULL THEN coalesce(published_at, ingested_at) END) "
           "AS last_orig, max(coalesce(published_at, ingested_at)) AS last_all "
           "FROM articles WHERE story_id IS NOT NULL GROUP BY story_id) m ON m.story_id = s.id "
           "WHERE s.article_count < coalesce(m.n_orig, 0) "
           "OR s.article_count > coalesce(m.n_all, 0) "
           "OR s.outlet_count < coalesce(m.o_orig, 0) OR s.outlet_count > coalesce(m.o_all, 0) "
           "OR s.first_seen_at < m.first_all OR s.first_seen_at > m.first_orig "
           "OR s.updated_at < m.last_orig OR s.updated_at > m.last_all",
           "story {0}: article_count {1} (members {2}..{3}), outlet_count {4} ({5}..{6}), "
           "first_seen {7} ({8}..{9}), updated {10} ({11}..{12})"),
    _Query("story_lead_exists", "every story's lead article exists",
           "SELECT s.id, s.lead_article_id FROM stories s "
           "LEFT JOIN articles a ON a.id = s.lead_article_id "
           "WHERE s.lead_article_id IS NOT NULL AND a.id IS NULL", "story {0} lead {1}"),
    _Query("article_tags_refs", "article_tags link existing articles and tags",
           "SELECT x.article_id, x.tag_id FROM article_tags x "
           "LEFT JOIN articles a ON a.id = x.article_id LEFT JOIN tags t ON t.id = x.tag_id "
           "WHERE a.id IS NULL OR t.id IS NULL", "article {0} tag {1}"),
    _Query("tag_slug_unique", "no two tags share a slug",
           "SELECT slug, count(*) FROM tags GROUP BY slug HAVING count(*) > 1",
           "#{0} stored {1} times"),
    _Query("vectors_refs", "article_vectors and article_signatures belong to existing articles",
           "SELECT 'vector', v.article_id FROM article_vectors v "
           "LEFT JOIN articles a ON a.id = v.article_id WHERE a.id IS NULL UNION ALL "
           "SELECT 'signature', g.article_id FROM article_signatures g "
           "LEFT JOIN articles a ON a.id = g.article_id WHERE a.id IS NULL", "{0} of {1}"),
)


def check_installation(settings: Settings, db: Database) -> CheckReport:
    """Run every check; the report lists each one with its problem count."""
    started = time.monotonic()
    report = CheckReport()
    with db.read() as session:
        report.articles = int(session.execute(text("SELECT count(*) FROM articles")).scalar() or 0)
        report.findings = [_run(session, q) for q in QUERIES]
        report.findings.append(_fts_sqlite(session) if db.is_sqlite else _fts_postgresql(session))
        report.findings.extend(_ann_files(settings, db, session))
    if db.is_sqlite:
        report.findings.append(_fts_integrity(db))
    report.seconds = time.monotonic() - started
    return report


def _run(session: Session, query: _Query) -> Finding:
    rows = session.execute(text(query.sql)).all()
    return _finding(query.name, query.description, [query.example.format(*r) for r in rows])


def _finding(name: str, description: str, problems: Sequence[str]) -> Finding:
    return Finding(name, description, len(problems), list(problems[:EXAMPLES]))


def _fts_sqlite(session: Session) -> Finding:
    """FTS5 keeps one ``articles_fts_docsize`` row per indexed document: compare the id sets."""
    missing = session.scalars(text(
        "SELECT id FROM articles EXCEPT SELECT id FROM articles_fts_docsize")).all()
    stray = session.scalars(text(
        "SELECT id FROM articles_fts_docsize EXCEPT SELECT id FROM articles")).all()
    return _finding("fulltext_index", "the FTS5 index holds exactly one entry per article",
                    [f"article {i} not indexed" for i in missing]
                    + [f"index entry {i} without an article" for i in stray])


def _fts_integrity(db: Database) -> Finding:
    """FTS5's own integrity check against the content table (catches stale entries).

    It is an INSERT of a command row, so it runs in a write transaction; it
    changes nothing.
    """
    try:
        with db.write() as session:
            session.execute(text(
                "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"))
    except DBAPIError as exc:
        return _finding("fulltext_integrity", "the FTS5 index matches the articles' text",
                        [str(exc.orig or exc)])
    return _finding("fulltext_integrity", "the FTS5 index matches the articles' text", [])


def _fts_postgresql(session: Session) -> Finding:
    """The generated ``search_vector`` column and its GIN index exist; no row lacks a vector."""
    problems: list[str] = []
    column = session.execute(text(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'articles' AND column_name = 'search_vector'")).first()
    index = session.execute(text(
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = 'ix_articles_search'")).first()
    if column is None:
        problems.append("articles.search_vector is missing")
    if index is None:
        problems.append("the GIN index ix_articles_search is missing")
    if column is not None:
        problems += [f"article {i} has no search vector" for i in session.scalars(text(
            "SELECT id FROM articles WHERE search_vector IS NULL"))]
    return _finding("fulltext_index", "every article has a weighted tsvector (GIN indexed)",
                    problems)


def _ann_files(settings: Settings, db: Database, session: Session) -> list[Finding]:
    """For each model's HNSW file in data_dir: its labels are exactly that model's vector ids."""
    models = set(session.scalars(text("SELECT DISTINCT model FROM article_vectors"))) | {
        DEFAULT_MODEL}
    findings = []
    for model in sorted(models):
        index = VectorIndex(settings, db, dim=0, model=model)
        if not index.path.exists():
            continue  # a cache not built yet on this node
        expected = {int(i) for i in session.scalars(text(
            "SELECT article_id FROM article_vectors WHERE model = :m"), {"m": model})}
        findings.append(_compare_ann(index, model, expected))
    return findings


def _compare_ann(index: VectorIndex, model: str, expected: set[int]) -> Finding:
    name, description = f"ann_index:{model}", f"{index.path.name} holds the ids of article_vectors"
    try:
        labels = _ann_labels(index)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        return _finding(name, description, [f"unreadable ({exc}); it is rebuilt on next open"])
    missing, stray = sorted(expected - labels), sorted(labels - expected)
    return _finding(name, description,
                    [f"vector {i} not in the index" for i in missing]
                    + [f"index id {i} has no stored vector" for i in stray])


def _ann_labels(index: VectorIndex) -> set[int]:
    import hnswlib

    meta = json.loads(index.meta_path.read_text())
    graph = hnswlib.Index(space="ip", dim=int(meta["dim"]))
    graph.load_index(str(index.path), max_elements=int(meta["capacity"]))
    return {int(i) for i in graph.get_ids_list()}
