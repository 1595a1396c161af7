"""Syndicated copies and near-duplicates: one wire text on many outlets, shown once.

Exact re-ingests are already idempotent in the store (URL and content hash);
this catches the same text under other outlets' URLs, with their own headline,
an extra chrome line or a trimmed last paragraph. Method: MinHash over word
5-shingles of the normalised body (128 permutations) and an LSH index that
proposes candidates at a loose Jaccard threshold; a candidate is a copy when
its estimated Jaccard is at least :data:`JACCARD` or when the smaller text is
almost entirely contained in the larger (:data:`CONTAINMENT`). Containment is
estimated from the Jaccard and both shingle counts, which is why a stored
signature carries its count.

Signature bytes (``article_signatures.minhash``): ``b"MH1"``, a little-endian
uint32 shingle count, then the 128 hash values as little-endian uint32 (all
MinHash values are below 2**32: datasketch's "affine32" scheme).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash, MinHashLSH
from sqlalchemy.orm import Session

from newsdesk.model import normalise_text
from newsdesk.store import dedup as store
from newsdesk.store.tables import ArticleRow

NUM_PERM = 128
SHINGLE = 5
SEED = 1
SCHEME = "affine32"  # datasketch >= 2.0; part of the stored format, never change silently
JACCARD = 0.8  # a copy, whatever the sizes
CONTAINMENT = 0.85  # a trimmed or padded copy: most of the smaller text inside the larger
CANDIDATE_THRESHOLD = 0.5  # LSH recall threshold; verification above decides
PREFILTER_JACCARD = 0.6  # sketch estimates a candidate must reach before the exact check
PREFILTER_CONTAINMENT = 0.7
MIN_SHINGLES = 20  # shorter texts (captions, teasers) are too short to call copies
_MAGIC = b"MH1"
_WORD = re.compile(r"\w+")


def shingles(text: str, k: int = SHINGLE) -> set[bytes]:
    """Word k-shingles of each paragraph of the normalised text.

    Shingles never span two paragraphs, so an added chrome line ("Advertisement",
    "Read more: ...") or a dropped paragraph changes only its own shingles, and
    lines shorter than ``k`` words add nothing at all.
    """
    grams: set[bytes] = set()
    for line in text.split("\n"):
        words = _WORD.findall(normalise_text(line))
        grams.update(" ".join(words[i:i + k]).encode("utf-8")
                     for i in range(len(words) - k + 1))
    return grams


def sketch(text: str) -> tuple[MinHash, int]:
    """The MinHash of a text and its number of shingles."""
    grams = shingles(text)
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    if grams:
        mh.update_batch(list(grams))
    return mh, len(grams)


def signature(text: str) -> MinHash:
    """The MinHash of a text (see :func:`sketch` for the shingle count too)."""
    return sketch(text)[0]


def encode(mh: MinHash, size: int) -> bytes:
    """Signature bytes for ``article_signatures.minhash``."""
    values = np.asarray(mh.hashvalues, dtype="<u4")
    return _MAGIC + struct.pack("<I", size) + values.tobytes()


def decode(data: bytes) -> tuple[MinHash, int]:
    """The MinHash and shingle count stored by :func:`encode`."""
    if data[:3] != _MAGIC:
        raise ValueError("not a newsdesk MinHash signature")
    (size,) = struct.unpack("<I", data[3:7])
    values = np.frombuffer(data[7:], dtype="<u4").astype(np.uint32)
    return MinHash(num_perm=len(values), seed=SEED, hashvalues=values, scheme=SCHEME), size


@dataclass(frozen=True)
class Match:
    """A verified near-duplicate: the other article and how close it is."""

    article_id: int
    jaccard: float
    containment: float


def estimate(a: MinHash, size_a: int, b: MinHash, size_b: int) -> tuple[float, float]:
    """(Jaccard, containment of the smaller text in the larger), from the sketches."""
    j = float(a.jaccard(b))
    smaller = min(size_a, size_b)
    if smaller == 0:
        return j, 0.0
    inter = j * (size_a + size_b) / (1.0 + j)
    return j, min(1.0, inter / smaller)


def is_copy(jaccard: float, containment: float) -> bool:
    return jaccard >= JACCARD or containment >= CONTAINMENT


@dataclass
class DedupIndex:
    """An in-memory LSH index of article signatures, rebuilt from the database on start."""

    lsh: MinHashLSH = field(default_factory=lambda: MinHashLSH(
        threshold=CANDIDATE_THRESHOLD, num_perm=NUM_PERM))
    sketches: dict[int, tuple[MinHash, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> DedupIndex:
        """Every stored signature; a few seconds per 100k articles."""
        index = cls()
        for article_id, data in store.iter_signatures(session):
            mh, size = decode(data)
            index.add(article_id, mh, size)
        return index

    def __len__(self) -> int:
        return len(self.sketches)

    def add(self, article_id: int, mh: MinHash, size: int) -> None:
        if article_id in self.sketches or size < MIN_SHINGLES:
            return
        self.lsh.insert(article_id, mh)
        self.sketches[article_id] = (mh, size)

    def remove(self, article_id: int) -> None:
        if self.sketches.pop(article_id, None) is not None:
            self.lsh.remove(article_id)

    def matches(self, mh: MinHash, size: int, *, exclude: int | None = None,
                text: str | None = None,
                fetch: Callable[[int], str | None] | None = None) -> list[Match]:
        """Verified copies of a sketch, closest first.

        Candidates from the LSH pass a loose check on the sketch estimates; when
        the text and a way to ``fetch`` the candidates' texts are given, the
        decision is then taken on their exact shingle sets (128 permutations
        estimate Jaccard to about +-0.04, which matters right at the threshold).
        """
        if size < MIN_SHINGLES:
            return []
        exact = shingles(text) if text is not None and fetch is not None else None
        found = []
        for other in self.lsh.query(mh):
            if other == exclude:
                continue
            omh, osize = self.sketches[other]
            j, c = estimate(mh, size, omh, osize)
            if j < PREFILTER_JACCARD and c < PREFILTER_CONTAINMENT:
                continue
            if exact is not None and fetch is not None:
                other_text = fetch(int(other))
                if other_text is None:
                    continue
                j, c = overlap(exact, shingles(other_text))
            if is_copy(j, c):
                found.append(Match(int(other), j, c))
        return sorted(found, key=lambda m: (-m.jaccard, m.article_id))


def overlap(a: set[bytes], b: set[bytes]) -> tuple[float, float]:
    """Exact (Jaccard, containment of the smaller set in the larger)."""
    inter = len(a & b)
    union = len(a | b)
    smaller = min(len(a), len(b))
    return (inter / union if union else 0.0), (inter / smaller if smaller else 0.0)


def find_duplicate(index: DedupIndex, session: Session, article_id: int,
                   text: str) -> int | None:
    """The original (earliest article of the copy group) this article copies, if any.

    None when nothing matches, or when this article is itself the earliest of
    its group (then :func:`record` makes it the group's original).
    """
    mh, size = sketch(text)
    group = _group(index, session, article_id, text, mh, size)
    if not group:
        return None
    original = store.earliest(session, [*group, article_id])
    return None if original == article_id else original


def record(index: DedupIndex, session: Session, article_id: int, text: str) -> int | None:
    """Sketch, store and index one article and link it to its copy group.

    Returns the original it duplicates (``articles.duplicate_of``) or None.
    If it is older than the group's current original (a backfill), the group is
    re-pointed at it.
    """
    mh, size = sketch(text)
    group = _group(index, session, article_id, text, mh, size)
    store.save_signature(session, article_id, encode(mh, size))
    index.add(article_id, mh, size)
    if not group:
        store.mark_duplicate(session, article_id, None)
        return None
    original = store.earliest(session, [*group, article_id])
    for member in (*group, article_id):
        store.mark_duplicate(session, member, None if member == original else original)
    return None if original == article_id else original


def _text_of(session: Session, article_id: int) -> str | None:
    row = session.get(ArticleRow, article_id)
    return None if row is None else row.text


def _group(index: DedupIndex, session: Session, article_id: int, text: str, mh: MinHash,
           size: int) -> list[int]:
    """The ids of every article in the copy groups this sketch matches."""
    direct = [m.article_id for m in index.matches(mh, size, exclude=article_id, text=text,
                                                  fetch=lambda i: _text_of(session, i))]
    if not direct:
        return []
    return [i for i in store.group_members(session, direct) if i != article_id]
