"""Online, incremental, time-aware story clustering.

Every article is decided once, when it arrives: it joins the most similar live
story or opens a new one. Nothing is ever re-clustered globally, so ingest cost
stays flat however large the archive grows, and a story id, once shown to a
reader, stays stable.

The similarity of an article to a story blends four signals, because each alone
fails somewhere:

* cosine of the article's embedding to the story **centroid** (topic; robust to
  rewording, blind to which earthquake it is),
* cosine to the story's **nearest member** (lets a story drift as it develops,
  and lets one copy of a wire text pull in the next),
* overlap of **key terms** (TF-IDF with online IDF),
* overlap of **entities** (names, places, numbers) -- what tells two same-kind
  events apart when there is no date, as in ECB+.

Time then discounts the blend: within ``grace_hours`` of a story's span there
is no penalty; beyond it the score decays with ``decay_days``, so two
earthquakes a year apart never meet however alike the texts are.

Above stories sits a second, coarser level: **topics** ("the MH370 search",
"the Premier League"), the unit a reader follows for weeks, where a story is
one event within it. A story is put into a topic once, when it opens, by its
first article's similarity to the topic: embedding cosine to the topic's mean
blended with key-term cosine to its profile (the terms keep two subjects
apart that MiniLM places close together); later articles of the story move the
topic's mean and profile with them. Topics are as online as stories
(one decision per new story, nothing re-clustered) and cannot split a story,
so the two levels always nest.

A story serialises to the ``stories`` table: its centroid as float32 bytes and
its term/entity profile (and topic key) as JSON, so the product resumes after
a restart; topics are rebuilt from the stories that name them.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from newsdesk.enrich import features as ft
from newsdesk.enrich.embed import article_text

StoryKey = int


class Encoder(Protocol):
    """What the clusterer needs of an embedder (``newsdesk.enrich.embed.Embedder``)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ClusterConfig:
    """The one configuration the product and the evaluation share.

    Weights are renormalised over the signals an article actually has (a
    lower-cased snippet has no entities; an article without a vector has no
    embedding), so one threshold serves long articles and short snippets alike.
    """

    threshold: float = 0.42
    w_centroid: float = 0.3
    w_member: float = 0.1
    w_terms: float = 0.2
    w_entities: float = 0.4
    grace_hours: float = 36.0
    decay_days: float = 3.0
    candidates: int = 24
    max_members: int = 32
    profile_terms: int = 300
    article_terms: int = 60
    window_days: float = 7.0
    topic_threshold: float = 0.3
    w_topic_terms: float = 0.4
    topic_grace_days: float = 14.0
    topic_decay_days: float = 14.0


@dataclass
class ArticleInput:
    """One article as the clusterer sees it."""

    key: int | str
    title: str
    text: str
    published_at: datetime | None = None
    outlet: str = ""
    embedding: np.ndarray | None = None


@dataclass
class Story:
    """A story's running state: enough to score new articles and to persist."""

    key: StoryKey
    title: str = ""
    lead: int | str | None = None
    first_outlet: str = ""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    size: int = 0
    outlets: Counter[str] = field(default_factory=Counter)
    centroid_sum: np.ndarray | None = None
    members: list[np.ndarray] = field(default_factory=list)
    terms: dict[str, float] = field(default_factory=dict)
    ents: dict[str, float] = field(default_factory=dict)
    row_id: int | None = None
    topic: int | None = None
    _cache: tuple[int, int, ft.SparseVec, ft.SparseVec] | None = field(default=None, repr=False)

    @property
    def centroid(self) -> np.ndarray | None:
        """The mean member embedding, L2-normalised (the story's "topic direction")."""
        if self.centroid_sum is None:
            return None
        norm = float(np.linalg.norm(self.centroid_sum))
        return self.centroid_sum / norm if norm > 0 else self.centroid_sum

    def terms_json(self) -> str:
        """The profile and counters that are not columns of ``stories``, as JSON."""
        return json.dumps({
            "v": 1,
            "terms": _rounded(self.terms),
            "ents": _rounded(self.ents),
            "outlets": dict(self.outlets),
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "lead": self.lead,
            "topic": self.topic,
        }, ensure_ascii=False, sort_keys=True)

    def centroid_bytes(self) -> bytes | None:
        """The mean embedding as float32 bytes; with ``size`` it restores the running sum."""
        if self.centroid_sum is None or self.size == 0:
            return None
        return (self.centroid_sum / self.size).astype(np.float32).tobytes()

    @classmethod
    def restore(cls, key: StoryKey, *, title: str, size: int, first_seen: datetime | None,
                first_outlet: str, centroid: bytes | None, terms: str,
                members: Sequence[np.ndarray] = (), row_id: int | None = None) -> Story:
        """Rebuild a story from its ``stories`` row (and, optionally, member vectors)."""
        data = json.loads(terms) if terms else {}
        last = data.get("last_seen")
        story = cls(key=key, title=title, lead=data.get("lead"), first_outlet=first_outlet,
                    first_seen=first_seen, size=size, row_id=row_id,
                    last_seen=datetime.fromisoformat(last) if last else first_seen,
                    outlets=Counter(data.get("outlets", {})),
                    terms=dict(data.get("terms", {})), ents=dict(data.get("ents", {})),
                    members=[np.asarray(m, dtype=np.float32) for m in members],
                    topic=data.get("topic"))
        if centroid:
            mean = np.frombuffer(centroid, dtype=np.float32).astype(np.float64)
            story.centroid_sum = mean * max(size, 1)
        return story


@dataclass
class Topic:
    """A group of stories on one subject: the coarse level a reader follows for weeks.

    Held only in memory: its mean embedding and term profile are sums over its
    stories, so :meth:`StoryClusterer.load` rebuilds it from the stories that
    name it and nothing about topics has to be stored beyond that key.
    """

    key: int
    vector_sum: np.ndarray | None = None
    terms: dict[str, float] = field(default_factory=dict)
    size: int = 0
    stories: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    _cache: tuple[int, int, ft.SparseVec] | None = field(default=None, repr=False)

    @property
    def centroid(self) -> np.ndarray | None:
        """The mean embedding of every article in the topic, L2-normalised."""
        if self.vector_sum is None:
            return None
        norm = float(np.linalg.norm(self.vector_sum))
        return self.vector_sum / norm if norm > 0 else self.vector_sum

    def fold(self, vector: np.ndarray | None, terms: ft.SparseVec, size: int,
             first: datetime | None, last: datetime | None, cap: int) -> None:
        """Add an article (or, on load, a whole story: ``vector`` is then its sum)."""
        self.size += size
        if vector is not None:
            vec = vector.astype(np.float64)
            self.vector_sum = vec if self.vector_sum is None else self.vector_sum + vec
        ft.add_into(self.terms, terms, cap)
        for when in (first, last):
            if when is not None:
                self.first_seen = when if self.first_seen is None else min(self.first_seen, when)
                self.last_seen = when if self.last_seen is None else max(self.last_seen, when)


def _rounded(vec: dict[str, float]) -> dict[str, float]:
    return {t: round(w, 4) for t, w in vec.items()}


@dataclass(frozen=True)
class Assignment:
    """Where an article went, and why (the score of the story it joined, if any)."""

    story: Story
    created: bool
    score: float


@dataclass
class _Prepared:
    """An article's features in the form scoring needs."""

    item: ArticleInput
    when: datetime | None
    vector: np.ndarray | None
    term_tf: ft.SparseVec
    ent_tf: ft.SparseVec
    term_vec: ft.SparseVec
    ent_vec: ft.SparseVec


class StoryClusterer:
    """Single-pass clusterer holding the live stories in memory.

    Use :meth:`add` for each new article in arrival order. :meth:`load` puts
    persisted stories back (see ``newsdesk.store.stories``); :meth:`observe`
    warms document frequencies from already-clustered text after a restart.
    """

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self.stories: dict[StoryKey, Story] = {}
        self.topics: dict[int, Topic] = {}
        self.term_df = ft.DocFreq()
        self.ent_df = ft.DocFreq()
        self._keys: list[StoryKey] = []
        self._index: dict[StoryKey, int] = {}
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._next_key = 1
        self._next_topic = 1

    # -- state -------------------------------------------------------------

    def load(self, stories: Sequence[Story]) -> None:
        """Adopt persisted stories as live candidates."""
        for story in stories:
            self.stories[story.key] = story
            self._next_key = max(self._next_key, story.key + 1)
            self._sync_row(story)
            self._load_topic(story)

    def _load_topic(self, story: Story) -> None:
        """Fold a restored story into its topic; a story saved before topics existed
        (no key) becomes a topic of its own rather than being guessed into one."""
        if story.topic is None:
            story.topic = self._new_topic().key
        topic = self.topics.get(story.topic)
        if topic is None:
            topic = self.topics[story.topic] = Topic(story.topic)
            self._next_topic = max(self._next_topic, story.topic + 1)
        topic.stories += 1
        topic.fold(story.centroid_sum, ft.normalised(story.terms), story.size,
                   story.first_seen, story.last_seen, self.config.profile_terms)

    def continue_topics_after(self, key: int) -> None:
        """New topics get keys above ``key`` (the largest ever stored), so a topic
        that left the window is never confused with a new one after a restart."""
        self._next_topic = max(self._next_topic, key + 1)

    def observe(self, title: str, text: str) -> None:
        """Count an article into the document frequencies without clustering it."""
        self.term_df.add(self._term_tf(title, text))
        self.ent_df.add(self._ent_tf(title, text))

    def forget_before(self, cutoff: datetime) -> list[Story]:
        """Drop stories last seen before ``cutoff``; they can no longer be joined."""
        old = [s for s in self.stories.values() if s.last_seen and s.last_seen < cutoff]
        for story in old:
            del self.stories[story.key]
        live = {s.topic for s in self.stories.values()}
        for key in [k for k in self.topics if k not in live]:
            del self.topics[key]
        if old:
            self._rebuild_matrix()
        return old

    # -- the one decision ----------------------------------------------------

    def add(self, item: ArticleInput) -> Assignment:
        """Put one article into the best-matching story, or open a new one."""
        prepared = self._prepare(item)
        best, score = self._best_story(prepared)
        if best is None or score < self.config.threshold:
            story = self._open(prepared)
            story.topic = self._topic_for(prepared).key
            self.topics[story.topic].stories += 1
            self._absorb(story, prepared)
            return Assignment(story, True, score)
        self._absorb(best, prepared)
        return Assignment(best, False, score)

    def score(self, item: ArticleInput, story: Story) -> float:
        """The time-discounted similarity of an article to one story (for tests, tools)."""
        return self._score(self._prepare(item, count=False), story)

    def _prepare(self, item: ArticleInput, count: bool = True) -> _Prepared:
        term_tf = self._term_tf(item.title, item.text)
        ent_tf = self._ent_tf(item.title, item.text)
        if count:
            self.term_df.add(term_tf)
            self.ent_df.add(ent_tf)
        vector = None
        if item.embedding is not None:
            vector = np.asarray(item.embedding, dtype=np.float32).ravel()
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else None
        when = item.published_at
        return _Prepared(item, when, vector, term_tf, ent_tf,
                         ft.weighted(term_tf, self.term_df), ft.weighted(ent_tf, self.ent_df))

    def _term_tf(self, title: str, text: str) -> ft.SparseVec:
        words = ft.tokens(title) * 2 + ft.tokens(text[:6000])
        return ft.tf_vector(words, self.config.article_terms)

    def _ent_tf(self, title: str, text: str) -> ft.SparseVec:
        return ft.tf_vector(ft.entities(ft.entity_text(title, text)), self.config.article_terms)

    # -- scoring ---------------------------------------------------------------

    def _best_story(self, art: _Prepared) -> tuple[Story | None, float]:
        best: Story | None = None
        best_score = -1.0
        for story in self._candidates(art):
            s = self._score(art, story)
            if s > best_score:
                best, best_score = story, s
        return best, best_score

    def _candidates(self, art: _Prepared) -> list[Story]:
        """The stories worth scoring: top centroids by embedding, else all of them."""
        k = self.config.candidates
        if art.vector is None or len(self._keys) <= k or self._matrix.shape[1] != art.vector.size:
            return list(self.stories.values())
        sims = self._matrix[: len(self._keys)] @ art.vector
        top = np.argpartition(-sims, k)[:k]
        return [self.stories[self._keys[i]] for i in top]

    def _score(self, art: _Prepared, story: Story) -> float:
        cfg = self.config
        parts: list[tuple[float, float]] = []
        centroid = story.centroid
        if art.vector is not None and centroid is not None and centroid.size == art.vector.size:
            parts.append((cfg.w_centroid, float(centroid @ art.vector)))
            if story.members:
                near = max(float(m @ art.vector) for m in story.members)
                parts.append((cfg.w_member, near))
        term_vec, ent_vec = self._profile(story)
        parts.append((cfg.w_terms, ft.cosine(art.term_vec, term_vec)))
        if art.ent_vec:
            parts.append((cfg.w_entities, ft.cosine(art.ent_vec, ent_vec)))
        total = sum(w for w, _ in parts)
        blend = sum(w * s for w, s in parts) / total if total else 0.0
        return blend * self._time_factor(art.when, story)

    def _idf_stamp(self) -> int:
        """Changes when the document count has grown by about 5 %: cached TF-IDF profiles
        are re-weighted then, not on every article."""
        return int(math.log1p(self.term_df.docs) * 20)

    def _profile(self, story: Story) -> tuple[ft.SparseVec, ft.SparseVec]:
        """The story's TF-IDF profiles under the current IDF, cached until it or the IDF moves."""
        stamp = self._idf_stamp()
        if story._cache is None or story._cache[:2] != (story.size, stamp):
            story._cache = (story.size, stamp, ft.weighted(story.terms, self.term_df),
                            ft.weighted(story.ents, self.ent_df))
        return story._cache[2], story._cache[3]

    def _time_factor(self, when: datetime | None, story: Story) -> float:
        """1 inside the story's span (plus grace), decaying exponentially beyond it."""
        return _decay(when, story.first_seen, story.last_seen,
                      self.config.grace_hours, self.config.decay_days)

    # -- the second level: topics ------------------------------------------------

    def _topic_for(self, art: _Prepared) -> Topic:
        """The topic a newly opened story belongs to: the nearest one above
        ``topic_threshold``, else a new topic."""
        best: Topic | None = None
        best_score = self.config.topic_threshold
        for topic in self._topic_candidates(art):
            s = self._topic_score(art, topic)
            if s >= best_score:
                best, best_score = topic, s
        return best or self._new_topic()

    def _topic_candidates(self, art: _Prepared) -> list[Topic]:
        """The topics worth the full score: the nearest ``candidates`` by time-discounted
        embedding cosine (every topic without a vector to compare), as for stories, so
        the cost of opening a story stays flat however many topics are live."""
        cfg = self.config
        topics = list(self.topics.values())
        vector = art.vector
        if vector is None or len(topics) <= cfg.candidates:
            return topics

        def nearness(topic: Topic) -> float:
            centroid = topic.centroid
            if centroid is None or centroid.size != vector.size:
                return math.inf
            return float(centroid @ vector) * self._topic_time_factor(art.when, topic)

        return heapq.nlargest(cfg.candidates, topics, key=nearness)

    def _topic_score(self, art: _Prepared, topic: Topic) -> float:
        """Embedding cosine to the topic mean blended with term cosine to its profile
        (term cosine alone without a vector), time-discounted."""
        cfg = self.config
        terms = ft.cosine(art.term_vec, self._topic_profile(topic))
        centroid = topic.centroid
        if art.vector is not None and centroid is not None and centroid.size == art.vector.size:
            w = cfg.w_topic_terms
            sim = (1.0 - w) * float(centroid @ art.vector) + w * terms
        else:
            sim = terms
        return sim * self._topic_time_factor(art.when, topic)

    def _topic_time_factor(self, when: datetime | None, topic: Topic) -> float:
        """Like a story's, with the topic's longer grace and decay."""
        cfg = self.config
        return _decay(when, topic.first_seen, topic.last_seen,
                      cfg.topic_grace_days * 24.0, cfg.topic_decay_days)

    def _topic_profile(self, topic: Topic) -> ft.SparseVec:
        """The topic's TF-IDF profile, cached like a story's: every new story is scored
        against every live topic, and re-weighting each profile each time cost more
        than the rest of the topic decision."""
        stamp = self._idf_stamp()
        if topic._cache is None or topic._cache[:2] != (topic.size, stamp):
            topic._cache = (topic.size, stamp, ft.weighted(topic.terms, self.term_df))
        return topic._cache[2]

    def _new_topic(self) -> Topic:
        topic = Topic(self._next_topic)
        self._next_topic += 1
        self.topics[topic.key] = topic
        return topic

    # -- updates ---------------------------------------------------------------

    def _open(self, art: _Prepared) -> Story:
        story = Story(key=self._next_key, title=art.item.title, lead=art.item.key,
                      first_outlet=art.item.outlet, first_seen=art.when, last_seen=art.when)
        self._next_key += 1
        self.stories[story.key] = story
        return story

    def _absorb(self, story: Story, art: _Prepared) -> None:
        """Fold one article into a story's running state."""
        cfg = self.config
        item = art.item
        story.size += 1
        if item.outlet:
            story.outlets[item.outlet] += 1
        _extend_span(story, item, art.when)
        if art.vector is not None:
            vec = art.vector.astype(np.float64)
            story.centroid_sum = vec if story.centroid_sum is None else story.centroid_sum + vec
            story.members.append(art.vector)
            del story.members[: -cfg.max_members]
        ft.add_into(story.terms, ft.normalised(art.term_tf), cfg.profile_terms)
        ft.add_into(story.ents, ft.normalised(art.ent_tf), cfg.profile_terms)
        self._sync_row(story)
        topic = self.topics.get(story.topic) if story.topic is not None else None
        if topic is not None:
            topic.fold(art.vector, ft.normalised(art.term_tf), 1, art.when, art.when,
                       cfg.profile_terms)

    def _sync_row(self, story: Story) -> None:
        """Keep the centroid matrix (for candidate retrieval) in step with the story."""
        centroid = story.centroid
        if centroid is None:
            return
        if self._matrix.shape[1] not in (0, centroid.size):
            return
        if story.key not in self._index:
            self._keys.append(story.key)
            self._index[story.key] = len(self._keys) - 1
            self._grow(centroid.size)
        self._matrix[self._index[story.key]] = centroid

    def _grow(self, dim: int) -> None:
        """Make room for one more centroid row, doubling capacity (amortised O(1))."""
        n = len(self._keys)
        if self._matrix.shape[0] >= n and self._matrix.shape[1] == dim:
            return
        grown = np.zeros((max(64, 2 * n), dim), dtype=np.float32)
        if self._matrix.size:
            grown[: self._matrix.shape[0]] = self._matrix
        self._matrix = grown

    def _rebuild_matrix(self) -> None:
        self._keys = []
        self._index.clear()
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        for story in self.stories.values():
            self._sync_row(story)


def _decay(when: datetime | None, first: datetime | None, last: datetime | None,
           grace_hours: float, decay_days: float) -> float:
    """1 inside ``[first, last]`` widened by ``grace_hours``, decaying exponentially beyond."""
    if when is None or first is None or last is None or first <= when <= last:
        return 1.0
    ref = last if when > last else first
    gap_h = abs((when - ref).total_seconds()) / 3600.0 - grace_hours
    if gap_h <= 0:
        return 1.0
    return math.exp(-gap_h / (24.0 * decay_days))


def _extend_span(story: Story, item: ArticleInput, when: datetime | None) -> None:
    if when is None:
        return
    if story.first_seen is None or when < story.first_seen:
        story.first_seen = when
        if story.size > 1:
            story.title, story.lead, story.first_outlet = item.title, item.key, item.outlet
    if story.last_seen is None or when > story.last_seen:
        story.last_seen = when


def embedding_text(title: str, text: str) -> str:
    """What to embed: the same text the enrich stage embeds, so the eval measures the product."""
    return article_text(title, text)
