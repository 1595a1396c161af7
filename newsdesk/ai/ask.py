"""Answer a question by quoting the coverage, or say it is not there.

Retrieval is two-stage because embedding every sentence of every candidate is
too slow on two cores: an idf-weighted overlap with the question's content
words keeps the few dozen plausible sentences, then MiniLM similarity, that
overlap and an answer-type cue ("how many" wants a number, "when" a date)
rank them. A calibrated threshold on both signals decides "found": embeddings
alone rate any on-topic sentence as related, so at least part of the question's
own vocabulary must be in the quote. The answer is the supporting sentences
themselves, each cited — nothing is written that a source did not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from newsdesk.ai.sentences import Sentence, split_article
from newsdesk.ai.text import STOPWORDS, content_words, idf_table, overlap, stem, tokens
from newsdesk.ai.types import ArticleLike, Cited, Embedder

NOT_FOUND = "Not found in the coverage."
MAX_ARTICLES = 40
POOL = 32  # sentences embedded per question


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on hand-checked questions over the seed and the BBC corpus.

    ``min_overlap``: share of the question's idf mass a quote must contain;
    ``min_cosine``: MiniLM similarity floor; ``min_score``: the blended floor;
    ``margin``: how close to the best a second or third quote must score.
    """

    min_overlap: float = 0.4
    min_cosine: float = 0.3
    min_score: float = 0.45
    margin: float = 0.08
    w_cosine: float = 0.55
    w_overlap: float = 0.45
    w_type: float = 0.1


DEFAULT = Thresholds()


@dataclass
class Answer:
    """A quoted answer: ``text`` is the cited sentences with [n] markers."""

    text: str
    citations: list[Cited] = field(default_factory=list)
    found: bool = False
    mode: str = "extractive"
    note: str = ""
    scores: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "found": self.found, "mode": self.mode, "note": self.note,
                "citations": [c.as_dict() for c in self.citations]}


@dataclass
class Candidate:
    sentence: Sentence
    article: ArticleLike
    words: list[str]
    lexical: float = 0.0
    cosine: float = 0.0
    bonus: float = 0.0
    score: float = 0.0
    names_ok: bool = True


_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|"
                     r"hundred|thousand|million|billion|percent|half)s?\b", re.I)
_DATE = re.compile(r"\b(?:19|20)\d\d\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                   r"[a-z]*\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|\byesterday\b"
                   r"|\btoday\b|\blast (?:week|month|year)\b", re.I)
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+(?: [A-Z][a-z]+)+")


def answer_type_bonus(question: str, sentence: str) -> float:
    """1 when the sentence holds the kind of thing the question asks for."""
    q = question.lower()
    if re.match(r"\s*(how (many|much|long|old|far|big)|what (number|percentage|share))", q):
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if re.match(r"\s*(when|what (year|date|day|time))", q):
        return 1.0 if _DATE.search(sentence) else 0.0
    if re.match(r"\s*(who|whom|whose)", q):
        return 1.0 if _NAME.search(sentence) else 0.0
    return 0.0


def names(question: str) -> list[str]:
    """Stems of the capitalised words past the first: the names a quote must contain.

    "How tall is the Eiffel Tower?" must not be answered by any sentence about
    a tall tower; a lower-case question has no such constraint.
    """
    toks = tokens(question)[1:]
    return [stem(t.rstrip(".,")) for t in toks
            if t[:1].isupper() and t.lower() not in STOPWORDS and len(t) > 1]


def shortlist(question: str, articles: list[ArticleLike], limit: int = MAX_ARTICLES
              ) -> list[ArticleLike]:
    """Cheap article pre-filter when the caller hands over more than ``limit``."""
    if len(articles) <= limit:
        return articles
    q = set(content_words(question))
    scored = [(len(q & set(content_words(f"{a.title} {a.text[:2000]}"))), i)
              for i, a in enumerate(articles)]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [articles[i] for _, i in scored[:limit]]


def gather(question: str, articles: list[ArticleLike]) -> tuple[list[str], list[Candidate]]:
    """All sentences of the candidates, with their lexical overlap with the question."""
    query = content_words(question)
    hooks = {w[:4] for w in query} | {t.lower()[:4] for t in tokens(question)[1:]}
    cands = []
    for a in articles:
        for s in split_article(a):
            low = s.text.lower()  # cheap substring test before the stemmer runs
            words = content_words(s.text) if any(h in low for h in hooks) else []
            cands.append(Candidate(s, a, words))
    idf = idf_table(c.words for c in cands)
    required = set(names(question))
    for c in cands:
        c.lexical = overlap(query, c.words, idf, default_idf=max(idf.values(), default=1.0))
        c.names_ok = required <= set(c.words)
    return query, cands


def rank(question: str, cands: list[Candidate], embedder: Embedder,
         th: Thresholds = DEFAULT) -> list[Candidate]:
    """The top of the lexical pool, re-ranked with MiniLM and answer-type cues."""
    pool = sorted((c for c in cands if c.lexical > 0),
                  key=lambda c: (-c.lexical, c.sentence.position))[:POOL]
    if not pool:
        return []
    texts = [question] + [c.sentence.text for c in pool]
    vecs = np.asarray(embedder.encode(texts, batch_size=len(texts)))
    cos = vecs[1:] @ vecs[0]
    for c, value in zip(pool, cos, strict=True):
        c.cosine = float(value)
        c.bonus = answer_type_bonus(question, c.sentence.text)
        c.score = th.w_cosine * c.cosine + th.w_overlap * c.lexical + th.w_type * c.bonus
    return sorted(pool, key=lambda c: -c.score)


def supported(c: Candidate, th: Thresholds = DEFAULT) -> bool:
    return (c.names_ok and c.lexical >= th.min_overlap and c.cosine >= th.min_cosine
            and c.score >= th.min_score)


def select(ranked: list[Candidate], th: Thresholds = DEFAULT, k: int = 3) -> list[Candidate]:
    """The best quote and up to ``k - 1`` close seconds that add something."""
    if not ranked or not supported(ranked[0], th):
        return []
    picks = [ranked[0]]
    seen = {ranked[0].sentence.text.lower()}
    for c in ranked[1:]:
        if len(picks) >= k or c.score < ranked[0].score - th.margin:
            break
        if supported(c, th) and c.sentence.text.lower() not in seen:
            picks.append(c)
            seen.add(c.sentence.text.lower())
    return picks


def render(picks: list[Candidate]) -> Answer:
    """Quote each pick followed by its citation number."""
    if not picks:
        return Answer(NOT_FOUND, [], False)
    cites = [c.sentence.cite(c.article) for c in picks]
    text = " ".join(f"{c.text} [{i}]" for i, c in enumerate(cites, 1))
    return Answer(text, cites, True, scores=[round(c.score, 3) for c in picks])


def ask(question: str, candidates: list[ArticleLike], embedder: Embedder,
        th: Thresholds = DEFAULT) -> Answer:
    """Answer ``question`` from ``candidates`` by quotation, or say it is not found."""
    if not content_words(question):
        return Answer(NOT_FOUND, [], False, note="The question has no content words.")
    _query, cands = gather(question, shortlist(question, candidates))
    return render(select(rank(question, cands, embedder, th), th))


def evidence(question: str, candidates: list[ArticleLike], embedder: Embedder,
             k: int = 6, th: Thresholds = DEFAULT) -> list[Cited]:
    """The top ``k`` supported sentences: what an LLM may write its answer from."""
    _query, cands = gather(question, shortlist(question, candidates))
    ranked = [c for c in rank(question, cands, embedder, th) if supported(c, th)]
    return [c.sentence.cite(c.article) for c in ranked[:k]]
