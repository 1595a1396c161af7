"""Dates estimated from article text for the clustering benchmark (``dates_from_text``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from newsdesk.eval.clustering import Record, estimate_dates, evaluate, text_date

QUAKE = ("A magnitude 6.1 earthquake struck Ashgrove , killing 12 people , Governor Lina "
         "Petrov said . Rescuers searched the rubble of the Ashgrove school .")


class SameVector:
    """An encoder that finds every text alike, so only terms, entities and time decide."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32)


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for ident, cluster, text in rows:
            row = {"id": ident, "cluster": cluster, "title": "", "text": text}
            fh.write(json.dumps(row) + "\n")
    return path


def test_text_date_reads_a_tokenised_dateline() -> None:
    found = text_date("Lohan checks into Betty Ford May 03 , 2013 After skipping out on rehab .")
    assert found is not None and found.date().isoformat() == "2013-05-03"


def test_year_only_fill_ins_are_dropped_and_counted() -> None:
    records = [Record("a", "x", "", "The bridge , built in 2009 , was inspected ."),
               Record("b", "x", "", "Nothing here names a day at all ."),
               Record("c", "x", "", "Given .", datetime(2020, 5, 6, tzinfo=UTC))]
    found = estimate_dates(records)
    assert found.dates == {}
    assert (found.partial_dropped, found.already_dated) == (1, 1)


def test_text_dates_split_sister_events_and_report_both_runs(tmp_path: Path) -> None:
    rows = [("a1", "2013", f"March 12 , 2013 {QUAKE}"), ("b1", "2009", f"June 2 , 2009 {QUAKE}"),
            ("a2", "2013", f"March 13 , 2013 {QUAKE}"), ("b2", "2009", f"June 3 , 2009 {QUAKE}")]
    dataset = _write(tmp_path / "sisters.jsonl", rows)
    result = evaluate(dataset, encoder=SameVector(), dates_from_text=True)
    assert result["ours_without_dates"]["clusters"] == 1
    assert result["ours"]["bcubed_f1"] == 1.0
    dates = result["text_dates"]
    assert dates["estimated"] == 4 and dates["off_gold_median"] == 0
    assert dates["dates"]["b1"] == "2009-06-02"


def test_no_dates_found_leaves_the_run_time_blind(tmp_path: Path) -> None:
    rows = [("1", "a", "taylor swift attend gala london"), ("2", "a", "swift gala london")]
    dataset = _write(tmp_path / "snippets.jsonl", rows)
    result = evaluate(dataset, encoder=SameVector(), dates_from_text=True)
    assert result["text_dates"]["estimated"] == 0
    assert result["ours"] == result["ours_without_dates"]
    assert "ours_without_dates" not in evaluate(dataset, encoder=SameVector())
