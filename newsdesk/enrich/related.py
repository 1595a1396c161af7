"""Related articles: other outlets' and other angles' coverage, never a copy.

Four signals are blended, each for a reason:

* semantic: ANN cosine of the MiniLM vectors finds coverage that shares few
  words (an oil-price piece about the Ukraine talks for a Kremlin meeting);
* lexical: the existing BM25 key-term neighbours (``search.related``) keep
  names and rare words that embeddings blur;
* entity: shared hashtags (``article_tags``), when tagging has run, say two
  pieces are about the same people and places;
* recency: news relates most to news of the same days.

A topical floor on the semantic cosine (lower when entities or key terms back
it up) keeps unrelated articles out however small the collection. Copies (same
content hash, a ``duplicate_of`` link either way, or near-identical vectors)
are excluded: related means another angle, and dedup shows copies elsewhere.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsdesk.config import Settings
from newsdesk.enrich.embed import Embedder, article_text, load_embedder
from newsdesk.store import search
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, ArticleTagRow, TagRow
from newsdesk.store.vectors import VectorIndex, count_vectors, load_vectors, vector_of

SEMANTIC_FLOOR = 0.40  # cosine alone that makes a neighbour topical
BACKED_FLOOR = 0.15  # cosine that suffices with shared entities or key terms behind it
NEAR_COPY = 0.97  # cosine above which two texts are the same story text
WEIGHTS = {"semantic": 0.55, "lexical": 0.2, "entity": 0.15, "recency": 0.1}
RECENCY_DAYS = 7.0
LEAD_CHARS = 3000  # names are looked for in the lead: where a story names its actors


@dataclass
class _Candidate:
    row: ArticleRow
    cosine: float | None = None
    lexical: float = 0.0
    shared_tags: list[str] = field(default_factory=list)


def _article_vector(session: Session, embedder: Embedder, article: ArticleRow) -> np.ndarray:
    """The stored vector, else one computed now (an article not yet enriched)."""
    vec = vector_of(session, article.id, embedder.model_name)
    if vec is not None and len(vec) == embedder.dim:
        return vec
    return embedder.encode([article_text(article.title, article.text)])[0]


def _gather(session: Session, index: VectorIndex, vector: np.ndarray, article: ArticleRow,
            pool: int, lexical_pool: int) -> dict[int, _Candidate]:
    """Union of the ANN and the BM25 neighbours, hydrated."""
    semantic = dict(index.search(vector, pool, exclude=(article.id,)))
    lexical = {h.article.id: h.score
               for h in search.related(session, article, limit=lexical_pool)} \
        if lexical_pool else {}
    ids = set(semantic) | set(lexical)
    rows = session.scalars(select(ArticleRow).where(ArticleRow.id.in_(ids))).all() if ids else []
    found = {r.id: _Candidate(r, semantic.get(r.id), lexical.get(r.id, 0.0)) for r in rows}
    missing = [i for i, c in found.items() if c.cosine is None]
    if missing:  # lexical-only candidates: score them on the same cosine scale
        ids_, matrix = load_vectors(session, missing, index.model)
        for i, v in zip(ids_, matrix, strict=True):
            found[i].cosine = float(np.dot(v, vector))
    return found


def _tags(session: Session, ids: list[int]) -> dict[int, set[str]]:
    stmt = (select(ArticleTagRow.article_id, TagRow.name)
            .join(TagRow, TagRow.id == ArticleTagRow.tag_id)
            .where(ArticleTagRow.article_id.in_(ids)))
    out: dict[int, set[str]] = defaultdict(set)
    for article_id, name in session.execute(stmt):
        out[int(article_id)].add(str(name))
    return out


# The lookahead first: positions without a capital fail before the lookbehinds run (2.5x).
_PROPER = re.compile(r"\b(?=[A-Z])(?<![.!?\n]\s)(?<!^)"
                     r"([A-Z][a-z]+(?:\s[A-Z][a-z]+)*|[A-Z]{2,})\b")
_NOT_ENTITIES = frozenset((
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december"))


_NAMES_CACHE: dict[tuple[int, str], frozenset[str]] = {}
_NAMES_CACHE_SIZE = 50_000


def _proper_nouns(row: ArticleRow) -> frozenset[str]:
    """Capitalised names inside sentences of the lead: the entity signal before tagging.

    Cached by (id, content hash): a page of related articles meets the same
    candidates again and again, and an edit changes the hash.
    """
    key = (row.id, row.content_hash)
    names = _NAMES_CACHE.get(key)
    if names is None:
        stop = search._stopwords()
        names = frozenset(name for name in _PROPER.findall(row.title + ". " + row.text[:LEAD_CHARS])
                          if name.lower() not in _NOT_ENTITIES and name.lower() not in stop)
        if len(_NAMES_CACHE) >= _NAMES_CACHE_SIZE:
            _NAMES_CACHE.clear()
        _NAMES_CACHE[key] = names
    return names


def _shared_entities(article: ArticleRow, own: set[str], found: dict[int, _Candidate],
                     tags: dict[int, set[str]]) -> None:
    """Fill each candidate's shared tags; untagged pairs compare proper nouns instead."""
    own_names = _proper_nouns(article) if not own else frozenset()
    for cid, c in found.items():
        theirs = tags.get(cid, set())
        if own and theirs:
            c.shared_tags = sorted(own & theirs)
        elif c.cosine is not None and c.cosine >= BACKED_FLOOR:  # below, names can't help
            c.shared_tags = sorted((own_names or _proper_nouns(article)) & _proper_nouns(c.row))


def _is_copy(article: ArticleRow, other: ArticleRow, cosine: float | None) -> bool:
    if other.id == article.id or other.content_hash == article.content_hash:
        return True
    if other.duplicate_of == article.id or article.duplicate_of == other.id:
        return True
    if article.duplicate_of is not None and other.duplicate_of == article.duplicate_of:
        return True
    return cosine is not None and cosine >= NEAR_COPY


def _recency(article: ArticleRow, other: ArticleRow) -> float:
    days = abs((article.sort_time - other.sort_time).total_seconds()) / 86400
    return math.exp(-days / RECENCY_DAYS)


def _score(article: ArticleRow, c: _Candidate, n_tags: int) -> tuple[float, list[str]] | None:
    """Blended score and the reasons shown to the reader; None below the topical floor."""
    cosine = c.cosine if c.cosine is not None else 0.0
    entity = min(len(c.shared_tags) / max(min(n_tags, 5), 1), 1.0) if n_tags else 0.0
    backed = len(c.shared_tags) >= 2 or c.lexical >= 0.2
    if cosine < SEMANTIC_FLOOR and not (backed and cosine >= BACKED_FLOOR):
        return None
    score = (WEIGHTS["semantic"] * cosine + WEIGHTS["lexical"] * min(c.lexical, 1.0)
             + WEIGHTS["entity"] * entity + WEIGHTS["recency"] * _recency(article, c.row))
    reasons = [f"similar meaning ({cosine:.2f})"]
    if c.lexical:
        reasons.append(f"shared key terms ({c.lexical:.2f})")
    if c.shared_tags:
        reasons.append("shared names: " + ", ".join(c.shared_tags[:5]))
    if article.story_id is not None and c.row.story_id == article.story_id:
        score += 0.05
        reasons.append("same story")
    if c.row.outlet and c.row.outlet == article.outlet:
        score *= 0.85  # prefer other outlets' coverage
    elif c.row.outlet:
        reasons.append(f"other outlet: {c.row.outlet}")
    return score, reasons


def related_articles(session: Session, index: VectorIndex, embedder: Embedder,
                     article_row: ArticleRow, limit: int = 5, *, lexical: bool = True,
                     ) -> list[tuple[ArticleRow, float, list[str]]]:
    """Up to ``limit`` topical neighbours of ``article_row``, best first, with reasons.

    ``lexical=False`` skips the BM25 key-term signal (``search.related``: an
    OR query over ~20 key terms, then re-tokenising every hit), which costs
    ~200 ms at 100k articles against ~9 ms for the rest; semantic, entity and
    recency signals and all exclusions still apply.
    """
    vector = _article_vector(session, embedder, article_row)
    found = _gather(session, index, vector, article_row, max(limit * 8, 40),
                    max(limit * 2, 10) if lexical else 0)
    tags = _tags(session, [article_row.id, *found])
    own = tags.get(article_row.id, set())
    found = {i: c for i, c in found.items() if not _is_copy(article_row, c.row, c.cosine)}
    _shared_entities(article_row, own, found, tags)
    scored: list[tuple[ArticleRow, float, list[str]]] = []
    for c in found.values():
        result = _score(article_row, c, len(own) or 5)
        if result is not None:
            scored.append((c.row, *result))
    scored.sort(key=lambda t: t[1], reverse=True)
    return _without_mutual_copies(scored)[:limit]


def _without_mutual_copies(
    ranked: list[tuple[ArticleRow, float, list[str]]],
) -> list[tuple[ArticleRow, float, list[str]]]:
    """Keep the best of several copies of one text (syndication shows once)."""
    seen: set[str] = set()
    out = []
    for row, score, reasons in ranked:
        keys = {f"h:{row.content_hash}", f"d:{row.duplicate_of or row.id}"}
        if keys & seen:
            continue
        seen |= keys
        out.append((row, score, reasons))
    return out


class RelatedFinder:
    """What a long-lived process (the web server) calls to relate articles.

    It owns the embedder and the ANN index and keeps the index in step with the
    table that another process (``newsdesk ingest``) fills: at most every
    ``refresh_seconds`` it compares counts and reopens the index file (which
    that process saved) when they differ. The BM25 signal is left out here:
    at 100k articles it costs ~0.3 s a page, while names and vectors carry
    the topic (see docs/benchmarks.md).
    """

    def __init__(self, settings: Settings, db: Database, embedder: Embedder | None = None,
                 refresh_seconds: float = 60.0) -> None:
        self.settings, self.db = settings, db
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._checked = 0.0
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()

    def _ready(self) -> tuple[Embedder, VectorIndex]:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            now = time.monotonic()
            if self._index is None or now - self._checked > self.refresh_seconds:
                with self.db.read() as session:
                    stored = count_vectors(session, self._embedder.model_name)
                if self._index is None or len(self._index) != stored:
                    self._index = VectorIndex(self.settings, self.db, self._embedder.dim).open()
                self._checked = now
            return self._embedder, self._index

    def __call__(self, session: Session, article: ArticleRow, limit: int) -> list[ArticleRow]:
        """Related rows, best first; lexical only while the article has no vector yet."""
        if vector_of(session, article.id) is None:
            return [hit.article for hit in search.related(session, article, limit=limit)]
        embedder, index = self._ready()
        found = related_articles(session, index, embedder, article, limit, lexical=False)
        return [row for row, _score, _reasons in found]
