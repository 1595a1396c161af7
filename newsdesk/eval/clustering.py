"""Story-clustering benchmark: our online clusterer against two baselines, same run.

The dataset is a JSONL file of ``{"id", "cluster", "title", "text"}`` plus,
where known, ``"date"`` and ``"outlet"`` (the format of
``../shared/data/clustering/``). Articles stream in date order (file order when
there are no dates) through :class:`newsdesk.enrich.cluster.StoryClusterer`,
exactly the code the product runs, one decision per article.

Scores, as ``../shared/data/README.md`` defines them:

* B-cubed precision/recall: per article, the overlap of its predicted and gold
  clusters over the predicted (resp. gold) size, averaged over articles; F1 is
  the harmonic mean of the two averages.
* pairwise F1 over all same-cluster pairs.
* NMI normalised by the geometric mean of the two entropies, the form used by
  Yin & Wang (KDD 2014), whose GSDMM figure (0.928) is the anchor.

The same run scores both levels the product builds: ``ours`` is stories
(events: what ECB+ and Google News label) and ``ours.topics`` the second level,
stories grouped into topics (what WikiRef220 labels), from the same single pass.

Baselines, computed in the same process:

* ``title_overlap``: what NewsBlur ships -- an article joins the cluster of the
  earlier article whose title words overlap its own by at least 0.6
  (``|A & B| / max(|A|, |B|)``); an empty title is replaced by the first sentence.
* ``tfidf_single_pass``: classic single-pass clustering on TF-IDF cosine to
  cluster centroids (IDF fitted on the whole file, threshold 0.3).
"""

from __future__ import annotations

import importlib
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.enrich import features as ft
from newsdesk.enrich.cluster import (
    ArticleInput,
    ClusterConfig,
    Encoder,
    StoryClusterer,
    embedding_text,
)

Progress = Callable[[int, int], None]

TITLE_OVERLAP = 0.6
TFIDF_THRESHOLD = 0.3
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Record:
    """One benchmark article with its gold cluster."""

    id: str
    cluster: str
    title: str
    text: str
    date: datetime | None = None
    outlet: str = ""


def load_records(dataset: Path, limit: int | None = None) -> list[Record]:
    """Read the JSONL file and order it by date (stable: file order breaks ties)."""
    records: list[Record] = []
    with dataset.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            raw = json.loads(line)
            records.append(Record(str(raw["id"]), str(raw["cluster"]), raw.get("title") or "",
                                  raw.get("text") or "", _parse_date(raw.get("date")),
                                  raw.get("outlet") or ""))
    if any(r.date for r in records):
        floor = datetime.min.replace(tzinfo=UTC)
        records.sort(key=lambda r: r.date or floor)
    return records[:limit] if limit else records


def _parse_date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- metrics -------------------------------------------------------------------


def scores(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """B-cubed P/R/F1, pairwise F1 and NMI of a predicted clustering against gold."""
    joint = Counter(zip(gold, pred, strict=True))
    gsize, psize = Counter(gold), Counter(pred)
    n = len(gold)
    precision = sum(c * c / psize[p] for (_g, p), c in joint.items()) / n
    recall = sum(c * c / gsize[g] for (g, _p), c in joint.items()) / n
    return {
        "bcubed_precision": round(precision, 4),
        "bcubed_recall": round(recall, 4),
        "bcubed_f1": round(_harmonic(precision, recall), 4),
        "pairwise_f1": round(_pairwise_f1(joint, gsize, psize), 4),
        "nmi": round(_nmi(joint, gsize, psize, n), 4),
        "clusters": len(psize),
    }


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def _pairs(k: int) -> int:
    return k * (k - 1) // 2


def _pairwise_f1(joint: Counter[Any], gsize: Counter[Any], psize: Counter[Any]) -> float:
    tp = sum(_pairs(c) for c in joint.values())
    pred_pairs = sum(_pairs(c) for c in psize.values())
    gold_pairs = sum(_pairs(c) for c in gsize.values())
    if tp == 0:
        return 0.0
    return _harmonic(tp / pred_pairs, tp / gold_pairs)


def _nmi(joint: Counter[Any], gsize: Counter[Any], psize: Counter[Any], n: int) -> float:
    mutual = sum(c / n * math.log(n * c / (gsize[g] * psize[p])) for (g, p), c in joint.items())
    hg = -sum(c / n * math.log(c / n) for c in gsize.values())
    hp = -sum(c / n * math.log(c / n) for c in psize.values())
    if hg == 0 or hp == 0:
        return 1.0 if hg == hp else 0.0
    return mutual / math.sqrt(hg * hp)


# -- our clusterer ----------------------------------------------------------------


def default_encoder() -> Encoder | None:
    """The product's MiniLM embedder, or None when it is not installed (TF-IDF only)."""
    try:
        module = importlib.import_module("newsdesk.enrich.embed")
    except ImportError:
        return None
    encoder: Encoder = module.load_embedder()
    return encoder


def run_ours(records: Sequence[Record], encoder: Encoder | None,
             config: ClusterConfig | None = None, progress: Progress | None = None,
             batch: int = 64) -> tuple[list[int], list[int]]:
    """Stream the records through the product clusterer; return each one's story and topic key.

    Embeddings are computed in batches ahead of the stream purely for speed: an
    article's vector depends on nothing but its own text.
    """
    clusterer = StoryClusterer(config)
    labels: list[int] = []
    topics: list[int] = []
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        vectors = _encode(encoder, chunk)
        for i, rec in enumerate(chunk):
            item = ArticleInput(rec.id, rec.title, rec.text, rec.date, rec.outlet,
                                None if vectors is None else vectors[i])
            story = clusterer.add(item).story
            labels.append(story.key)
            topics.append(story.topic if story.topic is not None else -story.key)
        if progress:
            progress(len(labels), len(records))
    return labels, topics


def _encode(encoder: Encoder | None, chunk: Sequence[Record]) -> np.ndarray | None:
    if encoder is None:
        return None
    return encoder.encode([embedding_text(r.title, r.text) for r in chunk])


# -- baselines -------------------------------------------------------------------


def _title_words(rec: Record) -> set[str]:
    title = rec.title or _FIRST_SENTENCE.split(rec.text.strip(), maxsplit=1)[0]
    return {w for w in re.findall(r"\w+", title.lower()) if w not in ft.STOPWORDS}


def title_overlap(records: Sequence[Record], threshold: float = TITLE_OVERLAP) -> list[int]:
    """NewsBlur-style: join the earlier article whose title words overlap at least ``threshold``."""
    postings: dict[str, list[int]] = defaultdict(list)
    words_of: list[set[str]] = []
    labels: list[int] = []
    for i, rec in enumerate(records):
        words = _title_words(rec)
        shared = Counter(j for w in words for j in postings[w])
        best, best_overlap = -1, 0.0
        for j, common in shared.items():
            overlap = common / max(len(words), len(words_of[j]))
            if overlap > best_overlap:
                best, best_overlap = j, overlap
        labels.append(labels[best] if best >= 0 and best_overlap >= threshold else i)
        words_of.append(words)
        for w in words:
            postings[w].append(i)
    return labels


def tfidf_single_pass(records: Sequence[Record], threshold: float = TFIDF_THRESHOLD) -> list[int]:
    """Single-pass clustering: TF-IDF cosine to running cluster centroids."""
    docs = [ft.tokens(f"{r.title} {r.text}") for r in records]
    df = ft.DocFreq()
    for toks in docs:
        df.add(toks)
    sums: list[dict[str, float]] = []
    norms2: list[float] = []
    postings: dict[str, set[int]] = defaultdict(set)
    labels: list[int] = []
    for toks in docs:
        vec = ft.weighted(ft.tf_vector(toks, keep=10_000), df)
        dots: dict[int, float] = defaultdict(float)
        for t, w in vec.items():
            for c in postings[t]:
                dots[c] += w * sums[c][t]
        best, best_cos = -1, 0.0
        for c, dot in dots.items():
            cos = dot / math.sqrt(norms2[c])
            if cos > best_cos:
                best, best_cos = c, cos
        if best < 0 or best_cos < threshold:
            sums.append({})
            norms2.append(0.0)
            best = len(sums) - 1
        _add_to_centroid(sums[best], vec, postings, best)
        norms2[best] = sum(w * w for w in sums[best].values())
        labels.append(best)
    return labels


def _add_to_centroid(total: dict[str, float], vec: dict[str, float],
                     postings: dict[str, set[int]], cluster: int) -> None:
    for t, w in vec.items():
        total[t] = total.get(t, 0.0) + w
        postings[t].add(cluster)


# -- the report ------------------------------------------------------------------


def _timed(fn: Callable[[], list[int]], gold: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    labels = fn()
    result = scores(gold, labels)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def evaluate(dataset: Path, limit: int | None = None, progress: Progress | None = None,
             encoder: Encoder | None = None, config: ClusterConfig | None = None,
             ) -> dict[str, Any]:
    """Score our clusterer and both baselines on one dataset; JSON-ready.

    ``encoder`` defaults to the product embedder (``newsdesk.enrich.embed``);
    pass one to reuse a loaded model across datasets.
    """
    records = load_records(Path(dataset), limit)
    gold = [r.cluster for r in records]
    enc = encoder if encoder is not None else default_encoder()
    started = time.perf_counter()
    stories, topics = run_ours(records, enc, config, progress)
    ours: dict[str, Any] = dict(scores(gold, stories))
    ours["seconds"] = round(time.perf_counter() - started, 2)
    ours["topics"] = scores(gold, topics)
    return {
        "dataset": Path(dataset).name,
        "articles": len(records),
        "gold_clusters": len(set(gold)),
        "embedding": "all-MiniLM-L6-v2" if enc is not None else "none",
        "ours": ours,
        "baselines": {
            "title_overlap": _timed(lambda: title_overlap(records), gold),
            "tfidf_single_pass": _timed(lambda: tfidf_single_pass(records), gold),
        },
    }
