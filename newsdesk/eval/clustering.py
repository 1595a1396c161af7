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
Where every record also carries a ``topic`` (ECB+'s 43 topics, each two sister
events), ``ours.topics_by_gold_topic`` scores the topics against that label.

Baselines, computed in the same process:

* ``title_overlap``: what NewsBlur ships -- an article joins the cluster of the
  earlier article whose title words overlap its own by at least 0.6
  (``|A & B| / max(|A|, |B|)``); an empty title is replaced by the first sentence.
* ``tfidf_single_pass``: classic single-pass clustering on TF-IDF cosine to
  cluster centroids (IDF fitted on the whole file, threshold 0.3).

Dates from the text (``dates_from_text``, off by default): none of the three
files has a ``date``, so by default the clusterer runs time-blind. In the
product every article has one (feed date, or the page date the extractor
finds). The option gives each undated record the day the product's own
:func:`newsdesk.ingest.extract.extract_date` finds in a page made of the text
alone, streams in that order and reports, in the same run, the time-blind
result as ``ours_without_dates`` and which dates were estimated
(``text_dates``), so a gain can be traced to the dates that caused it.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
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
from newsdesk.ingest.extract import extract_date, is_partial_date

Progress = Callable[[int, int], None]

TITLE_OVERLAP = 0.6
TFIDF_THRESHOLD = 0.3
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?])")
DATE_AGREEMENT_DAYS = 7


@dataclass
class Record:
    """One benchmark article with its gold cluster."""

    id: str
    cluster: str
    title: str
    text: str
    date: datetime | None = None
    outlet: str = ""
    topic: str = ""  # a coarser gold label where the file has one (ECB+): scores topics


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
                                  raw.get("outlet") or "", str(raw.get("topic") or "")))
    if any(r.date for r in records):
        records = [records[i] for i in by_date(records)]
    return records[:limit] if limit else records


def _parse_date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- dates the product would have ---------------------------------------------------


def text_date(text: str) -> datetime | None:
    """The publication day the product's extractor finds in a page that is only this text.

    The product dates a page without date metadata with htmldate's text search
    (:func:`extract_date`); the page here is the text in one paragraph. Spaces
    a corpus tokeniser put before punctuation ("May 03 , 2013") are closed
    first: a published page has none, and htmldate misses such dates.
    """
    prose = _SPACE_BEFORE_PUNCT.sub("", text)
    return extract_date(f"<html><body><p>{html.escape(prose)}</p></body></html>")


@dataclass
class TextDates:
    """Which records got a date from their text, and how far the dates can be trusted."""

    dates: dict[str, datetime]
    partial_dropped: int
    already_dated: int

    def report(self, records: Sequence[Record]) -> dict[str, Any]:
        """JSON-ready: counts, a gold-based consistency check, and every date estimated.

        ``off_gold_median`` counts estimated dates more than
        :data:`DATE_AGREEMENT_DAYS` days from the median estimated date of their
        gold cluster: one real event is reported within days, so these are the
        dates that are probably wrong (or follow-ups weeks later).
        """
        by_cluster: defaultdict[str, list[datetime]] = defaultdict(list)
        for rec in records:
            if rec.id in self.dates:
                by_cluster[rec.cluster].append(self.dates[rec.id])
        off = sum(abs((d - sorted(ds)[len(ds) // 2]).days) > DATE_AGREEMENT_DAYS
                  for ds in by_cluster.values() for d in ds)
        return {
            "method": "extract_date on the text as one <p>; 1st-of-month fill-ins dropped",
            "articles": len(records),
            "already_dated": self.already_dated,
            "estimated": len(self.dates),
            "partial_dropped": self.partial_dropped,
            "gold_clusters_with_a_date": len(by_cluster),
            "off_gold_median": off,
            "dates": {k: d.date().isoformat() for k, d in sorted(self.dates.items())},
        }


def estimate_dates(records: Sequence[Record]) -> TextDates:
    """Date every undated record from its text (see :func:`text_date`); keep given dates."""
    dates: dict[str, datetime] = {}
    partial = 0
    for rec in records:
        if rec.date is not None:
            continue
        found = text_date(f"{rec.title}\n{rec.text}" if rec.title else rec.text)
        if found is None:
            continue
        if is_partial_date(found):  # a year or a month, not the day it was published
            partial += 1
        else:
            dates[rec.id] = found.astimezone(UTC)
    return TextDates(dates, partial, sum(r.date is not None for r in records))


def by_date(records: Sequence[Record]) -> list[int]:
    """Stream order for dated records: by date, undated first, file order breaking ties
    (what :func:`load_records` does for a file with dates)."""
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(range(len(records)), key=lambda i: records[i].date or floor)


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
    """Stream the records through the product clusterer; return each one's story and topic key."""
    return cluster_records(records, encode_records(records, encoder, progress, batch), config)


def encode_records(records: Sequence[Record], encoder: Encoder | None,
                   progress: Progress | None = None, batch: int = 64) -> list[np.ndarray | None]:
    """Every record's embedding (None without an encoder), computed ahead of the stream.

    Done in batches purely for speed: an article's vector depends on nothing but
    its own text, so computing it early changes no decision, and one encoding
    serves several streams (with and without dates) of the same records.
    """
    vectors: list[np.ndarray | None] = []
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        if encoder is None:
            vectors.extend([None] * len(chunk))
        else:
            vectors.extend(encoder.encode([embedding_text(r.title, r.text) for r in chunk]))
        if progress:
            progress(len(vectors), len(records))
    return vectors


def cluster_records(records: Sequence[Record], vectors: Sequence[np.ndarray | None],
                    config: ClusterConfig | None = None) -> tuple[list[int], list[int]]:
    """One pass of the product clusterer in the given order; each record's story and topic."""
    clusterer = StoryClusterer(config)
    labels: list[int] = []
    topics: list[int] = []
    for rec, vector in zip(records, vectors, strict=True):
        item = ArticleInput(rec.id, rec.title, rec.text, rec.date, rec.outlet, vector)
        story = clusterer.add(item).story
        labels.append(story.key)
        topics.append(story.topic if story.topic is not None else -story.key)
    return labels, topics


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


def _score_ours(records: Sequence[Record], vectors: Sequence[np.ndarray | None],
                config: ClusterConfig | None, seconds: float) -> dict[str, Any]:
    """Stories and topics of one stream, scored; ``seconds`` adds the encoding time."""
    started = time.perf_counter()
    stories, topics = cluster_records(records, vectors, config)
    gold = [r.cluster for r in records]
    ours: dict[str, Any] = dict(scores(gold, stories))
    ours["seconds"] = round(seconds + time.perf_counter() - started, 2)
    ours["topics"] = scores(gold, topics)
    if all(r.topic for r in records):  # ECB+: topics against its own topic-level gold
        ours["topics_by_gold_topic"] = scores([r.topic for r in records], topics)
    return ours


def _with_text_dates(records: Sequence[Record], vectors: Sequence[np.ndarray | None],
                     config: ClusterConfig | None, blind: dict[str, Any],
                     ) -> dict[str, Any]:
    """The run with text-estimated dates, streamed in date order, plus what was estimated.

    With no date found the stream is the time-blind one, so its scores are reused.
    Its ``seconds`` are date estimation and clustering: the embeddings are shared.
    """
    started = time.perf_counter()
    found = estimate_dates(records)
    result: dict[str, Any] = {"text_dates": found.report(records)}
    if not found.dates:
        result["ours"] = blind
        return result
    dated = [replace(r, date=found.dates.get(r.id, r.date)) for r in records]
    order = by_date(dated)
    result["ours"] = _score_ours([dated[i] for i in order], [vectors[i] for i in order],
                                 config, time.perf_counter() - started)
    return result


def evaluate(dataset: Path, limit: int | None = None, progress: Progress | None = None,
             encoder: Encoder | None = None, config: ClusterConfig | None = None,
             dates_from_text: bool = False) -> dict[str, Any]:
    """Score our clusterer and both baselines on one dataset; JSON-ready.

    ``encoder`` defaults to the product embedder (``newsdesk.enrich.embed``);
    pass one to reuse a loaded model across datasets. With ``dates_from_text``
    ``ours`` is the run with dates estimated from the text and
    ``ours_without_dates`` the default time-blind run (same embeddings); the
    baselines ignore dates and stream in file order either way.
    """
    records = load_records(Path(dataset), limit)
    gold = [r.cluster for r in records]
    enc = encoder if encoder is not None else default_encoder()
    started = time.perf_counter()
    vectors = encode_records(records, enc, progress)
    ours = _score_ours(records, vectors, config, time.perf_counter() - started)
    result: dict[str, Any] = {
        "dataset": Path(dataset).name,
        "articles": len(records),
        "gold_clusters": len(set(gold)),
        "embedding": "all-MiniLM-L6-v2" if enc is not None else "none",
        "ours": ours,
    }
    if dates_from_text:
        result["ours_without_dates"] = ours
        result.update(_with_text_dates(records, vectors, config, ours))
    result["baselines"] = {
        "title_overlap": _timed(lambda: title_overlap(records), gold),
        "tfidf_single_pass": _timed(lambda: tfidf_single_pass(records), gold),
    }
    return result
