"""The AI block's facade: one object the web layer, API and CLI call.

It owns the two things the pure functions should not: a small in-process
cache (summaries and key points per article, briefs per story *and its
article count*, so a story that gains an article is recomputed) and the
optional LLM, which only ever rewrites evidence the offline pipeline chose
and falls back to it, with a note, on any failure. Cache hits are a dict
lookup (microseconds); the lead may persist results later.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from newsdesk.ai import ask as ask_mod
from newsdesk.ai import llm as llm_mod
from newsdesk.ai.brief import Brief, story_brief
from newsdesk.ai.explain import Card, explain
from newsdesk.ai.sentences import SentenceCache
from newsdesk.ai.summarize import (
    DEFAULT,
    Encoded,
    Summary,
    encode_article,
    key_points,
    score,
    summarize,
)
from newsdesk.ai.types import ArticleLike, Cited, Embedder

log = logging.getLogger(__name__)

T = TypeVar("T")
Retrieve = Callable[[str], list[ArticleLike]]


@dataclass
class KeyPoints:
    points: list[Cited] = field(default_factory=list)
    mode: str = "extractive"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"points": [c.as_dict() for c in self.points], "mode": self.mode,
                "note": self.note}


class LRU:
    """A thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> Any:
        """The value if present (None otherwise), without building it."""
        with self._lock:
            return self._data.get(key)

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _article_key(article: ArticleLike) -> tuple[Hashable, ...]:
    """An article's identity plus a cheap fingerprint of its text (edits invalidate)."""
    return (article.id, hash(article.text))


class AIService:
    """Summaries, key points, answers, explanations and briefs, cached, LLM-optional."""

    def __init__(self, embedder: Embedder, llm: llm_mod.LLMClient | None = None,
                 retrieve: Retrieve | None = None, cache_size: int = 1024) -> None:
        self.embedder = embedder
        self.llm = llm
        self.retrieve = retrieve
        self.results = LRU(cache_size)
        # story id -> the Brief built last, shown while a newer one is built
        self.latest_briefs = LRU(cache_size)
        self._refreshing: set[Hashable] = set()
        self._refresh_lock = threading.Lock()
        self._refresh_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brief")
        self.encoded = LRU(256)
        self.sentences = SentenceCache(512)  # questions over a story re-read its articles

    def _encode(self, article: ArticleLike) -> Encoded:
        return self.encoded.get_or(_article_key(article),
                                   lambda: encode_article(article, self.embedder))

    def summary(self, article: ArticleLike) -> Summary:
        """Three cited sentences; written by the LLM from the top sentences when configured."""
        return self.results.get_or(("summary", *_article_key(article)),
                                   lambda: self._summary(article))

    def _summary(self, article: ArticleLike) -> Summary:
        enc = self._encode(article)
        offline = summarize(article, self.embedder, enc=enc)
        if self.llm is None:
            return offline
        evidence = _top_sentences(enc, article, 8)
        written = llm_mod.write(self.llm, "summary", evidence, self.embedder)
        if isinstance(written, str):
            return Summary(offline.sentences, note=_fallback_note(written))
        return Summary(written.citations, mode="llm", text=written.text)

    def key_points(self, article: ArticleLike) -> KeyPoints:
        """3–5 non-redundant cited bullets (always extractive)."""
        return self.results.get_or(
            ("keypoints", *_article_key(article)),
            lambda: KeyPoints(key_points(article, self.embedder, enc=self._encode(article))))

    def ask(self, question: str, articles: list[ArticleLike] | None = None,
            scope: Hashable = None) -> ask_mod.Answer:
        """Quote the coverage (``articles``, else ``retrieve(question)``) or say not found."""
        if articles is None:
            articles = self.retrieve(question) if self.retrieve else []
        if scope is None:
            return self._ask(question, articles)
        key = ("ask", " ".join(question.lower().split()), scope, len(articles))
        return self.results.get_or(key, lambda: self._ask(question, articles))

    def _ask(self, question: str, articles: list[ArticleLike]) -> ask_mod.Answer:
        ranking = ask_mod.ranked(question, articles, self.embedder, split=self.sentences)
        offline = ask_mod.answer_from(question, ranking)
        if self.llm is None or not offline.found:
            return offline  # nothing supports an answer: the LLM gets no chance to invent one
        evidence = ask_mod.evidence_from(ranking)  # the same ranking: embedded once
        written = llm_mod.write(self.llm, "answer", evidence, self.embedder, question)
        if isinstance(written, str):
            offline.note = _fallback_note(written)
            return offline
        return ask_mod.Answer(written.text, written.citations, True, mode="llm")

    def explain(self, term: str, articles: list[ArticleLike]) -> Card:
        key = ("explain", term.lower(), tuple(sorted(str(a.id) for a in articles)))
        return self.results.get_or(key, lambda: explain(term, articles, self.embedder))

    def brief(self, articles: list[ArticleLike], story_id: Hashable = None) -> Brief:
        """The story brief, cached per (story, article count)."""
        ident = story_id if story_id is not None else tuple(sorted(str(a.id) for a in articles))
        brief = self.results.get_or(("brief", ident, len(articles)),
                                    lambda: self._brief(articles))
        if story_id is not None:
            self.latest_briefs.put(story_id, brief)
        return brief

    def brief_if_ready(self, story_id: Hashable,
                       load: Callable[[], list[ArticleLike]]) -> Brief | None:
        """The newest brief built for this story, or None; never builds one in the request.

        A story page must not spend seconds embedding sentences while the story
        grows under it (every new article changes the brief's cache key). So the
        page shows the brief built last and a single background thread builds
        the current one; a story never briefed gets an on-demand link instead.
        """
        latest: Brief | None = self.latest_briefs.peek(story_id)
        if latest is not None:
            self._refresh_later(story_id, load)
        return latest

    def _refresh_later(self, story_id: Hashable, load: Callable[[], list[ArticleLike]]) -> None:
        with self._refresh_lock:
            if story_id in self._refreshing:
                return
            self._refreshing.add(story_id)
        self._refresh_pool.submit(self._refresh, story_id, load)

    def _refresh(self, story_id: Hashable, load: Callable[[], list[ArticleLike]]) -> None:
        try:
            articles = load()
            if articles:
                self.brief(articles, story_id=story_id)
        except Exception:  # a background refresh must never take the pool down
            log.exception("background brief of story %s failed", story_id)
        finally:
            with self._refresh_lock:
                self._refreshing.discard(story_id)

    def _brief(self, articles: list[ArticleLike]) -> Brief:
        offline = story_brief(articles, self.embedder)
        if self.llm is None or not offline.what_happened:
            return offline
        evidence = [f.sentence for f in offline.what_happened]
        evidence += [c for cs in offline.unique_by_outlet.values() for c in cs]
        written = llm_mod.write(self.llm, "brief", evidence, self.embedder)
        if isinstance(written, str):
            offline.note = _join(offline.note, _fallback_note(written))
            return offline
        offline.mode, offline.text = "llm", written.text
        return offline

    def clear(self) -> None:
        self.results.clear()
        self.encoded.clear()
        self.sentences.clear()


def _top_sentences(enc: Encoded, article: ArticleLike, k: int) -> list[Cited]:
    """The ``k`` best-scored sentences in article order: the LLM's evidence."""
    if not enc.sentences:
        return []
    top = np.argsort(-score(enc, DEFAULT))[:k]
    return [enc.sentences[i].cite(article) for i in sorted(int(i) for i in top)]


def _fallback_note(reason: str) -> str:
    return f"LLM not used ({reason}); showing the extractive result."


def _join(a: str, b: str) -> str:
    return f"{a} {b}".strip()
