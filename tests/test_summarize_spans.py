"""Trimmed summary spans: what may be cut, what must stay, and that the result stays faithful."""

from __future__ import annotations

import numpy as np

from newsdesk.ai.faithful import problem, problems
from newsdesk.ai.sentences import clause_spans, core_span, split_text
from newsdesk.ai.summarize import Summary, Words, best_spans, summarize, word_chances
from newsdesk.ai.types import Cited, Doc


def _pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in clause_spans(text)]


def test_core_span_drops_wire_tags_share_bars_and_glued_sentences() -> None:
    cnn = "New Delhi, India (CNN)As the earth shook in Nepal, tremors were felt in India too."
    start, end = core_span(cnn)
    assert cnn[start:end] == "As the earth shook in Nepal, tremors were felt in India too."
    bar = ("Share this withEmailFacebookTwitterWhatsAppLinkedinCopy this linkThe council "
           "will close the library in May.Campaigners said they would appeal.")
    start, end = core_span(bar)
    assert bar[start:end] == "The council will close the library in May."
    plain = "The council will close the library in May, officials said."
    assert core_span(plain) == (0, len(plain))


def test_clause_spans_offer_the_lead_without_its_trailing_clauses() -> None:
    text = ("Jamie Silvonek was charged as an adult with homicide and criminal conspiracy "
            "over her mother's death, according to court documents.")
    pieces = _pieces(text)
    assert pieces[0] == text  # the whole sentence is always a candidate
    assert ("Jamie Silvonek was charged as an adult with homicide and criminal conspiracy "
            "over her mother's death") in pieces
    caption = ("Fighter ace: Douglas Bader's story is to be told in a film dubbed ‘The First "
               "Great Escape’ The story of how Douglas Bader recovered from losing both legs "
               "is remarkable enough.")
    assert ("The story of how Douglas Bader recovered from losing both legs is remarkable "
            "enough.") in _pieces(caption)


def test_clause_spans_never_cut_away_the_verb_or_split_a_quote() -> None:
    relative = ("Wright, who had seven seasons at Arsenal and broke every scoring record in "
                "the book, will hand over the trophy before travelling back into London.")
    assert all(not p.endswith("in the book") for p in _pieces(relative))
    fronted = ("Of all the people to be wary of getting caught on camera doing something "
               "silly, you would think a sports reporter would be near the top of the list.")
    assert all(", you would" in p for p in _pieces(fronted))
    quoted = ('He said "we will win this, whatever it takes, and then we will rest" before '
              "leaving the ground with his assistant, who declined to comment.")
    assert all(p.count('"') % 2 == 0 for p in _pieces(quoted))
    listed = ("The huge rise will be due to a baby boom among Pakistani, Bangladeshi, and "
              "African immigrants who usually come to this country in their young years.")
    assert _pieces(listed) == [listed]  # never half a list
    participle = ("Reporting its results for the three months to 31 December 2004, the "
                  "airline made a pre-tax profit of 75 million pounds, below forecasts.")
    assert all("the airline made" in p for p in _pieces(participle))  # never the opener alone
    tails = ("More than half of the people questioned in the survey would go to a concert "
             "again, if prices fall, as the promoters expect.")
    assert ("More than half of the people questioned in the survey would go to a concert "
            "again") in _pieces(tails)


def test_a_span_citation_is_faithful_and_keeps_its_anchor() -> None:
    text = "Short first.\nThe council will close the library in May, officials said on Tuesday."
    doc = Doc(5, "", text)
    sentence = split_text(text, 5)[1]
    cited = sentence.cite(doc, (0, sentence.text.index(",")))
    assert cited.text == "The council will close the library in May"
    assert cited.anchor == "p2s1" and problem(cited, doc) == ""


def _words(chances: list[list[float]], ids: list[list[int]]) -> Words:
    starts = [np.arange(len(c)) * 10 for c in chances]  # word k starts at character 10k
    return Words([np.array(i) for i in ids], starts, [np.array(c) for c in chances])


def test_best_spans_drops_a_tail_of_unlikely_words_and_keeps_a_likely_one() -> None:
    # Sentence 0: four likely words then four one-off words; the span search
    # may end it after word 4 (character 40) or keep it whole.
    spans = {0: [(0, 80), (0, 40)], 1: [(0, 80), (0, 40)]}
    words = _words([[0.9] * 4 + [0.05] * 4, [0.9] * 8], [list(range(8)), list(range(8, 16))])
    picks = dict(best_spans([0, 1], spans, words, n=2, target_words=10.0))
    assert picks == {0: (0, 40), 1: (0, 80)}


def test_best_spans_counts_a_repeated_word_once() -> None:
    # Sentences 0 and 1 say the same words; sentence 2 adds new ones.
    spans = {i: [(0, 40)] for i in range(3)}
    words = _words([[0.8] * 4, [0.8] * 4, [0.6] * 4], [[0, 1, 2, 3], [0, 1, 2, 3], [4, 5, 6, 7]])
    chosen = [i for i, _ in best_spans([0, 1, 2], spans, words, n=2, target_words=10.0)]
    assert 2 in chosen


def test_word_chances_favour_repeated_words_and_count_the_title() -> None:
    sents = split_text("Acme will shut its Leeds plant. The Leeds plant opened in 1990. "
                       "Staff heard the news at lunchtime.")
    plain, titled = word_chances(sents), word_chances(sents, "Staff told of closure")
    leeds, acme = plain.chances[0][4], plain.chances[0][0]  # "Leeds" repeats, "Acme" does not
    assert leeds > acme
    assert titled.chances[2][0] > plain.chances[2][0]  # "Staff" is in the title


def test_summary_text_marks_a_trimmed_span(embedder) -> None:
    summary = Summary([Cited("The council will close the library in May", 1, "p1s1"),
                       Cited("Campaigners will appeal.", 1, "p2s1")])
    assert summary.text == "The council will close the library in May… Campaigners will appeal."
    opened = Summary([Cited("a total of 965,000 tonnes of food aid is needed.", 1, "p1s1")])
    assert opened.text == "A total of 965,000 tonnes of food aid is needed."  # cited verbatim
    assert opened.sentences[0].text.startswith("a total")
    doc = Doc(9, "Library to close", "(CNN)The council will close the library in May, the "
              "town's mayor told reporters on a wet Tuesday afternoon.\nCampaigners will appeal "
              "the decision at the high court.\nThe library opened in 1901 and has 4,000 members.")
    result = summarize(doc, embedder)
    assert problems(result.sentences, [doc]) == []
    assert all(not c.text.startswith("(CNN)") for c in result.sentences)
