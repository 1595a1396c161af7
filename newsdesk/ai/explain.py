"""Explain a tag, person, place or organisation from the coverage itself.

A card says what the articles say the thing is — no encyclopedia, no model
knowledge — so it is built from three kinds of evidence: definitional
sentences ("X is a …"), appositives ("X, the …, said") and role titles
("Russian Culture Minister Olga Lyubimova"), ranked by how central they are
among all mentions. A name is often shortened after first use ("Kim Jong Un"
→ "Kim"), so inside an article whose title or text names the full term, its
first and last words count as mentions too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from newsdesk.ai.sentences import Sentence, split_article, trim
from newsdesk.ai.summarize import mmr
from newsdesk.ai.text import STOPWORDS
from newsdesk.ai.types import ArticleLike, Cited, Embedder

MAX_MENTIONS = 60


@dataclass
class Mention:
    """One article's most telling sentence about the term."""

    article_id: int | str
    title: str
    outlet: str
    published_at: datetime | None
    url: str
    sentence: Cited

    def as_dict(self) -> dict[str, Any]:
        when = self.published_at.isoformat() if self.published_at else None
        return {"article_id": self.article_id, "title": self.title, "outlet": self.outlet,
                "published_at": when, "url": self.url, "sentence": self.sentence.as_dict()}


@dataclass
class Card:
    """What the coverage says ``name`` is, where it came up lately, and what goes with it."""

    name: str
    description_sentences: list[Cited] = field(default_factory=list)
    recent_mentions: list[Mention] = field(default_factory=list)
    related_terms: list[str] = field(default_factory=list)
    found: bool = False
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "found": self.found, "note": self.note,
                "description_sentences": [c.as_dict() for c in self.description_sentences],
                "recent_mentions": [m.as_dict() for m in self.recent_mentions],
                "related_terms": list(self.related_terms)}


def display_name(term: str) -> str:
    """``#KimJongUn`` / ``kim-jong-un`` → ``Kim Jong Un``; plain names unchanged."""
    t = term.strip().lstrip("#")
    if "-" in t or "_" in t:
        return " ".join(w.capitalize() if w.islower() else w for w in re.split(r"[-_]+", t) if w)
    if " " not in t and re.search(r"[a-z][A-Z]", t):
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", t)
    return t


def _pattern(words: list[str]) -> re.Pattern[str]:
    body = r"[\s-]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", re.IGNORECASE)


def aliases(name: str) -> list[re.Pattern[str]]:
    """The full name, then its first and last words (used only where the full name occurs)."""
    words = name.split()
    pats = [_pattern(words)]
    if len(words) > 1:
        for w in {words[0], words[-1]}:
            if w.lower() not in STOPWORDS and w[:1].isupper() and len(w) >= 3:
                pats.append(re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])"))
    return pats


@dataclass
class Hit:
    sentence: Sentence
    article: ArticleLike
    kind: str = "mention"  # definition | appositive | role | mention
    span: tuple[int, int] | None = None


def find_mentions(name: str, articles: list[ArticleLike]) -> list[Hit]:
    """Sentences that mention ``name`` (short forms only in articles naming it in full)."""
    pats = aliases(name)
    hits: list[Hit] = []
    for article in articles:
        full = pats[0].search(article.title or "") or pats[0].search(article.text or "")
        if not full:
            continue
        for s in split_article(article):
            if any(p.search(s.text) for p in pats):
                hits.append(classify(Hit(s, article), pats))
    return hits


_COPULA = r"(?:is|was|are|were|has been|remains|becomes|became)"
_DET = r"(?:a|an|the|one of|its|his|her|their)"


def classify(hit: Hit, pats: list[re.Pattern[str]]) -> Hit:
    """Tag a mention as a definition, appositive or role title when it is one."""
    text = hit.sentence.text
    for p in pats:
        for m in p.finditer(text):
            after = text[m.end():]
            if re.match(rf"\s+{_COPULA}\s+{_DET}\b", after):
                hit.kind = "definition"
                return hit
            appo = re.match(rf",\s+(?:{_DET}|who|which)\b[^,;]{{3,120}},", after)
            if appo:
                hit.kind, hit.span = "appositive", (m.start(), m.end() + appo.end() - 1)
                return hit
            if re.search(rf"\b{_COPULA}\s+{_DET}\b[^.]*\bof\s*$", text[:m.start()]):
                hit.kind = "definition"
                return hit
            if re.search(r"(?:[A-Z][\w.'’-]+\s+){2,5}$", text[:m.start()]):
                hit.kind = "role"
    return hit


_KIND_BONUS = {"definition": 1.0, "appositive": 0.8, "role": 0.5, "mention": 0.0}


def _rank(hits: list[Hit], embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    vecs = np.asarray(embedder.encode([h.sentence.text for h in hits]))
    centroid = vecs.mean(axis=0)
    centroid /= float(np.linalg.norm(centroid)) or 1.0
    central = vecs @ centroid
    scores = central + np.array([_KIND_BONUS[h.kind] - 0.02 * h.sentence.position
                                 for h in hits])
    return scores, vecs


def _cite(hit: Hit) -> Cited:
    if hit.span is not None:
        c = trim(hit.sentence, *hit.span)
        return Cited(c.text, c.article_id, c.anchor, c.start, c.end,
                     hit.article.outlet, hit.article.url)
    return hit.sentence.cite(hit.article)


def _when(article: ArticleLike) -> datetime:
    when = article.published_at or datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def recent(hits: list[Hit], scores: np.ndarray, limit: int = 5) -> list[Mention]:
    """One best sentence per article, newest articles first."""
    best: dict[int | str, int] = {}
    for i, h in enumerate(hits):
        j = best.get(h.article.id)
        if j is None or scores[i] > scores[j]:
            best[h.article.id] = i
    picks = sorted(best.values(), key=lambda i: _when(hits[i].article), reverse=True)
    return [Mention(hits[i].article.id, hits[i].article.title, hits[i].article.outlet,
                    hits[i].article.published_at, hits[i].article.url,
                    hits[i].sentence.cite(hits[i].article)) for i in picks[:limit]]


_PROPER = re.compile(r"\b[A-Z][\w'’.-]*[a-z][\w'’-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’.-]*)*")
_GENERIC = {"The", "But", "And", "In", "On", "At", "It", "He", "She", "They", "We", "This",
            "That", "A", "An", "If", "As", "After", "When", "While", "However", "Mr", "Mrs",
            "Ms", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
            "Saturday", "January", "February", "March", "April", "May", "June", "July",
            "August", "September", "October", "November", "December", "Photos", "His", "Her"}


def related(name: str, hits: list[Hit], limit: int = 8) -> list[str]:
    """Proper names that share sentences with the term, by how many articles share them."""
    own = {w.lower() for w in name.split()}
    by_article: Counter[str] = Counter()
    seen: set[tuple[str, int | str]] = set()
    texts = [(h.sentence.text, h.article.id) for h in hits]
    texts += list({h.article.id: (h.article.title, h.article.id) for h in hits}.values())
    for text, article_id in texts:
        for m in _PROPER.finditer(text):
            phrase = re.sub(r"['’]s$", "", m.group(0).strip(" .'’"))
            words = {w.lower() for w in phrase.split()}
            if phrase in _GENERIC or words <= own or own <= words:
                continue
            if (phrase, article_id) not in seen:
                seen.add((phrase, article_id))
                by_article[phrase] += 1
    return [p for p, _ in by_article.most_common(limit)]


def explain(term: str, articles: list[ArticleLike], embedder: Embedder,
            n_descriptions: int = 2) -> Card:
    """A card for ``term`` built only from sentences of ``articles``."""
    name = display_name(term)
    hits = find_mentions(name, articles)[:MAX_MENTIONS]
    if not hits:
        return Card(name, note="Not found in the coverage.")
    scores, vecs = _rank(hits, embedder)
    order = mmr(scores, vecs, n_descriptions, lam=0.7, max_sim=0.9)
    described = [_cite(hits[i]) for i in order]
    return Card(name, described, recent(hits, scores), related(name, hits), found=True)
