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


RANK_WINDOW = 10_000
"""Most matches one query ranks: past it, only the newest this many are ranked.

Ranking (BM25, ts_rank_cd) runs for every match before LIMIT, so a word in a
third of 100k articles cost 47 ms at p50 on SQLite and several hundred on
PostgreSQL, and grows with the collection. Finding the newest N matches is
cheap (FTS5 walks its doclist in descending rowid order and stops; PostgreSQL
numbers matching ids without reading their vectors), so the window bounds the
cost whatever the collection size. Ids follow insertion, which is close to
recency, and a news reader favours recent articles anyway. Queries with at
most N matches (10% of a 100k collection) rank exactly as without a window;
for the others, results and pages stop after these N.
"""


def search(
    session: Session, query: str, *, limit: int = 20, offset: int = 0, outlet: str | None = None
) -> list[Hit]:
    """Articles containing every word of ``query``, best match first.

    A query matching more than ``RANK_WINDOW`` articles ranks only the newest
    ``RANK_WINDOW`` of them.
    """
    terms = tokens(query)
    if not terms:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return _sqlite_match(session, " ".join(_fts5_phrase(t) for t in terms), limit, offset,
                             outlet=outlet, window=RANK_WINDOW)
    return _pg_match(session, " & ".join(_pg_lexeme(t) for t in terms), limit, offset,
                     outlet=outlet, window=RANK_WINDOW)


def _sqlite_match(
    session: Session, match: str, limit: int, offset: int, *, outlet: str | None = None,
    exclude: tuple[int, ...] = (), window: int | None = None,
) -> list[Hit]:
    # bm25() is "lower is better"; weights: title 4, text 1, outlet 0.5. It is computed
    # only for rows that pass WHERE. The outlet filter is the set of the outlet's ids,
    # read once from the (outlet, published_at) index; the unary "+" keeps FTS5 from
    # running the MATCH once per id of the set. Joining ``articles`` instead read every
    # matching article row (92 ms vs 21 ms p50 for "people" in one of 40 outlets at 100k).
    where = "articles_fts MATCH :match"
    params: dict[str, object] = {"match": match, "limit": limit, "offset": offset}
    if outlet is not None:
        where += " AND +articles_fts.rowid IN (SELECT id FROM articles WHERE outlet = :outlet)"
        params["outlet"] = outlet
    if exclude:
        where += " AND articles_fts.rowid NOT IN :exclude"
        params["exclude"] = list(exclude)
    if window is not None:
        # Above the (window+1)-th newest match, if there is one: FTS5 takes "rowid >" as
        # a range and never visits older matches. The inner articles_fts is its own scan.
        newest = "SELECT articles_fts.rowid FROM articles_fts WHERE "
        newest += where + " ORDER BY articles_fts.rowid DESC LIMIT 1 OFFSET :window"
        where += " AND articles_fts.rowid > coalesce((" + newest + "), 0)"
        params["window"] = window
    # Only the constant fragments above are joined; every value is a bound parameter.
    sql = "SELECT articles_fts.rowid AS id, bm25(articles_fts, 4.0, 1.0, 0.5) AS rank "
    # Newest first among equal scores (copies of one text tie), as on PostgreSQL, so
    # pages neither repeat nor skip a hit.
    sql += "FROM articles_fts WHERE " + where
    sql += " ORDER BY rank, articles_fts.rowid DESC LIMIT :limit OFFSET :offset"
    stmt = text(sql)
    if exclude:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    rows = session.execute(stmt, params).all()
    return _hydrate(session, [(int(r.id), -float(r.rank)) for r in rows])


def _pg_lexeme(tok: str) -> str:
    # Only word characters reach to_tsquery; quoting keeps it a single lexeme.
    return "'" + tok.replace("'", "").replace("\\", "") + "'"


def _pg_match(
    session: Session, tsquery: str, limit: int, offset: int, *, outlet: str | None = None,
    exclude: tuple[int, ...] = (), window: int | None = None,
) -> list[Hit]:
    where = "search_vector @@ to_tsquery('english', :q)"
    params: dict[str, object] = {"q": tsquery, "limit": limit, "offset": offset}
    if outlet is not None:
        where += " AND outlet = :outlet"
        params["outlet"] = outlet
    if exclude:
        where += " AND id NOT IN :exclude"
        params["exclude"] = list(exclude)
    source = "articles WHERE " + where
    if window is not None:
        # ts_rank_cd de-TOASTs every vector it ranks (about 10 us a row at 100k, ten
        # times FTS5's cost). Number the matches newest first in one pass over the GIN
        # bitmap (it reads ids, not vectors) and rank the first ``window``. "id + 0"
        # keeps the planner off a backward primary-key scan, which de-TOASTs every row
        # it visits to test @@ (a rare word went from 0.5 ms to 6-9 ms that way).
        source = "(SELECT id, search_vector, row_number() OVER (ORDER BY id + 0 DESC) AS n "
        source += "FROM articles WHERE " + where + ") AS newest WHERE n <= :window"
        params["window"] = window
    # Only the constant fragments above are joined; every value is a bound parameter.
    sql = "SELECT id, ts_rank_cd(search_vector, to_tsquery('english', :q)) AS rank "
    sql += "FROM " + source + " ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset"
    stmt = text(sql)
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
