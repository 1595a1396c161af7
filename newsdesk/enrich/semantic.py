"""Search that finds stories by words and by meaning, blended.

Full-text hits (FTS5 / tsvector, via ``newsdesk.store.search``) are precise on
names; ANN hits on the query's embedding find paraphrases ("jobless" for
"unemployment"). Reciprocal-rank fusion merges the two ranked lists without
having to calibrate BM25 against cosine. Filters (outlet, tag, date range)
are applied to both lists in SQL before fusion. The user's text reaches the
FTS engines only as quoted word tokens and the embedder only as a string, so
hostile query syntax is just words.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from newsdesk.enrich.embed import Embedder
from newsdesk.store import search
from newsdesk.store.search import Hit
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow
from newsdesk.store.vectors import VectorIndex

RRF_K = 60  # the constant of Cormack et al.; ranks past ~60 matter little
QUERY_FLOOR = 0.25  # an ANN hit less similar than this to the query is noise
MAX_QUERY_CHARS = 1000


def _allowed(session: Session, ids: list[int], *, outlet: str | None, tag: str | None,
             since: datetime | None, until: datetime | None) -> set[int]:
    """Which of ``ids`` pass the filters (one query for the whole candidate list)."""
    if not ids:
        return set()
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    stmt = select(ArticleRow.id).where(ArticleRow.id.in_(ids))
    if outlet is not None:
        stmt = stmt.where(ArticleRow.outlet == outlet)
    if since is not None:
        stmt = stmt.where(when >= since)
    if until is not None:
        stmt = stmt.where(when <= until)
    if tag is not None:
        tagged = (select(ArticleTagRow.article_id)
                  .join(TagRow, TagRow.id == ArticleTagRow.tag_id)
                  .where(or_(TagRow.slug == tag.lower().lstrip("#"), TagRow.name == tag)))
        stmt = stmt.where(ArticleRow.id.in_(tagged))
    return {int(i) for i in session.scalars(stmt)}


def _fuse(*rankings: list[int]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, article_id in enumerate(ranking):
            scores[article_id] = scores.get(article_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))


def hybrid_search(session: Session, index: VectorIndex, embedder: Embedder, query: str, *,
                  limit: int = 20, offset: int = 0, outlet: str | None = None,
                  tag: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> list[Hit]:
    """Best articles for ``query`` by fused full-text and semantic rank, copies shown once."""
    query = query[:MAX_QUERY_CHARS]
    if not search.tokens(query):
        return []
    pool = max((offset + limit) * 4, 50)
    lexical = [h.article.id for h in search.search(session, query, limit=pool, outlet=outlet)]
    vector = embedder.encode([query])[0]
    semantic = [i for i, cos in index.search(vector, pool) if cos >= QUERY_FLOOR]
    allowed = _allowed(session, list({*lexical, *semantic}), outlet=outlet, tag=tag,
                       since=since, until=until)
    fused = _fuse([i for i in lexical if i in allowed], [i for i in semantic if i in allowed])
    return _collapse_copies(session, fused)[offset:offset + limit]


def _collapse_copies(session: Session, fused: list[tuple[int, float]]) -> list[Hit]:
    """Hydrate in rank order, keeping one article per text (hash or duplicate link)."""
    ids = [i for i, _ in fused]
    rows = {r.id: r for r in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(ids)))}
    seen: set[str] = set()
    hits = []
    for article_id, score in fused:
        row = rows.get(article_id)
        if row is None:
            continue  # deleted since the index was saved
        keys = {f"h:{row.content_hash}", f"d:{row.duplicate_of or row.id}"}
        if keys & seen:
            continue
        seen |= keys
        hits.append(Hit(row, score))
    return hits
