"""Questions answered by quotation, with citations, or "not found"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from newsdesk.ai import ask as ask_mod
from newsdesk.ai.ask import NOT_FOUND, ask
from newsdesk.ai.faithful import problems
from newsdesk.ai.sentences import SentenceCache, split_article
from newsdesk.ai.service import AIService
from newsdesk.ai.text import content_words
from newsdesk.ai.types import Doc, Embedder
from tests.conftest import SEED
from tests.seedpages import parse_seed


@pytest.fixture(scope="module")
def coverage() -> list[Doc]:
    if not SEED.exists():
        pytest.skip("seed page not present")
    main, related = parse_seed(SEED)
    when = datetime(2025, 8, 20, 9, tzinfo=UTC)
    docs = [Doc(1, main.title, "\n".join(main.paragraphs), "UPI", when)]
    docs += [Doc(10 + i, r.title, "\n".join(r.paragraphs), r.outlet, when)
             for i, r in enumerate(related)]
    return docs


def _quoted_parts(text: str) -> list[str]:
    import re

    return [p.strip() for p in re.split(r"\s*\[\d+\]\s*", text) if p.strip()]


def test_troops_question_is_answered_from_the_14000_sentence(coverage, embedder) -> None:
    answer = ask("How many troops has North Korea sent?", coverage[:1], embedder)
    assert answer.found
    first = answer.citations[0]
    assert "14,000 troops" in first.text and first.article_id == 1
    assert first.anchor == "p10s1"
    assert "[1]" in answer.text
    assert problems(answer.citations, coverage) == []
    assert _quoted_parts(answer.text) == [c.text for c in answer.citations]


def test_same_question_over_all_seed_articles_still_finds_it(coverage, embedder) -> None:
    answer = ask("How many troops has North Korea sent?", coverage, embedder)
    assert answer.found and "14,000" in answer.citations[0].text


@pytest.mark.parametrize("question", [
    "What did the Pope say about the World Cup?",
    "Who won the Champions League final?",
    "What is the price of bitcoin?",
    "How many troops has China sent to Russia?",  # names in the question must be quoted
    "What did Kim say about nuclear weapons?",
    "How tall is the Eiffel Tower?",
])
def test_absent_things_are_not_found(coverage, embedder, question: str) -> None:
    answer = ask(question, coverage, embedder)
    assert not answer.found
    assert answer.text == NOT_FOUND and answer.citations == []


def test_other_outlets_questions_cite_their_article(coverage, embedder) -> None:
    answer = ask("What price were Brent crude futures?", coverage, embedder)
    assert answer.found
    assert "Brent" in answer.citations[0].text and answer.citations[0].outlet == "Yahoo"
    assert problems(answer.citations, coverage) == []


def test_empty_question_and_no_candidates(coverage, embedder) -> None:
    assert not ask("?", coverage, embedder).found
    assert not ask("How many troops?", [], embedder).found


class Counting:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.texts += texts
        return self.inner.encode(texts, batch_size=batch_size)


TROOPS = "How many troops has North Korea sent?"


def test_only_sentences_that_can_change_the_answer_are_embedded(coverage, embedder) -> None:
    counting = Counting(embedder)
    answer = ask(TROOPS, coverage, counting)
    assert answer.found and "14,000" in answer.citations[0].text
    _q, cands = ask_mod.gather(TROOPS, coverage)
    quotable = {c.sentence.text for c in cands if ask_mod.quotable(c)}
    assert counting.texts[0] == TROOPS and len(counting.texts) == len(set(counting.texts))
    assert quotable <= set(counting.texts)
    words = set(content_words(TROOPS))
    assert len(counting.texts) <= 1 + len(quotable) + ask_mod.VETOES + len(words)
    assert len(counting.texts) < 1 + ask_mod.POOL


def test_nothing_quotable_means_not_found_without_embedding(coverage, embedder) -> None:
    counting = Counting(embedder)
    answer = ask("What is the price of bitcoin?", coverage, counting)
    assert not answer.found and counting.texts == []


def test_syndicated_copies_are_split_and_embedded_once(coverage, embedder) -> None:
    main = coverage[0]
    copies = [Doc(100 + i, main.title, main.text, f"Outlet {i}") for i in range(5)]
    counting = Counting(embedder)
    answer = ask(TROOPS, copies, counting)
    alone = ask(TROOPS, [copies[0]], embedder)
    assert answer.text == alone.text and answer.citations[0].article_id == 100
    assert len(counting.texts) == len(set(counting.texts))
    assert problems(answer.citations, copies) == []


def test_sentence_cache_readdresses_copies_and_sees_edits(coverage) -> None:
    cache = SentenceCache(2)
    main = coverage[0]
    copy = Doc(7, "copy", main.text, "Other")
    assert cache(main) == split_article(main)
    assert cache(copy) == split_article(copy) and len(cache) == 1
    edited = Doc(1, main.title, main.text + "\nA new last paragraph.", "UPI")
    assert cache(edited)[-1].text == "A new last paragraph." and len(cache) == 2
    cache(main).clear()  # callers get their own list
    assert cache(main) == split_article(main)


def test_evidence_comes_from_the_same_ranking_as_the_answer(coverage, embedder) -> None:
    ranking = ask_mod.ranked(TROOPS, coverage, embedder)
    evidence = ask_mod.evidence_from(ranking)
    assert evidence == ask_mod.evidence(TROOPS, coverage, embedder)
    assert evidence[0].text == ask_mod.answer_from(TROOPS, ranking).citations[0].text
    assert problems(evidence, coverage) == []


def test_service_answers_are_unchanged_by_its_sentence_cache(coverage, embedder) -> None:
    service = AIService(embedder)
    first = service.ask(TROOPS, coverage)
    assert len(service.sentences) == len({a.text for a in coverage})
    assert service.ask(TROOPS, coverage).as_dict() == first.as_dict()
    service.clear()
    assert len(service.sentences) == 0
