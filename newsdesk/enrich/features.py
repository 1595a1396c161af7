"""Cheap lexical features for story clustering: key terms and named entities.

An embedding says what an article is *about* ("an earthquake", "a rehab
check-in"); it is weak at telling *which* one. Two earthquakes a year apart
share almost every word but the names, places and numbers, so the clusterer
also needs those. Everything here is online: document frequencies grow as
articles stream in, so no corpus has to be fitted up front and the product and
the evaluation compute identical features.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

SparseVec = dict[str, float]

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
_CAP_WORD = r"[A-Z][\w’'-]*(?:\.[\w’'-]+)*"
_JOINER = r"(?:(?:of|de|la|von|van|al|bin|the)\s+)?"
_CAP_PHRASE = re.compile(rf"\b{_CAP_WORD}(?:\s+{_JOINER}{_CAP_WORD})*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"“”]\s+|\n\s*)$")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")

def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())



STOPWORDS = _wordset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me more
most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves said says say told tell one two new year years time
according would could may might must shall us mr mrs ms per cent percent since still even much many
via like get got just week day days today yesterday tomorrow monday tuesday wednesday thursday
friday saturday sunday last first next made make back well way around another ago told reported
report reports news people s t don
""")

# Capitalised words that start sentences or titles without naming anything.
_NON_ENTITY = STOPWORDS | _wordset(
    "january february march april may june july august september october november december "
    "he she it they we i but and the a an in on at for this that these those its his her their "
    "after before when while as if so there here what who why how according")


def tokens(text: str) -> list[str]:
    """Lower-cased content words: stop words, one-letter words and bare numbers dropped."""
    out = []
    for raw in _WORD.findall(text.lower()):
        word = raw.strip("'’.-")
        if len(word) < 2 or word in STOPWORDS or word.isdigit():
            continue
        out.append(_light_stem(word))
    return out


def _light_stem(word: str) -> str:
    """Fold the commonest English plural/possessive endings so "quakes" meets "quake"."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def entities(text: str) -> list[str]:
    """Names, places and numbers: capitalised phrases plus numeric tokens, lower-cased.

    A capitalised word opening a sentence counts only if the text also
    capitalises it mid-sentence; that drops "Rescuers", "Magnitude", "After"
    openers without a tagger. A phrase also yields its last word ("Lohan" of
    "Lindsay Lohan") so later short mentions still match. Numbers (magnitudes,
    death tolls, years) are what most often tell two same-kind events apart.
    """
    spans = [(m.group(0), _starts_sentence(text, m.start())) for m in _CAP_PHRASE.finditer(text)]
    mid = {w.lower() for phrase, start in spans if not start for w in phrase.split()}
    found: list[str] = []
    for phrase, at_start in spans:
        words = phrase.split()
        if at_start and (words[0].lower() in _NON_ENTITY or words[0].lower() not in mid):
            words = words[1:]
        words = [w for w in words if not w[0].isdigit()]
        if not words or (len(words) == 1 and words[0].lower() in _NON_ENTITY):
            continue
        found.append(" ".join(w.lower() for w in words))
        if len(words) > 1:
            found.append(words[-1].lower())
    found.extend("#" + n.replace(",", "") for n in _NUMBER.findall(text))
    return found


def _starts_sentence(text: str, pos: int) -> bool:
    return bool(_SENTENCE_START.search(text[max(0, pos - 4):pos]))


def entity_text(title: str, text: str) -> str:
    """The part of an article whose entities matter: the opening, and the title unless it
    is Title Cased (where capitals say nothing about names)."""
    words = title.split()
    shouting = sum(w[:1].isupper() for w in words) > 0.6 * len(words)
    return text[:3000] if shouting or not title else f"{title}.\n{text[:3000]}"


class DocFreq:
    """Online document frequencies: the IDF of a term is what the stream has shown so far.

    Weights computed early in a stream are noisier than late ones; the
    clusterer compensates by smoothing (``log((n + 1) / (df + 1)) + 1``) and by
    recomputing a story's profile weights at comparison time, never storing IDF.
    """

    def __init__(self, counts: Mapping[str, int] | None = None, docs: int = 0) -> None:
        self.df: Counter[str] = Counter(counts or {})
        self.docs = docs

    def add(self, terms: Iterable[str]) -> None:
        self.docs += 1
        self.df.update(set(terms))

    def idf(self, term: str) -> float:
        return math.log((self.docs + 1) / (self.df.get(term, 0) + 1)) + 1.0


def tf_vector(items: Iterable[str], keep: int = 60) -> SparseVec:
    """Sub-linear term frequencies of the ``keep`` most frequent items (no IDF yet)."""
    counts = Counter(items)
    top = counts.most_common(keep)
    return {t: 1.0 + math.log(c) for t, c in top}


def weighted(tf: Mapping[str, float], df: DocFreq) -> SparseVec:
    """TF-IDF with the stream's current IDF, L2-normalised."""
    vec = {t: w * df.idf(t) for t, w in tf.items()}
    return normalised(vec)


def normalised(vec: Mapping[str, float]) -> SparseVec:
    norm = math.sqrt(sum(w * w for w in vec.values()))
    return {t: w / norm for t, w in vec.items()} if norm > 0 else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two L2-normalised sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def add_into(total: dict[str, float], vec: Mapping[str, float], cap: int) -> None:
    """Accumulate ``vec`` into a profile, pruning it to the ``cap`` heaviest entries."""
    for t, w in vec.items():
        total[t] = total.get(t, 0.0) + w
    if len(total) > cap * 2:
        for t, _w in sorted(total.items(), key=lambda kv: kv[1])[: len(total) - cap]:
            del total[t]

