"""Story brief: what most outlets agree on, what each adds, and when it came out.

The Ground News / Particle view, extractive: two sentences from different
outlets that MiniLM puts close together report the same fact, so a sentence
whose paraphrases appear at several outlets is "what happened", and one with
no close match anywhere else is what that outlet adds. Only sentences are
returned, each cited (and agreed facts list the other outlets' versions), so
the brief is as faithful as the articles themselves. Input is a plain list of
articles: whoever clusters stories passes the members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from newsdesk.ai.sentences import Sentence
from newsdesk.ai.summarize import encode_article, mmr
from newsdesk.ai.types import ArticleLike, Cited, Embedder

PER_ARTICLE = 30  # sentences per article considered; leads carry the facts
AGREE = 0.62  # cosine above which two sentences report the same fact
UNIQUE = 0.45  # below this against every other outlet, a sentence is that outlet's own
MIN_WORDS = 7


@dataclass
class Fact:
    """A sentence that several outlets report, with their versions as support."""

    sentence: Cited
    outlets: list[str]
    support: list[Cited] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence.as_dict(), "outlets": self.outlets,
                "support": [c.as_dict() for c in self.support]}


@dataclass
class Event:
    """A timeline entry: an article's publication."""

    when: datetime | None
    outlet: str
    title: str
    article_id: int | str
    url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"when": self.when.isoformat() if self.when else None, "outlet": self.outlet,
                "title": self.title, "article_id": self.article_id, "url": self.url}


@dataclass
class Brief:
    what_happened: list[Fact] = field(default_factory=list)
    unique_by_outlet: dict[str, list[Cited]] = field(default_factory=dict)
    timeline: list[Event] = field(default_factory=list)
    mode: str = "extractive"
    note: str = ""
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"what_happened": [f.as_dict() for f in self.what_happened],
                "unique_by_outlet": {o: [c.as_dict() for c in cs]
                                     for o, cs in self.unique_by_outlet.items()},
                "timeline": [e.as_dict() for e in self.timeline],
                "mode": self.mode, "note": self.note, "text": self.text}


@dataclass
class Pool:
    """Every considered sentence of the story with its article, outlet and vector."""

    sentences: list[Sentence]
    articles: list[ArticleLike]
    outlets: list[str]
    vectors: np.ndarray

    def cite(self, i: int) -> Cited:
        return self.sentences[i].cite(self.articles[i])


def outlet_of(article: ArticleLike) -> str:
    return article.outlet or f"article {article.id}"


def build_pool(articles: list[ArticleLike], embedder: Embedder) -> Pool:
    sents: list[Sentence] = []
    owners: list[ArticleLike] = []
    vecs: list[np.ndarray] = []
    for a in articles:
        enc = encode_article(a, embedder, limit=PER_ARTICLE)
        sents += enc.sentences
        owners += [a] * len(enc.sentences)
        if enc.sentences:
            vecs.append(enc.vectors)
    matrix = np.vstack(vecs) if vecs else np.zeros((0, 384), dtype=np.float32)
    return Pool(sents, owners, [outlet_of(a) for a in owners], matrix)


def agreement(pool: Pool) -> tuple[np.ndarray, list[dict[str, int]]]:
    """For each sentence, the closest sentence of every other outlet above ``AGREE``."""
    sims = pool.vectors @ pool.vectors.T
    outlets = np.array(pool.outlets)
    matches: list[dict[str, int]] = []
    for i in range(len(pool.sentences)):
        best: dict[str, int] = {}
        for j in np.flatnonzero((sims[i] >= AGREE) & (outlets != outlets[i])):
            o = pool.outlets[j]
            if o not in best or sims[i, j] > sims[i, best[o]]:
                best[o] = int(j)
        matches.append(best)
    return sims, matches


def _centrality(pool: Pool) -> np.ndarray:
    centroid = pool.vectors.mean(axis=0)
    centroid /= float(np.linalg.norm(centroid)) or 1.0
    return np.asarray(pool.vectors @ centroid)


def facts(pool: Pool, sims: np.ndarray, matches: list[dict[str, int]],
          limit: int = 4) -> list[Fact]:
    """Sentences echoed by the most outlets (ties: more central, earlier)."""
    central = _centrality(pool)
    pos = np.array([s.position for s in pool.sentences], dtype=np.float32)
    agree = np.array([len(m) for m in matches], dtype=np.float32)
    ok = np.array([s.words >= MIN_WORDS for s in pool.sentences]) & (agree > 0)
    scores = np.where(ok, agree + central + 0.5 * np.exp(-0.3 * pos), -1e3)
    picks = [i for i in mmr(scores, pool.vectors, limit, lam=0.9, max_sim=AGREE)
             if scores[i] > 0]
    return [Fact(pool.cite(i), [pool.outlets[i], *sorted(matches[i])],
                 [pool.cite(j) for _, j in sorted(matches[i].items())]) for i in picks]


def unique(pool: Pool, sims: np.ndarray, per_outlet: int = 2) -> dict[str, list[Cited]]:
    """For each outlet, its on-topic sentences that no other outlet comes close to."""
    central = _centrality(pool)
    outlets = np.array(pool.outlets)
    out: dict[str, list[Cited]] = {}
    if len(set(pool.outlets)) < 2:
        return out
    for o in dict.fromkeys(pool.outlets):
        mine = np.flatnonzero(outlets == o)
        others = np.flatnonzero(outlets != o)
        closest = sims[np.ix_(mine, others)].max(axis=1)
        keep = [int(i) for i, c in zip(mine, closest, strict=True)
                if c < UNIQUE and pool.sentences[i].words >= MIN_WORDS]
        keep.sort(key=lambda i: -(central[i] + 0.3 * np.exp(-0.3 * pool.sentences[i].position)))
        if keep:
            out[o] = [pool.cite(i) for i in keep[:per_outlet]]
    return out


def timeline(articles: list[ArticleLike]) -> list[Event]:
    """Articles by publication time, undated ones last."""
    def key(a: ArticleLike) -> tuple[int, datetime]:
        when = a.published_at
        if when is None:
            return (1, datetime.min.replace(tzinfo=UTC))
        return (0, when if when.tzinfo else when.replace(tzinfo=UTC))

    return [Event(a.published_at, outlet_of(a), a.title, a.id, a.url)
            for a in sorted(articles, key=key)]


def story_brief(articles: list[ArticleLike], embedder: Embedder) -> Brief:
    """The brief of a story given its member articles."""
    if not articles:
        return Brief(note="No articles.")
    pool = build_pool(articles, embedder)
    if not pool.sentences:
        return Brief(timeline=timeline(articles), note="The articles have no text.")
    sims, matches = agreement(pool)
    found = facts(pool, sims, matches)
    note = ""
    if not found:
        found = _single_source(pool)
        note = "No fact is reported by more than one outlet; showing the most central ones."
    return Brief(found, unique(pool, sims), timeline(articles), note=note)


def _single_source(pool: Pool, limit: int = 3) -> list[Fact]:
    central = _centrality(pool)
    pos = np.array([s.position for s in pool.sentences], dtype=np.float32)
    scores = central + 0.5 * np.exp(-0.3 * pos)
    return [Fact(pool.cite(i), [pool.outlets[i]]) for i in mmr(scores, pool.vectors, limit, 0.7)]
