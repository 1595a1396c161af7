"""The summary benchmark's output shape, single- and multi-article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.eval.summaries import evaluate, lead, truncate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "summaries" / "frank-dev.jsonl"


@pytest.fixture(scope="module")
def embedder():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("rouge_score")
    from newsdesk.enrich.embed import load_embedder

    return load_embedder()


def test_lead_and_truncate() -> None:
    assert lead(["One is here. Two is here. Three is. Four."]) == [
        "One is here.", "Two is here.", "Three is."]
    assert lead(["A one. A two.", "B one. B two."], words=5) == ["A one.", "B one.", "A two."]
    assert truncate(["a b c", "d e f"], 4) == ["a b c", "d"]


def test_real_items_report_ours_and_lead(embedder) -> None:
    if not DATA.exists():
        pytest.skip("summaries dataset not present")
    result = evaluate(DATA, limit=4, embedder=embedder)
    assert result["items"] == 4
    for system in ("ours", "lead"):
        assert set(result[system]) == {"rouge1", "rouge2", "rougeLsum", "rouge1_recall",
                                       "seconds"}
        assert 0 < result[system]["rouge1"] < 100
    assert set(result["subsets"]) <= {"cnndm", "xsum"}
    json.dumps(result)


def test_multi_article_items_with_several_references(tmp_path, embedder) -> None:
    story = {"id": "s1", "articles": [
        "The river flooded the town on Monday. Hundreds of homes were evacuated. "
        "The mayor declared an emergency.",
        "Floods hit the town after heavy rain on Monday. Rescue teams evacuated homes. "
        "Schools will stay closed."],
        "reference": ["The river flooded the town and homes were evacuated.",
                      "Heavy rain flooded the town; the mayor declared an emergency."]}
    path = tmp_path / "story.jsonl"
    path.write_text(json.dumps(story) + "\n", encoding="utf-8")
    result = evaluate(path, words=100, embedder=embedder)
    assert result["items"] == 1 and result["subsets"]["multi"]["items"] == 1
    assert result["ours"]["rouge1_recall"] > 0 and result["lead"]["rouge1_recall"] > 0
