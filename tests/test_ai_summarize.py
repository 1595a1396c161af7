"""Extractive summaries and key points: faithful, on the seed, without redundancy."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from newsdesk.ai.faithful import problems
from newsdesk.ai.sentences import split_text
from newsdesk.ai.summarize import key_points, summarize
from newsdesk.ai.types import Doc
from tests.conftest import SEED
from tests.seedpages import parse_seed


@pytest.fixture(scope="module")
def upi() -> Doc:
    if not SEED.exists():
        pytest.skip("seed page not present")
    main, _ = parse_seed(SEED)
    return Doc(1, main.title, "\n".join(main.paragraphs), "UPI",
               datetime(2025, 8, 20, 9, tzinfo=UTC), "https://upi.example/kim")


def test_sentences_have_stable_anchors_and_exact_spans() -> None:
    text = "First para. It has two sentences.\n\nDr. Smith went to Washington. He left."
    sents = split_text(text, 7)
    assert [s.anchor for s in sents] == ["p1s1", "p1s2", "p2s1", "p2s2"]
    assert all(text[s.start:s.end] == s.text for s in sents)
    assert sents[2].text == "Dr. Smith went to Washington."
    assert split_text(text, 7) == sents  # stable across calls


def test_seed_summary_is_faithful_and_on_point(upi: Doc, embedder) -> None:
    summary = summarize(upi, embedder)
    assert len(summary.sentences) == 3
    assert problems(summary.sentences, [upi]) == []
    text = summary.text
    # The body calls Kim Jong Un "Kim" and the Russian culture minister "Lyubimova".
    assert re.search(r"\bKim\b", text)
    assert "Lyubimova" in text and "minist" in text
    assert "anniversary" in text and "partnership" in text
    positions = [int(c.anchor[1:].split("s")[0]) for c in summary.sentences]
    assert positions == sorted(positions)  # article order


def test_key_points_are_faithful_and_not_redundant(upi: Doc, embedder) -> None:
    points = key_points(upi, embedder)
    assert 3 <= len(points) <= 5
    assert problems(points, [upi]) == []
    vecs = embedder.encode([p.text for p in points])
    sims = vecs @ vecs.T
    assert (sims[np.triu_indices(len(points), 1)] < 0.8).all()


def test_empty_article_gives_empty_summary(embedder) -> None:
    assert summarize(Doc(2, "", ""), embedder).sentences == []
    assert key_points(Doc(2, "", ""), embedder) == []


def test_summary_on_real_cnn_article_is_faithful(embedder) -> None:
    data = SEED.parents[1] / "data" / "summaries" / "frank-dev.jsonl"
    if not data.exists():
        pytest.skip("summaries dataset not present")
    import json

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()[:3]]
    docs = [Doc(r["id"], "", r["article"]) for r in rows]
    for doc in docs:
        s = summarize(doc, embedder)
        assert len(s.sentences) == 3
        assert problems(s.sentences + key_points(doc, embedder), [doc]) == []
