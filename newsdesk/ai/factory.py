"""Wire the AI facade to a deployment: its embedder, its optional LLM and its store.

The web app and the CLI both need the same :class:`AIService` (same retrieval
for "ask everything", same LLM settings), so it is built here once rather
than in either. Rows are copied into plain :class:`Doc` objects while their
read session is open: the service caches results long after the session is
gone, and a detached ORM row must never be touched then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from newsdesk.ai.ask import Answer
from newsdesk.ai.brief import Brief
from newsdesk.ai.explain import Card
from newsdesk.ai.llm import LLMClient, LLMConfig
from newsdesk.ai.service import AIService
from newsdesk.ai.text import STOPWORDS
from newsdesk.ai.types import ArticleLike, Doc
from newsdesk.config import Settings
from newsdesk.store import search, stories, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import MAX_ID, ArticleRow

RETRIEVE_LIMIT = 20
MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def doc_of(row: ArticleRow) -> Doc:
    """A detached, plain copy of what the AI features read from a row."""
    return Doc(row.id, row.title, row.text, row.outlet, row.published_at,
               row.canonical_url or row.url)


def story_docs(rows: Sequence[ArticleRow]) -> list[Doc]:
    """A story's members without syndicated copies: a copy is not a second outlet agreeing."""
    originals = [r for r in rows if r.duplicate_of is None] or list(rows)
    return [doc_of(r) for r in originals]


def load_story_docs(db: Database, story_id: int) -> list[Doc]:
    with db.read() as session:
        return story_docs(stories.story_articles(session, story_id))


def question_terms(question: str) -> list[str]:
    """The words of a question worth searching for ("how", "has", "many" are not)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if len(word) > 2 and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def _merge(hit_lists: Iterable[list[search.Hit]], limit: int) -> list[ArticleRow]:
    """Articles ranked by how many question words they matched, then by best rank."""
    votes: dict[int, tuple[int, int, ArticleRow]] = {}
    for hits in hit_lists:
        for rank, hit in enumerate(hits):
            count, best, row = votes.get(hit.article.id, (0, rank, hit.article))
            votes[hit.article.id] = (count + 1, min(best, rank), row)
    ranked = sorted(votes.values(), key=lambda v: (-v[0], v[1], v[2].id))
    return [row for _, _, row in ranked[:limit]]


def retrieve_rows(db: Database, question: str, limit: int = RETRIEVE_LIMIT) -> list[Doc]:
    """Candidate articles for a question over the whole store.

    The store's full-text search wants *every* word, which a natural question
    ("How many troops has North Korea sent?") rarely matches, so it is tried
    with the question's content words first and then, when that finds too
    few, word by word with the results merged (an OR query, ranked by how many
    words an article has). Syndicated copies are dropped: they would only
    repeat a quote.
    """
    terms = question_terms(question)
    if not terms:
        return []
    with db.read() as session:
        rows = [h.article for h in search.search(session, " ".join(terms), limit=limit)]
        if len(rows) < limit and len(terms) > 1:
            per_term = [search.search(session, t, limit=limit) for t in terms]
            rows = _merge([[search.Hit(r, 0.0) for r in rows], *per_term], limit)
        return [doc_of(r) for r in rows if r.duplicate_of is None]


def build_llm(settings: Settings) -> LLMClient | None:
    """The configured OpenAI-compatible client, or None (offline mode)."""
    if not settings.llm_url:
        return None
    return LLMClient(LLMConfig(settings.llm_url, settings.llm_model, settings.llm_timeout,
                               settings.llm_max_tokens, 0.0, settings.llm_cooldown,
                               settings.llm_api_key))


def build_ai_service(settings: Settings, db: Database) -> AIService:
    """One service per process: the embedder, the LLM if configured, and store retrieval."""
    from newsdesk.enrich.embed import load_embedder

    def retrieve(question: str) -> list[ArticleLike]:
        return list(retrieve_rows(db, question))

    return AIService(load_embedder(settings), llm=build_llm(settings), retrieve=retrieve)


SCOPES = ("article", "story", "all")


class UnknownId(LookupError):
    """The article, story or tag asked about is not in the store."""


def article_doc(db: Database, article_id: int) -> Doc:
    with db.read() as session:
        row = session.get(ArticleRow, article_id) if 0 < article_id <= MAX_ID else None
        if row is None:
            raise UnknownId(f"No article with id {article_id}.")
        return doc_of(row)


def story_docs_or_raise(db: Database, story_id: int) -> list[Doc]:
    docs = load_story_docs(db, story_id) if 0 < story_id <= MAX_ID else []
    if not docs:
        raise UnknownId(f"No story with id {story_id}.")
    return docs


def answer(service: AIService, db: Database, question: str, scope: str = "all",
           ident: int | None = None) -> Answer:
    """Answer within one article, one story or the whole store, cached per scope.

    The cache key names exactly the articles searched (for "all", the ids
    retrieval found), so a store that grows never serves a stale answer.
    """
    if scope == "article" and ident is not None:
        doc = article_doc(db, ident)
        return service.ask(question, [doc], scope=("article", doc.id, hash(doc.text)))
    if scope == "story" and ident is not None:
        docs = story_docs_or_raise(db, ident)
        return service.ask(question, list(docs), scope=("story", ident))
    found = service.retrieve(question) if service.retrieve else []
    return service.ask(question, found, scope=("all", tuple(str(a.id) for a in found)))


def explain_tag(service: AIService, db: Database, slug: str, limit: int = 30) -> Card:
    """The card for a hashtag, built from its latest ``limit`` articles."""
    with db.read() as session:
        tag = tags.tag_by_slug(session, slug) if len(slug) <= 128 else None
        if tag is None:
            raise UnknownId(f"No tag {slug[:128]!r}.")
        name = tag.name or slug
        docs = [doc_of(r) for r in tags.articles_for_tag(session, tag.slug, limit=limit)]
    return service.explain(name, list(docs))


def brief_for(service: AIService, db: Database, story_id: int) -> Brief:
    docs = story_docs_or_raise(db, story_id)
    return service.brief(list(docs), story_id=story_id)


def brief_if_ready(service: AIService, db: Database, story_id: int) -> Brief | None:
    """The brief built last for this story (refreshed in the background), or None."""
    return service.brief_if_ready(story_id, lambda: list(story_docs_or_raise(db, story_id)))
