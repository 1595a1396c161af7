"""The facade: JSON-ready results, µs cache hits, invalidation when a story grows."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from newsdesk.ai.faithful import problems
from newsdesk.ai.service import AIService
from newsdesk.ai.types import Doc
from tests.conftest import SEED
from tests.seedpages import parse_seed


@pytest.fixture(scope="module")
def coverage() -> list[Doc]:
    if not SEED.exists():
        pytest.skip("seed page not present")
    main, related = parse_seed(SEED)
    when = datetime(2025, 8, 20, 9, tzinfo=UTC)
    docs = [Doc(1, main.title, "\n".join(main.paragraphs), "UPI", when, "https://upi.example/1")]
    docs += [Doc(10 + i, r.title, "\n".join(r.paragraphs), f"{r.outlet} {i}", when)
             for i, r in enumerate(related)]
    return docs


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def encode(self, texts, batch_size: int = 32):
        self.calls += 1
        return self.inner.encode(texts, batch_size)


def test_results_serialise_to_json(coverage, embedder) -> None:
    service = AIService(embedder, retrieve=lambda q: coverage)
    upi = coverage[0]
    payloads = [service.summary(upi).as_dict(), service.key_points(upi).as_dict(),
                service.ask("How many troops has North Korea sent?").as_dict(),
                service.explain("North Korea", coverage).as_dict(),
                service.brief(coverage[1:], story_id=5).as_dict()]
    for p in payloads:
        json.dumps(p)
    assert payloads[0]["sentences"][0]["url"] == "https://upi.example/1"
    assert payloads[2]["found"] and payloads[2]["citations"][0]["anchor"] == "p10s1"


def test_summary_and_key_points_share_one_embedding_pass(coverage, embedder) -> None:
    counting = CountingEmbedder(embedder)
    service = AIService(counting)
    service.summary(coverage[0])
    service.key_points(coverage[0])
    assert counting.calls == 1


def test_cached_calls_are_fast(coverage, embedder) -> None:
    service = AIService(embedder)
    upi = coverage[0]
    service.summary(upi)
    service.key_points(upi)
    start = time.perf_counter()
    for _ in range(100):
        service.summary(upi)
        service.key_points(upi)
    assert (time.perf_counter() - start) / 100 < 0.02


def test_brief_cache_is_invalidated_when_the_story_gains_an_article(coverage, embedder) -> None:
    counting = CountingEmbedder(embedder)
    service = AIService(counting)
    first = service.brief(coverage[1:3], story_id=9)
    calls = counting.calls
    assert service.brief(coverage[1:3], story_id=9) is first and counting.calls == calls
    grown = service.brief(coverage[1:4], story_id=9)
    assert grown is not first and len(grown.timeline) == 3


def test_edited_article_is_recomputed(coverage, embedder) -> None:
    service = AIService(embedder)
    upi = coverage[0]
    before = service.summary(upi)
    edited = Doc(upi.id, upi.title, upi.text.replace("14,000", "15,000"), upi.outlet)
    after = service.summary(edited)
    assert after is not before
    assert problems(after.sentences, [edited]) == []
