"""Main-text extraction benchmark: our extractor against plain trafilatura, same run.

Two public formats are understood, each scored with its own published metric so
our numbers can be put next to the published ones:

* Scrapinghub article-extraction-benchmark (``ground-truth.json`` +
  ``html/<id>.html.gz``): 4-token shingle precision/recall per page, averaged
  over pages, F1 as the harmonic mean of the two averages.
* trafilatura's evaluation set (``evaldata.json`` + ``html/<file>.gz``): "with"
  segments found are TP, missing FN, "without" segments found FP; counts are
  summed over the corpus.

Running both extractors on the same pages in one process is the point: machine
load changes between runs, so only side-by-side timings are comparable.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

from newsdesk.ingest.extract import ExtractionError, extract

Progress = Callable[[int, int], None]
Extractor = Callable[[str, str], str]

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass
class Page:
    """One benchmark page: its HTML, URL and whatever gold the format carries."""

    html: str
    url: str
    body: str = ""
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)


def ours(html: str, url: str) -> str:
    """Our product extractor; a page it refuses counts as empty output."""
    try:
        return extract(html, url).text
    except ExtractionError:
        return ""


def plain_trafilatura(html: str, url: str) -> str:
    """trafilatura exactly as the published benchmarks run it."""
    return trafilatura.extract(html, include_comments=False) or ""


def read_gz(path: Path) -> str:
    """Decode a gzipped page the way the benchmarks do: UTF-8, lenient."""
    return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


def detect_format(dataset: Path) -> str:
    """``scrapinghub`` or ``trafilatura`` from the gold file present."""
    if (dataset / "ground-truth.json").is_file():
        return "scrapinghub"
    if (dataset / "evaldata.json").is_file():
        return "trafilatura"
    raise ValueError(f"{dataset}: neither ground-truth.json nor evaldata.json found")


def load_pages(dataset: Path, limit: int | None = None) -> Iterator[Page]:
    """Pages in the gold file's (stable, sorted) order, at most ``limit`` of them."""
    fmt = detect_format(dataset)
    if fmt == "scrapinghub":
        gold = json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8"))
        for key in sorted(gold)[:limit]:
            html = read_gz(dataset / "html" / f"{key}.html.gz")
            yield Page(html, gold[key].get("url", ""), body=gold[key]["articleBody"])
    else:
        gold = json.loads((dataset / "evaldata.json").read_text(encoding="utf-8"))
        for url in sorted(gold)[:limit]:
            item = gold[url]
            html = read_gz(dataset / "html" / f"{item['file']}.gz")
            yield Page(html, url, with_=item["with"], without=item["without"])


def shingles(text: str, n: int = 4) -> Counter[str]:
    """The benchmark's multiset of n-token shingles (short texts give one shingle)."""
    tokens = _TOKEN.findall(text or "")
    grams = (" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(g for g in grams if g)


def shingle_counts(gold: str, pred: str) -> tuple[int, int, int]:
    """TP, FP, FN of predicted against gold shingles (min of counts is shared)."""
    true, got = shingles(gold), shingles(pred)
    return sum((true & got).values()), sum((got - true).values()), sum((true - got).values())


def page_precision_recall(tp: int, fp: int, fn: int) -> tuple[float | None, float]:
    """Per-page P and R; P is None (left out) when nothing was predicted."""
    if fp == 0 and fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


class Scorer:
    """Accumulates one extractor's outputs under the dataset's metric."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.seconds = 0.0
        self.precisions: list[float] = []
        self.recalls: list[float] = []
        self.tp = self.fp = self.fn = 0

    def add(self, page: Page, text: str) -> None:
        if self.fmt == "scrapinghub":
            p, r = page_precision_recall(*shingle_counts(page.body, text))
            if p is not None:
                self.precisions.append(p)
            self.recalls.append(r)
            return
        found = [seg in text for seg in page.with_]
        self.tp += sum(found)
        self.fn += len(found) - sum(found)
        self.fp += sum(seg in text for seg in page.without)

    def result(self) -> dict[str, float]:
        if self.fmt == "scrapinghub":
            p = sum(self.precisions) / len(self.precisions) if self.precisions else 0.0
            r = sum(self.recalls) / len(self.recalls) if self.recalls else 0.0
        else:
            p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
            r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return {"precision": p, "recall": r, "f1": f1(p, r), "seconds": self.seconds}


def timed(fn: Extractor, page: Page) -> tuple[str, float]:
    """Output and wall time of one extraction (only the extraction is timed)."""
    start = time.perf_counter()
    text = fn(page.html, page.url)
    return text, time.perf_counter() - start


def warm_up(runners: Iterable[Extractor], pages: list[Page]) -> None:
    """One untimed call per extractor: lazy imports and dateparser's locale
    tables (seconds, once per process) would otherwise land on whichever runs first."""
    for fn in runners:
        for page in pages:
            fn(page.html, page.url)


def evaluate(
    dataset: Path, limit: int | None = None, progress: Progress | None = None
) -> dict[str, object]:
    """Score our extractor and plain trafilatura side by side on one dataset."""
    dataset = Path(dataset)
    fmt = detect_format(dataset)
    pages = list(load_pages(dataset, limit))
    runners: dict[str, Extractor] = {"ours": ours, "trafilatura": plain_trafilatura}
    scorers = {name: Scorer(fmt) for name in runners}
    warm_up(runners.values(), pages[:1])
    for done, page in enumerate(pages, 1):
        for name, fn in runners.items():
            text, seconds = timed(fn, page)
            scorers[name].seconds += seconds
            scorers[name].add(page, text)
        if progress:
            progress(done, len(pages))
    result: dict[str, object] = {"dataset": dataset.name, "pages": len(pages)}
    result.update({name: scorer.result() for name, scorer in scorers.items()})
    return result
