"""Related articles and hybrid search on the seed's four articles (plus BBC when present)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from newsdesk.config import Settings
from newsdesk.enrich.embed import Embedder, article_text
from newsdesk.enrich.related import related_articles
from newsdesk.enrich.semantic import hybrid_search
from newsdesk.model import Article
from newsdesk.store import articles
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow
from newsdesk.store.vectors import VectorIndex, save_vectors
from tests.conftest import DATA, SEED
from tests.seedpages import parse_seed

BBC = DATA / "corpus" / "bbc-news-2225.jsonl"
SEED_DAY = datetime(2025, 8, 20, 9, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="seed not present")


def seed_articles() -> list[Article]:
    main, related = parse_seed(SEED)
    return [Article(url=f"https://{a.outlet.lower().replace(' ', '')}.example/{a.slug}",
                    title=a.title, text="\n".join(a.paragraphs), outlet=a.outlet,
                    published_at=SEED_DAY) for a in [main, *related]]


def bbc_articles(n: int = 200) -> list[Article]:
    """``n`` BBC articles spread over the corpus; the category goes in ``description``."""
    lines = BBC.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines[:: len(lines) // n][:n]):
        r = json.loads(line)
        out.append(Article(url=f"https://bbc.example/{r['id']}", title=r["title"],
                           text=r["text"], outlet="BBC News", description=r["category"],
                           published_at=datetime(2005, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i)))
    return out


@dataclass
class Corpus:
    db: Database
    index: VectorIndex
    ids: dict[str, int]  # title -> id


@pytest.fixture(scope="module")
def vectors(embedder: Embedder) -> dict[str, np.ndarray]:
    """Embed once per module: both backends reuse the vectors (title -> vector)."""
    arts = seed_articles() + (bbc_articles() if BBC.exists() else [])
    matrix = embedder.encode([article_text(a.title, a.text) for a in arts])
    return {a.url: v for a, v in zip(arts, matrix, strict=True)}


def build(db: Database, settings: Settings, arts: list[Article],
          vectors: dict[str, np.ndarray], embedder: Embedder) -> Corpus:
    with db.write() as session:
        saved = [(a, articles.save_article(session, a).article_id) for a in arts]
        pairs = [(i, vectors[a.url]) for a, i in saved if a.url in vectors]
        save_vectors(session, [i for i, _ in pairs], np.array([v for _, v in pairs]))
    index = VectorIndex(settings, db, embedder.dim).open()
    return Corpus(db, index, {a.title: i for a, i in saved})


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """This module's tests run on SQLite and PostgreSQL in every run."""
    return db_on_each_backend


def _related_titles(corpus: Corpus, embedder: Embedder, title: str,
                    limit: int = 5) -> list[ArticleRow]:
    with corpus.db.read() as session:
        row = session.get(ArticleRow, corpus.ids[title])
        assert row is not None
        return [r for r, _, _ in related_articles(session, corpus.index, embedder, row, limit)]


def test_seed_articles_list_each_other(db: Database, settings: Settings, embedder: Embedder,
                                       vectors: dict[str, np.ndarray]) -> None:
    seed = seed_articles()
    corpus = build(db, settings, seed, vectors, embedder)
    for article in seed:
        got = {r.title for r in _related_titles(corpus, embedder, article.title)}
        assert got == {a.title for a in seed} - {article.title}, article.title


def test_never_itself_nor_a_copy(db: Database, settings: Settings, embedder: Embedder,
                                 vectors: dict[str, np.ndarray]) -> None:
    seed = seed_articles()
    upi = seed[0]
    copy = Article(url="https://yonhap.example/kim", title="Kim meets Lyubimova",
                   text=upi.text, outlet="Yonhap", published_at=SEED_DAY)  # same text
    linked = Article(url="https://mirror.example/kim", title=upi.title,
                     text=upi.text + "\nRead more at Mirror.", outlet="Mirror",
                     published_at=SEED_DAY)
    vectors = {**vectors, copy.url: vectors[upi.url], linked.url: vectors[upi.url]}
    corpus = build(db, settings, [*seed, copy, linked], vectors, embedder)
    with db.write() as session:  # dedup's verdict: the Mirror page copies UPI
        mirror = session.get(ArticleRow, corpus.ids[upi.title])
        assert mirror is not None and mirror.outlet == "Mirror"
        original = session.query(ArticleRow).filter_by(outlet="UPI").one()
        mirror.duplicate_of = original.id
        original_id = original.id
    corpus.ids[upi.title] = original_id
    for title in (upi.title, seed[1].title):
        got = _related_titles(corpus, embedder, title, limit=10)
        outlets = [r.outlet for r in got]
        assert "Yonhap" not in outlets or title != upi.title
        assert "Mirror" not in outlets or title != upi.title
        assert corpus.ids.get(title) not in [r.id for r in got]
        texts = [r.content_hash for r in got]
        assert len(texts) == len(set(texts))  # copies of one text show once


@pytest.mark.skipif(not BBC.exists(), reason="BBC corpus not present")
def test_seed_related_stays_topical_among_bbc(db: Database, settings: Settings,
                                              embedder: Embedder,
                                              vectors: dict[str, np.ndarray]) -> None:
    seed = seed_articles()
    corpus = build(db, settings, seed + bbc_articles(), vectors, embedder)
    for article in seed:
        got = _related_titles(corpus, embedder, article.title)
        assert {r.title for r in got} >= {a.title for a in seed} - {article.title}
        assert not [r.title for r in got if r.description in ("sport", "entertainment")]


@pytest.mark.skipif(not BBC.exists(), reason="BBC corpus not present")
def test_hybrid_search_blends_meaning_and_words(db: Database, settings: Settings,
                                                embedder: Embedder,
                                                vectors: dict[str, np.ndarray]) -> None:
    seed = seed_articles()
    corpus = build(db, settings, seed + bbc_articles(), vectors, embedder)
    with db.read() as session:
        hits = hybrid_search(session, corpus.index, embedder,
                             "Pyongyang leader meets Moscow official", limit=5)
        assert hits[0].article.outlet == "UPI"  # no shared words with the title: meaning
        oil = hybrid_search(session, corpus.index, embedder, "oil prices", limit=10)
        assert oil and all(h.article.description in ("", "business") for h in oil[:5])
        only_bbc = hybrid_search(session, corpus.index, embedder, "oil prices", limit=10,
                                 outlet="BBC News")
        assert only_bbc and {h.article.outlet for h in only_bbc} == {"BBC News"}
        recent = hybrid_search(session, corpus.index, embedder, "oil prices", limit=10,
                               since=datetime(2025, 1, 1, tzinfo=UTC))
        assert recent and {h.article.outlet for h in recent} <= {"Yahoo", "UPI", "The Hill"}
        old = hybrid_search(session, corpus.index, embedder, "oil prices", limit=10,
                            until=datetime(2024, 1, 1, tzinfo=UTC))
        assert old and {h.article.outlet for h in old} == {"BBC News"}
        page1 = hybrid_search(session, corpus.index, embedder, "oil", limit=2)
        page2 = hybrid_search(session, corpus.index, embedder, "oil", limit=2, offset=2)
        assert not {h.article.id for h in page1} & {h.article.id for h in page2}


def test_hybrid_search_tag_filter_and_hostile_syntax(db: Database, settings: Settings,
                                                     embedder: Embedder,
                                                     vectors: dict[str, np.ndarray]) -> None:
    seed = seed_articles()
    corpus = build(db, settings, seed, vectors, embedder)
    with db.write() as session:
        tag = TagRow(slug="northkorea", name="North Korea", kind="place")
        session.add(tag)
        session.flush()
        session.add(ArticleTagRow(article_id=corpus.ids[seed[0].title], tag_id=tag.id))
    with db.read() as session:
        tagged = hybrid_search(session, corpus.index, embedder, "Russia", tag="#NorthKorea")
        assert [h.article.outlet for h in tagged] == ["UPI"]
        for query in ['"', "NEAR(", "*", "col:", "title:Russia", "' OR 1=1--", "",
                      'Russia" NEAR(Ukraine *', "\x00", "^", "a" * 5000, "-Ukraine AND"]:
            hybrid_search(session, corpus.index, embedder, query, limit=5)
