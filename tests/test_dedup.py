"""Syndicated copies: a wire story republished elsewhere is found; a different story is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsdesk.enrich import dedup
from newsdesk.eval.dedup import near_duplicates
from newsdesk.model import Article
from newsdesk.store import articles
from newsdesk.store import dedup as dedupstore
from newsdesk.store.db import Database

WIRE = [
    "HALIFAX, Nova Scotia (Wire) - Dock workers at the port of Halifax walked off the job on "
    "Monday after talks over automation and pay broke down late on Sunday night, halting "
    "container traffic at the busiest harbour on Canada's Atlantic coast.",
    "The union representing about 900 longshore workers said the port authority had refused "
    "to guarantee jobs as new automated cranes are installed over the next three years.",
    "\"We asked for one thing, a written promise that nobody loses their job to a machine, "
    "and they would not sign it,\" union president Mary Doucette told reporters outside the "
    "terminal gates.",
    "The port authority said in a statement that its offer included a 12 percent raise over "
    "four years and retraining for every worker whose role changed.",
    "Shipping lines began diverting vessels to Saint John and Montreal on Monday afternoon, "
    "and retailers warned that store shelves could empty within two weeks.",
    "Federal labour minister Paul Renaud urged both sides to return to the table and said he "
    "would appoint a mediator if no deal was reached by Friday.",
]

OTHER_STRIKE = [
    "Rail workers in Quebec went on strike on Tuesday, stopping commuter trains into "
    "Montreal for the first time in twenty years as a dispute over overtime rules escalated.",
    "The union said its members had worked unpaid overtime for months while the operator "
    "posted record profits, and that it would not return until rosters were rewritten.",
    "Commuters crowded onto buses and roads into the city centre were jammed for hours, "
    "with police closing two bridges during the morning rush.",
    "The provincial transport minister said talks would resume on Thursday and called on "
    "both sides to find a compromise before the weekend.",
]


def republished(paragraphs: list[str]) -> str:
    """Another outlet's copy: its own chrome line, the last paragraph trimmed."""
    return "\n".join(["Advertisement - scroll to continue reading",
                      *paragraphs[:-1],
                      "Read more: our coverage of labour disputes across Canada"])


def test_republished_wire_copy_is_a_copy() -> None:
    a, size_a = dedup.sketch("\n".join(WIRE))
    b, size_b = dedup.sketch(republished(WIRE))
    jaccard, containment = dedup.estimate(a, size_a, b, size_b)
    assert dedup.is_copy(jaccard, containment)
    assert containment > dedup.CONTAINMENT


def test_different_story_on_the_same_topic_is_not() -> None:
    a, size_a = dedup.sketch("\n".join(WIRE))
    b, size_b = dedup.sketch("\n".join(OTHER_STRIKE))
    assert not dedup.is_copy(*dedup.estimate(a, size_a, b, size_b))


def test_signature_bytes_round_trip() -> None:
    mh, size = dedup.sketch("\n".join(WIRE))
    back, back_size = dedup.decode(dedup.encode(mh, size))
    assert back_size == size
    assert back.jaccard(mh) == 1.0
    assert dedup.signature("\n".join(WIRE)).jaccard(back) == 1.0
    with pytest.raises(ValueError):
        dedup.decode(b"garbage")


def test_short_texts_are_never_copies() -> None:
    index = dedup.DedupIndex()
    mh, size = dedup.sketch("Markets closed higher on Friday.")
    index.add(1, mh, size)
    assert index.matches(mh, size) == []


# ----------------------------------------------------------------------- store


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """This module's tests run on SQLite and PostgreSQL in every run."""
    return db_on_each_backend


def _save(session: object, outlet: str, text: str, when: datetime, n: int = 0) -> int:
    art = Article(url=f"https://{outlet.lower()}.example/story-{n}", title=f"{outlet} headline",
                  text=text, outlet=outlet, published_at=when)
    return articles.save_article(session, art).article_id  # type: ignore[arg-type]


def test_copies_across_outlets_form_one_group(db: Database) -> None:
    t0 = datetime(2025, 8, 20, 9, tzinfo=UTC)
    index = dedup.DedupIndex()
    with db.write() as s:
        wire = _save(s, "Wire", "\n".join(WIRE), t0)
        assert dedup.record(index, s, wire, "\n".join(WIRE)) is None
        copy = _save(s, "Herald", republished(WIRE), t0 + timedelta(hours=2))
        assert dedup.find_duplicate(index, s, copy, republished(WIRE)) == wire
        assert dedup.record(index, s, copy, republished(WIRE)) == wire
        other = _save(s, "Gazette", "\n".join(OTHER_STRIKE), t0 + timedelta(hours=3))
        assert dedup.record(index, s, other, "\n".join(OTHER_STRIKE)) is None
    with db.read() as s:
        assert [r.id for r in dedupstore.duplicates_of(s, wire)] == [copy]
        assert [r.outlet for r in dedupstore.duplicates_of(s, copy)] == ["Wire"]
        assert dedupstore.duplicates_of(s, other) == []
        assert articles.get_article(s, copy).duplicate_of == wire


def test_index_is_rebuilt_from_stored_signatures(db: Database) -> None:
    t0 = datetime(2025, 8, 20, 9, tzinfo=UTC)
    with db.write() as s:
        wire = _save(s, "Wire", "\n".join(WIRE), t0)
        dedup.record(dedup.DedupIndex(), s, wire, "\n".join(WIRE))
    with db.read() as s:
        index = dedup.DedupIndex.load(s)
    assert len(index) == 1
    with db.write() as s:
        copy = _save(s, "Post", republished(WIRE), t0 + timedelta(hours=1))
        assert dedup.record(index, s, copy, republished(WIRE)) == wire


def test_an_older_copy_becomes_the_original(db: Database) -> None:
    """A backfill brings in the earlier article: the group is re-pointed at it."""
    t0 = datetime(2025, 8, 20, 9, tzinfo=UTC)
    index = dedup.DedupIndex()
    with db.write() as s:
        late = _save(s, "Herald", republished(WIRE), t0 + timedelta(hours=5))
        dedup.record(index, s, late, republished(WIRE))
        early = _save(s, "Wire", "\n".join(WIRE), t0)
        assert dedup.record(index, s, early, "\n".join(WIRE)) is None
    with db.read() as s:
        assert articles.get_article(s, late).duplicate_of == early
        assert articles.get_article(s, early).duplicate_of is None


# ------------------------------------------------------------------------ eval


def test_near_duplicates_lists_pairs(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = [{"id": "a", "title": "Strike", "text": "\n".join(WIRE)},
            {"id": "b", "title": "Rail", "text": "\n".join(OTHER_STRIKE)},
            {"id": "c", "title": "Strike (copy)", "text": republished(WIRE)}]
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = near_duplicates(corpus)
    assert report["articles"] == 3
    assert [(p["a"], p["b"]) for p in report["pairs"]] == [("a", "c")]
    assert report["pairs"][0]["exact_containment"] > 0.9
