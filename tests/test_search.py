"""Full-text search: the rank window that bounds the cost of very common words.

``RANK_WINDOW`` is lowered so a handful of articles exercises it; the same
SQL runs with 10,000 at 100k articles (``newsdesk.eval.bench_search``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.model import Article
from newsdesk.store import articles, search
from newsdesk.store.db import Database


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """This module's tests run on SQLite and PostgreSQL in every run."""
    return db_on_each_backend


def _save(db: Database, n: int, *, strong: bool, outlet: str = "Wire") -> int:
    """One article about the harbour; ``strong`` ones say so in the title and often."""
    title = f"Harbour report {n}" if strong else f"Council minutes {n}"
    body = ("The harbour reopened. Harbour traffic doubled at the harbour gates."
            if strong else "A long agenda, and one line on the harbour fees.")
    article = Article(url=f"https://example.com/{n}", title=title,
                      text=f"{body}\nItem {n} of the day's notes.", outlet=outlet)
    with db.write() as session:
        return articles.save_article(session, article).article_id


def _ids(db: Database, query: str, **kw: object) -> list[int]:
    with db.read() as session:
        return [h.article.id for h in search.search(session, query, **kw)]  # type: ignore[arg-type]


def test_common_word_ranks_only_the_newest_matches(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    old_strong = [_save(db, n, strong=True) for n in range(2)]
    new_weak = [_save(db, n, strong=False) for n in range(2, 5)]
    monkeypatch.setattr(search, "RANK_WINDOW", 10)
    assert set(_ids(db, "harbour")[:2]) == set(old_strong)  # unbounded: strong ones lead
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    assert sorted(_ids(db, "harbour")) == new_weak
    assert _ids(db, "harbour", offset=3) == []  # pages stop at the window


def test_words_within_the_window_rank_as_without_one(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        _save(db, n, strong=n % 2 == 0)
    monkeypatch.setattr(search, "RANK_WINDOW", 1_000_000)
    with db.read() as session:
        unbounded = [(h.article.id, h.score) for h in search.search(session, "harbour")]
    monkeypatch.setattr(search, "RANK_WINDOW", 5)  # exactly as many as match
    with db.read() as session:
        bounded = [(h.article.id, h.score) for h in search.search(session, "harbour")]
    assert len(unbounded) == 5
    assert bounded == unbounded
    assert _ids(db, "harbour", limit=2, offset=1) == [i for i, _ in unbounded[1:3]]


def test_the_window_counts_matches_in_the_filtered_outlet(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = [_save(db, n, strong=n == 0, outlet="Gazette") for n in range(3)]
    for n in range(3, 8):
        _save(db, n, strong=True, outlet="Other")  # newer and better, in another outlet
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    assert sorted(_ids(db, "harbour", outlet="Gazette")) == ours[1:]
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    assert _ids(db, "harbour", outlet="Gazette")[0] == ours[0]
    assert _ids(db, "harbour", outlet="Nobody") == []


def test_fts_bench_builds_a_text_only_collection_and_measures(tmp_path: Path) -> None:
    from newsdesk.eval import bench_search

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps({"title": f"Harbour {i}" if i else "Fees",
                                            "text": "Ships and cranes.", "category": "x"})
                                for i in range(3)), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'fts.db'}"
    result = bench_search.run_fts(url, corpus, n=9, words=("harbour", "cranes"), repeats=3)
    assert result["fts_harbour"]["matching_articles"] == 6  # 2 of 3 originals, 3 copies each
    assert result["fts_cranes"]["n"] == 3
    assert bench_search.run_fts(url, corpus, n=9, words=(), repeats=1)["build_s"] >= 0
    with pytest.raises(ValueError, match="holds 9 articles"):
        bench_search.run_fts(url, corpus, n=12, words=())


def test_pages_of_tied_scores_neither_repeat_nor_skip(db: Database) -> None:
    """Copies of one text score the same: pages still partition the hits, newest first."""
    with db.write() as session:
        ids = [articles.save_article(session, Article(
            url=f"https://copy{n}.example/a", title="Harbour cranes", outlet=f"Copy {n}",
            text="The harbour cranes go electric next year, the authority said.")).article_id
            for n in range(7)]
    with db.read() as session:
        pages = [search.search(session, "cranes", limit=3, offset=o) for o in (0, 3, 6)]
    seen = [hit.article.id for page in pages for hit in page]
    assert seen == sorted(ids, reverse=True)
