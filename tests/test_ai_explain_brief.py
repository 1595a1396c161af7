"""Explain cards and story briefs from the seed's coverage: faithful and sensible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.ai.brief import story_brief
from newsdesk.ai.explain import display_name, explain
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
    outlets = ["The Hill", "Reuters via Yahoo", "Yahoo"]
    docs += [Doc(10 + i, r.title, "\n".join(r.paragraphs), outlets[i], when - timedelta(hours=i))
             for i, r in enumerate(related)]
    return docs


def test_display_names() -> None:
    assert display_name("#KimJongUn") == "Kim Jong Un"
    assert display_name("kim-jong-un") == "Kim Jong Un"
    assert display_name("North Korea") == "North Korea"


def test_card_uses_definitions_and_appositives(coverage, embedder) -> None:
    card = explain("North Korea", coverage, embedder)
    assert card.found
    assert "official name of North Korea" in card.description_sentences[0].text
    orban = explain("Orban", coverage, embedder)
    assert any("staunchest Trump allies" in c.text or "warm relationship" in c.text
               for c in orban.description_sentences)
    assert "Putin" in orban.related_terms or "Trump" in orban.related_terms
    for c in (card, orban):
        cites = c.description_sentences + [m.sentence for m in c.recent_mentions]
        assert problems(cites, coverage) == []


def test_short_form_of_a_name_counts_where_the_full_name_appears(coverage, embedder) -> None:
    card = explain("kim-jong-un", coverage, embedder)
    assert card.found and card.name == "Kim Jong Un"
    assert all(c.article_id == 1 for c in card.description_sentences)


def test_unknown_term_is_not_found(coverage, embedder) -> None:
    card = explain("Pope Leo", coverage, embedder)
    assert not card.found and card.description_sentences == []


def test_brief_agreement_uniques_and_timeline(coverage, embedder) -> None:
    story = coverage[1:]  # the three Ukraine peace-talk articles
    brief = story_brief(story, embedder)
    assert brief.what_happened
    assert all(len(f.outlets) >= 2 for f in brief.what_happened)
    assert any("Putin" in f.sentence.text for f in brief.what_happened)
    assert set(brief.unique_by_outlet) <= {a.outlet for a in story}
    assert [e.outlet for e in brief.timeline] == ["Yahoo", "Reuters via Yahoo", "The Hill"]
    cites = [f.sentence for f in brief.what_happened]
    cites += [c for f in brief.what_happened for c in f.support]
    cites += [c for cs in brief.unique_by_outlet.values() for c in cs]
    assert problems(cites, story) == []
    # uniques are not echoed by another outlet's agreed facts
    agreed = {c.text for f in brief.what_happened for c in [f.sentence, *f.support]}
    assert not agreed & {c.text for cs in brief.unique_by_outlet.values() for c in cs}
    assert brief.as_dict()["timeline"][0]["when"].startswith("2025-08-20")


def test_single_outlet_brief_says_so(coverage, embedder) -> None:
    brief = story_brief(coverage[:1], embedder)
    assert brief.what_happened and "more than one outlet" in brief.note
    assert brief.unique_by_outlet == {}
