"""Publication-date benchmark: our date logic against htmldate, same run.

Data: ``gold.json`` maps a URL to ``{"file", "date": "YYYY-MM-DD"}``, the page is
``html/<file>`` (gzipped). Right date = TP, wrong date = FP, no date = FN,
F = 2TP / (2TP + FP + FN). htmldate at ``original_date=True,
extensive_search=True`` is the anchor (published extensive F 0.949 on 1,000 pages).

Ours is :func:`newsdesk.ingest.extract.extract_date`, the function the
extractor itself calls, so this measures product code. Its UTC timestamp is
compared by calendar day.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import htmldate

from newsdesk.ingest.extract import extract_date

Progress = Callable[[int, int], None]
DateFn = Callable[[str, str], date | None]


def ours(html: str, url: str) -> date | None:
    found = extract_date(html, url)
    return found.date() if found else None


def anchor(html: str, url: str) -> date | None:
    """htmldate as published: extensive search for the original date."""
    found = htmldate.find_date(html, url=url, original_date=True, extensive_search=True)
    return date.fromisoformat(found) if found else None


def read_page(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def score(tp: int, fp: int, fn: int, seconds: float) -> dict[str, float]:
    """P, R and F with no-date counted as a miss (FN), a wrong date as FP."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"precision": precision, "recall": recall, "f1": f, "seconds": seconds}


def evaluate(
    dataset: Path, limit: int | None = None, progress: Progress | None = None
) -> dict[str, object]:
    """Score our date logic and htmldate side by side on ``dataset``."""
    dataset = Path(dataset)
    gold = json.loads((dataset / "gold.json").read_text(encoding="utf-8"))
    urls = sorted(gold)[:limit]
    runners: dict[str, DateFn] = {"ours": ours, "htmldate": anchor}
    counts = {name: [0, 0, 0] for name in runners}
    seconds = dict.fromkeys(runners, 0.0)
    if urls:  # untimed warm-up: lazy imports and dateparser tables load once per process
        first = read_page(dataset / "html" / gold[urls[0]]["file"])
        for fn in runners.values():
            fn(first, urls[0])
    for done, url in enumerate(urls, 1):
        html = read_page(dataset / "html" / gold[url]["file"])
        expected = date.fromisoformat(gold[url]["date"])
        for name, fn in runners.items():
            start = time.perf_counter()
            found = fn(html, url)
            seconds[name] += time.perf_counter() - start
            counts[name][0 if found == expected else 2 if found is None else 1] += 1
        if progress:
            progress(done, len(urls))
    result: dict[str, object] = {"dataset": dataset.name, "pages": len(urls)}
    for name in runners:
        tp, fp, missed = counts[name]
        result[name] = score(tp, fp, missed, seconds[name])
    return result
