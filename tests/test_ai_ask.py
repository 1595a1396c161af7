"""Questions answered by quotation, with citations, or "not found"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.ai.ask import NOT_FOUND, ask
from newsdesk.ai.faithful import problems
from newsdesk.ai.types import Doc
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
