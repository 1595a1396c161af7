"""Answer a question by quoting the coverage, or say it is not there.

Retrieval is two-stage because embedding every sentence of every candidate is
too slow on two cores: an idf-weighted overlap with the question's content
words keeps the few dozen plausible sentences, then MiniLM similarity, that
overlap and an answer-type cue ("how many" wants a number, "when" a date)
rank them. A calibrated threshold on both signals decides "found": embeddings
alone rate any on-topic sentence as related, so at least part of the question's
own vocabulary must be in the quote. The answer is the supporting sentences
themselves, each cited — nothing is written that a source did not say.

The embedder is the cost of an answer (tens of ms a sentence on these 2 cores),
so only sentences that can change the answer are embedded: every sentence that
passes the checks needing no vector (names, overlap) and, as possible vetoes,
the few strongest that cannot; when no sentence can pass, the answer is "not
found" without embedding anything. Identical sentences (syndicated copies) are
embedded once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from newsdesk.ai.sentences import Sentence, SentenceCache
from newsdesk.ai.text import STOPWORDS, content_words, idf_table, overlap, stem, tokens
from newsdesk.ai.types import ArticleLike, Cited, Embedder

NOT_FOUND = "Not found in the coverage."
MAX_ARTICLES = 40
POOL = 32  # sentences considered per question (by overlap): quotes and their vetoes
VETOES = 4  # unquotable sentences embedded (besides one per question word), see vetoes()
BATCH = 8  # texts per embedder call, sorted by length: one long sentence pads few others
Split = Callable[[ArticleLike], list[Sentence]]


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


def gather(question: str, articles: list[ArticleLike], split: Split | None = None
           ) -> tuple[list[str], list[Candidate]]:
    """All sentences of the candidates, with their lexical overlap with the question."""
    split = SentenceCache() if split is None else split
    query = content_words(question)
    # every word of the question, stopwords too: "the" hooks nearly every sentence, and so
    # catches the forms a prefix misses ("made" for "make", "cities" for "city")
    hooked = {w[:4] for w in query} | {t.lower()[:4] for t in tokens(question)[1:]}
    cands = []
    words_of: dict[str, list[str]] = {}  # copies share a sentence: stem it once
    for a in articles:
        for s in split(a):
            low = s.text.lower()  # cheap substring test before the stemmer runs
            if s.text not in words_of and any(h in low for h in hooked):
                words_of[s.text] = content_words(s.text)
            cands.append(Candidate(s, a, words_of.get(s.text, [])))
    idf = idf_table(c.words for c in cands)
    rarest = max(idf.values(), default=1.0)  # once: per sentence it was quadratic
    required = set(names(question))
    for c in cands:
        c.lexical = overlap(query, c.words, idf, default_idf=rarest)
        c.names_ok = required <= set(c.words)
    return query, cands


def quotable(c: Candidate, th: Thresholds = DEFAULT) -> bool:
    """Whether ``c`` could be :func:`supported` whatever its cosine (at most 1)."""
    best = th.w_cosine + th.w_overlap * c.lexical + th.w_type
    return c.names_ok and c.lexical >= th.min_overlap and best >= th.min_score


def to_embed(query: list[str], cands: list[Candidate], th: Thresholds = DEFAULT
             ) -> list[Candidate]:
    """The sentences whose vectors can change the answer; none when nothing is quotable.

    Only a quotable sentence can be quoted, so all of them are ranked. One that
    is not matters only if it outranks the best quote: the question is then
    about something else ("troops … China" when the quote names North Korea).
    See :func:`vetoes` for which of those are embedded.
    """
    pool = sorted((c for c in cands if c.lexical > 0),
                  key=lambda c: (-c.lexical, c.sentence.position))[:POOL]
    quotes = [c for c in pool if quotable(c, th)]
    if not quotes:
        return []
    return quotes + vetoes(query, [c for c in pool if not quotable(c, th)])


def vetoes(query: list[str], others: list[Candidate]) -> list[Candidate]:
    """The unquotable sentences likely to outrank a quote (all copies of each).

    The ``VETOES`` with most of the question's vocabulary, and the first that
    holds each question word: a common name has a low idf, so the sentence
    about the company asked for can sit far down the overlap order. On 160
    BBC questions, over copies and over distinct articles (320 answers), these
    gave exactly the answers that embedding all ``POOL`` gave.
    """
    chosen = dict.fromkeys(list(dict.fromkeys(c.sentence.text for c in others))[:VETOES])
    for word in dict.fromkeys(query):
        holder = next((c for c in others if word in c.words), None)
        if holder is not None:
            chosen[holder.sentence.text] = None
    return [c for c in others if c.sentence.text in chosen]


def embed_cosines(question: str, pool: list[Candidate], embedder: Embedder) -> None:
    """Set each candidate's cosine to the question, embedding each distinct text once."""
    texts = list(dict.fromkeys([question, *(c.sentence.text for c in pool)]))
    vecs = np.asarray(embedder.encode(texts, batch_size=BATCH))
    row = {t: i for i, t in enumerate(texts)}
    cos = vecs @ vecs[0]
    for c in pool:
        c.cosine = float(cos[row[c.sentence.text]])


def rank(question: str, cands: list[Candidate], embedder: Embedder,
         th: Thresholds = DEFAULT) -> list[Candidate]:
    """The sentences that can decide the answer, ranked with MiniLM and answer-type cues."""
    pool = to_embed(content_words(question), cands, th)
    if not pool:
        return []
    embed_cosines(question, pool, embedder)
    for c in pool:
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


def ranked(question: str, candidates: list[ArticleLike], embedder: Embedder,
           th: Thresholds = DEFAULT, split: Split | None = None) -> list[Candidate]:
    """Shortlist, gather and rank once: both the answer and the evidence read this."""
    if not content_words(question):
        return []
    _query, cands = gather(question, shortlist(question, candidates), split)
    return rank(question, cands, embedder, th)


def answer_from(question: str, ranking: list[Candidate], th: Thresholds = DEFAULT) -> Answer:
    """The quoted answer from a :func:`ranked` list."""
    if not content_words(question):
        return Answer(NOT_FOUND, [], False, note="The question has no content words.")
    return render(select(ranking, th))


def evidence_from(ranking: list[Candidate], k: int = 6, th: Thresholds = DEFAULT
                  ) -> list[Cited]:
    """The top ``k`` supported sentences of a :func:`ranked` list."""
    return [c.sentence.cite(c.article) for c in ranking if supported(c, th)][:k]


def ask(question: str, candidates: list[ArticleLike], embedder: Embedder,
        th: Thresholds = DEFAULT, split: Split | None = None) -> Answer:
    """Answer ``question`` from ``candidates`` by quotation, or say it is not found."""
    return answer_from(question, ranked(question, candidates, embedder, th, split), th)


def evidence(question: str, candidates: list[ArticleLike], embedder: Embedder,
             k: int = 6, th: Thresholds = DEFAULT, split: Split | None = None) -> list[Cited]:
    """The top ``k`` supported sentences: what an LLM may write its answer from."""
    return evidence_from(ranked(question, candidates, embedder, th, split), k, th)
