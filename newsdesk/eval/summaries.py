"""Summary benchmark: our extractive summarizer against LEAD-3, same run, same scorer.

Data (``../shared/data/summaries/frank-dev.jsonl``): one JSON object a line,
``{"id", "dataset", "article", "reference"}``, or ``{"id", "articles": [...],
"reference": [...]}`` for a story of several articles with several references.
Scores are rouge-score F-measures with stemming (ROUGE-1, ROUGE-2, ROUGE-Lsum)
and ROUGE-1 recall, ×100, averaged over items (over references first when an
item has several). LEAD-3 is the first three sentences (for several articles,
the leads of the first ones up to our length); with ``words`` both are cut to
that many words. Published anchors: LEAD-3 R1 ≈ 40.3 on the full CNN/DM test
set, BertSumExt (supervised) 43.2; LexRank R1 recall 36.0 on DUC 2004 at 100
words. Run: ``python -m newsdesk.eval.summaries --dataset FILE [--words 100]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.ai.sentences import split_text
from newsdesk.ai.summarize import DEFAULT, Weights, summarize, summarize_many
from newsdesk.ai.types import Doc, Embedder

Progress = Callable[[int, int], None]
METRICS = ("rouge1", "rouge2", "rougeLsum")


@dataclass
class Item:
    id: str
    subset: str
    articles: list[str]
    references: list[str]


@dataclass
class Totals:
    """Running sums of one system's scores over items."""

    n: int = 0
    seconds: float = 0.0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        (*METRICS, "rouge1_recall"), 0.0))

    def add(self, scores: dict[str, float], seconds: float) -> None:
        self.n += 1
        self.seconds += seconds
        for key, value in scores.items():
            self.sums[key] += value

    def report(self) -> dict[str, float]:
        out = {k: round(v / max(1, self.n), 2) for k, v in self.sums.items()}
        out["seconds"] = round(self.seconds, 2)
        return out


def read_items(dataset: Path, limit: int | None = None) -> list[Item]:
    """Items of a JSONL file, single- or multi-article."""
    items: list[Item] = []
    with Path(dataset).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            arts = row["articles"] if "articles" in row else [row["article"]]
            refs = row["reference"] if isinstance(row["reference"], list) else [row["reference"]]
            subset = row.get("dataset") or ("multi" if len(arts) > 1 else "single")
            items.append(Item(str(row["id"]), subset, list(arts), list(refs)))
            if limit is not None and len(items) >= limit:
                break
    return items


def lead(articles: Sequence[str], n: int = 3, words: int | None = None) -> list[str]:
    """LEAD-3; for several articles, their first sentences in turn up to ``words``."""
    if len(articles) == 1:
        return [s.text for s in split_text(articles[0])[:n]]
    leads = [iter(split_text(a)) for a in articles]
    out: list[str] = []
    budget = words or 100
    for s in _round_robin(leads):
        if sum(len(x.split()) for x in out) >= budget:
            break
        out.append(s.text)
    return out


def _round_robin(iters: list[Iterator[Any]]) -> Iterator[Any]:
    while iters:
        for it in list(iters):
            try:
                yield next(it)
            except StopIteration:
                iters.remove(it)


def truncate(sentences: Sequence[str], words: int | None) -> list[str]:
    """Keep the first ``words`` words, sentence breaks preserved (for ROUGE-Lsum)."""
    if words is None:
        return list(sentences)
    out: list[str] = []
    left = words
    for s in sentences:
        toks = s.split()
        if left <= 0:
            break
        out.append(" ".join(toks[:left]))
        left -= len(toks)
    return out


class Scorer:
    """rouge-score with stemming; Lsum gets one sentence a line on both sides."""

    def __init__(self) -> None:
        from rouge_score import rouge_scorer

        self._scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)

    def __call__(self, summary: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        pred = "\n".join(summary)
        totals = dict.fromkeys((*METRICS, "rouge1_recall"), 0.0)
        for ref in references:
            gold = "\n".join(s.text for s in split_text(ref))
            result = self._scorer.score(gold, pred)
            for m in METRICS:
                totals[m] += 100 * result[m].fmeasure
            totals["rouge1_recall"] += 100 * result["rouge1"].recall
        return {k: v / max(1, len(references)) for k, v in totals.items()}


def ours(item: Item, embedder: Embedder, words: int | None, weights: Weights) -> list[str]:
    docs = [Doc(f"{item.id}/{i}", "", text) for i, text in enumerate(item.articles)]
    if len(docs) == 1:
        return [c.text for c in summarize(docs[0], embedder, weights=weights).sentences]
    summary = summarize_many(docs, embedder, words=words or 100, weights=weights)
    return [c.text for c in summary.sentences]


def evaluate(dataset: Path, limit: int | None = None, words: int | None = None,
             progress: Progress | None = None, embedder: Embedder | None = None,
             weights: Weights = DEFAULT) -> dict[str, Any]:
    """Score ours and LEAD-3 on ``dataset``, overall and per subset (cnndm, xsum…)."""
    if embedder is None:
        from newsdesk.enrich.embed import load_embedder

        embedder = load_embedder()
    items = read_items(dataset, limit)
    scorer = Scorer()
    totals: dict[str, dict[str, Totals]] = {}
    for done, item in enumerate(items, 1):
        for name, run in (("ours", lambda it: ours(it, embedder, words, weights)),
                          ("lead", lambda it: lead(it.articles, words=words))):
            start = time.perf_counter()
            summary = truncate(run(item), words)
            elapsed = time.perf_counter() - start
            scores = scorer(summary, item.references)
            for group in ("all", item.subset):
                totals.setdefault(group, {}).setdefault(name, Totals()).add(scores, elapsed)
        if progress is not None:
            progress(done, len(items))
    return _result(dataset, items, totals)


def _result(dataset: Path, items: list[Item],
            totals: dict[str, dict[str, Totals]]) -> dict[str, Any]:
    empty = Totals().report()
    overall = totals.get("all", {})
    subsets = {name: {"items": groups["ours"].n, "ours": groups["ours"].report(),
                      "lead": groups["lead"].report()}
               for name, groups in sorted(totals.items()) if name != "all"}
    return {"dataset": str(dataset), "items": len(items),
            "ours": overall["ours"].report() if overall else empty,
            "lead": overall["lead"].report() if overall else empty,
            "subsets": subsets}


def main(argv: Sequence[str] | None = None) -> None:
    """CLI for the benchmark until ``newsdesk eval summaries`` wires it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--words", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(evaluate(args.dataset, limit=args.limit, words=args.words)))


if __name__ == "__main__":
    main()
