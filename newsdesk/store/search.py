"""Full-text search and lexical related articles.

SQLite uses its FTS5 index (BM25 ranking, porter stemming); PostgreSQL its
weighted ``search_vector`` with ``ts_rank_cd``. User text never reaches either
query language raw: it is cut into word tokens that are quoted (FTS5) or passed
through ``plainto_tsquery``-style functions, so ``NEAR(``, ``col:``, quotes
and ``' OR 1=1--`` are just words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from newsdesk.store.tables import ArticleRow

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_QUERY_TERMS = 32


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    # justext ships maintained stop lists (it comes with trafilatura).
    import justext

    return frozenset(w.lower() for w in justext.get_stoplist("English"))


def tokens(query: str) -> list[str]:
    """Word tokens of a user query, lower-cased, de-duplicated, capped."""
    seen: dict[str, None] = {}
    for tok in _WORD.findall(query.lower()):
        if tok.replace("_", ""):
            seen.setdefault(tok.replace("_", " ").strip(), None)
    return [t for t in seen if t][:_MAX_QUERY_TERMS]


def _fts5_phrase(tok: str) -> str:
    return '"' + tok.replace('"', '""') + '"'


@dataclass(frozen=True)
class Hit:
    article: ArticleRow
    score: float


def search(
    session: Session, query: str, *, limit: int = 20, offset: int = 0, outlet: str | None = None
) -> list[Hit]:
    """Articles containing every word of ``query``, best match first."""
    terms = tokens(query)
    if not terms:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return _sqlite_match(session, " ".join(_fts5_phrase(t) for t in terms), limit, offset,
                             outlet=outlet)
    return _pg_match(session, " & ".join(_pg_lexeme(t) for t in terms), limit, offset,
                     outlet=outlet)


def _sqlite_match(
    session: Session, match: str, limit: int, offset: int, *, outlet: str | None = None,
    exclude: tuple[int, ...] = (),
) -> list[Hit]:
    # bm25() is "lower is better"; weights: title 4, text 1, outlet 0.5. The join to
    # ``articles`` is made only for an outlet filter: for a common word it costs more
    # than the ranking itself (72 ms vs 20 ms at 100k articles, docs/benchmarks.md).
    sql = "SELECT articles_fts.rowid AS id, bm25(articles_fts, 4.0, 1.0, 0.5) AS rank "
    params: dict[str, object] = {"match": match, "limit": limit, "offset": offset}
    if outlet is not None:
        sql += ("FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid "
                "WHERE articles_fts MATCH :match AND articles.outlet = :outlet")
        params["outlet"] = outlet
    else:
        sql += "FROM articles_fts WHERE articles_fts MATCH :match"
    if exclude:
        sql += " AND articles_fts.rowid NOT IN :exclude"
        params["exclude"] = list(exclude)
    stmt = text(sql + " ORDER BY rank LIMIT :limit OFFSET :offset")
    if exclude:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    rows = session.execute(stmt, params).all()
    return _hydrate(session, [(int(r.id), -float(r.rank)) for r in rows])


def _pg_lexeme(tok: str) -> str:
    # Only word characters reach to_tsquery; quoting keeps it a single lexeme.
    return "'" + tok.replace("'", "").replace("\\", "") + "'"


def _pg_match(
    session: Session, tsquery: str, limit: int, offset: int, *, outlet: str | None = None,
    exclude: tuple[int, ...] = (),
) -> list[Hit]:
    sql = (
        "SELECT id, ts_rank_cd(search_vector, q) AS rank "
        "FROM articles, to_tsquery('english', :q) AS q WHERE search_vector @@ q"
    )
    params: dict[str, object] = {"q": tsquery, "limit": limit, "offset": offset}
    if outlet is not None:
        sql += " AND outlet = :outlet"
        params["outlet"] = outlet
    if exclude:
        sql += " AND id NOT IN :exclude"
        params["exclude"] = list(exclude)
    stmt = text(sql + " ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset")
    if exclude:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    rows = session.execute(stmt, params).all()
    return _hydrate(session, [(int(r.id), float(r.rank)) for r in rows])


def _hydrate(session: Session, scored: list[tuple[int, float]]) -> list[Hit]:
    if not scored:
        return []
    rows = {a.id: a for a in session.scalars(
        select(ArticleRow).where(ArticleRow.id.in_([i for i, _ in scored])))}
    return [Hit(rows[i], s) for i, s in scored if i in rows]


def _content_words(text_: str) -> list[str]:
    stop = _stopwords()
    return [w for w in _WORD.findall(text_.lower())
            if len(w) > 2 and w not in stop and not w.isdigit()]


def document_frequency(session: Session, term: str) -> int:
    """How many articles contain ``term`` (stemmed the way the index stems)."""
    if session.get_bind().dialect.name == "sqlite":
        sql = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q"
        return int(session.execute(text(sql), {"q": _fts5_phrase(term)}).scalar() or 0)
    sql = "SELECT count(*) FROM articles WHERE search_vector @@ to_tsquery('english', :q)"
    return int(session.execute(text(sql), {"q": _pg_lexeme(term)}).scalar() or 0)


def key_terms(
    session: Session, title: str, body: str, *, n: int = 20, pool: int = 40
) -> dict[str, float]:
    """The words that say what an article is about, with their IDF weight.

    Candidates are title words plus the most frequent body words; the top ``n``
    by tf x idf are kept. IDF is smoothed (``log(1 + N/df)``) so it stays
    positive in a tiny collection, where BM25's own IDF collapses to zero.
    """
    counts = Counter(_content_words(body))
    for word in _content_words(title):
        counts[word] += 3  # a title word weighs like several body mentions
    total = int(session.execute(text("SELECT count(*) FROM articles")).scalar() or 0) or 1
    scored: dict[str, tuple[float, float]] = {}
    for word, tf in counts.most_common(pool):
        idf = math.log(1 + total / max(document_frequency(session, word), 1))
        scored[word] = (tf * idf, idf)
    best = sorted(scored.items(), key=lambda kv: kv[1][0], reverse=True)[:n]
    return {word: idf for word, (_, idf) in best}


def related(
    session: Session, article: ArticleRow, *, limit: int = 5, min_similarity: float = 0.04
) -> list[Hit]:
    """Topical neighbours: BM25 finds candidates, shared key terms score them.

    A candidate's similarity is the IDF-weighted share of this article's key
    terms that it contains (0..1), comparable across articles and collection
    sizes; below ``min_similarity`` nothing is "related", however few
    articles there are. The floor is low on purpose: a pair sharing only a
    couple of a story's weighty words (Russia, Ukraine) still counts, and the
    ranking puts stronger neighbours first in a large collection. Exact
    copies (same content hash) are left out: related means another angle.
    Other outlets come first.
    """
    terms = key_terms(session, article.title, article.text)
    if not terms:
        return []
    pool = max(limit * 6, 30)
    if session.get_bind().dialect.name == "sqlite":
        match = " OR ".join(_fts5_phrase(t) for t in terms)
        hits = _sqlite_match(session, match, pool, 0, exclude=(article.id,))
    else:
        hits = _pg_match(session, " | ".join(_pg_lexeme(t) for t in terms), pool, 0,
                         exclude=(article.id,))
    weight = sum(terms.values())
    ranked: list[Hit] = []
    for hit in hits:
        other = hit.article
        if other.content_hash == article.content_hash:
            continue
        words = set(_content_words(other.title + " " + other.text))
        similarity = sum(idf for term, idf in terms.items() if term in words) / weight
        if similarity < min_similarity:
            continue
        if other.outlet and other.outlet == article.outlet:
            similarity *= 0.8  # prefer other outlets' coverage
        ranked.append(Hit(other, similarity))
    ranked.sort(key=lambda h: h.score, reverse=True)
    return ranked[:limit]
