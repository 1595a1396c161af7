"""Small lexical helpers: content words, a light stemmer, idf-weighted overlap.

Embeddings alone happily match "Pope … World Cup" to any sports sentence; the
question's own content words must also be there. These helpers are plain
Python on purpose: they run over hundreds of candidate sentences per question.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")

_STOP_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves
say says said tell told according ask asked many much does did mr mrs ms one ones get got
"""
STOPWORDS = frozenset(_STOP_TEXT.split())

_IRREGULAR = {"sent": "send", "went": "go", "gone": "go", "men": "man", "women": "woman",
              "children": "child", "people": "person", "won": "win", "lost": "lose",
              "met": "meet", "led": "lead", "paid": "pay", "made": "make", "took": "take",
              "gave": "give", "held": "hold", "left": "leave", "began": "begin", "saw": "see"}


def stem(word: str) -> str:
    """A deliberately light stemmer: plural/tense suffixes and a few irregulars."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)] + keep
    return w


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def content_words(text: str) -> list[str]:
    """Stemmed, lower-cased tokens that carry meaning (numbers kept)."""
    out = []
    for tok in tokens(text):
        low = tok.lower().rstrip(".,")
        if low in STOPWORDS or len(low) < 2:
            continue
        out.append(stem(low))
    return out


def idf_table(docs: Iterable[Sequence[str]]) -> dict[str, float]:
    """Inverse document frequency over ``docs`` (each a list of content words)."""
    df: Counter[str] = Counter()
    n = 0
    for doc in docs:
        n += 1
        df.update(set(doc))
    return {w: math.log((n + 1) / (c + 0.5)) + 1.0 for w, c in df.items()}


def overlap(query: Sequence[str], words: Iterable[str], idf: dict[str, float],
            default_idf: float = 1.0) -> float:
    """Share of the query's idf mass present in ``words`` (0..1)."""
    qset = set(query)
    if not qset:
        return 0.0
    have = set(words)
    weight = {w: idf.get(w, default_idf) for w in qset}
    total = sum(weight.values())
    return sum(v for w, v in weight.items() if w in have) / total if total else 0.0
