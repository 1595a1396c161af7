"""The JSON API's OpenAPI document at ``/api/openapi.json``: shapes, paging, errors, tags.

The handlers return plain dicts built by :mod:`newsdesk.store.serialize` (the
same objects ``export --jsonl`` writes), so their shapes are described here
by pydantic models and attached to the schema afterwards, rather than by
``response_model=``: a response model would re-validate and re-serialise
every answer, and could quietly drop or reformat a key that clients rely on.
``tests/test_openapi.py`` runs schemathesis against the app so these models
cannot drift from what the handlers really send.

FastAPI's default 422 schema (``HTTPValidationError``) is replaced by the
``{"error": {"code", "message", "details"}}`` envelope ``app._validation_error``
actually answers with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"


class _Strict(BaseModel):
    """Closed objects: a key the schema does not list is a schema violation."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Strict):
    loc: list[str] = Field(description="Where the bad value was: location, then name.")
    message: str


class ErrorBody(_Strict):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.",
                      examples=["not_found", "bad_request", "invalid_parameters"])
    message: str = Field(description="A sentence for people.")
    details: list[ErrorDetail] = Field(default_factory=list,
                                       description="One entry per invalid parameter (422).")


class Error(_Strict):
    """Every error under ``/api`` has this shape, whatever the status."""

    error: ErrorBody


class Tag(_Strict):
    slug: str = Field(description="Canonical form used in links, e.g. `NorthKorea`.")
    name: str
    kind: str = Field(description="person, org, place or topic.")


class RelatedArticle(_Strict):
    id: int
    title: str
    outlet: str
    published_at: datetime | None


class DuplicateRef(_Strict):
    id: int
    outlet: str
    url: str


class ArticleSummary(_Strict):
    """An article as lists show it: everything but ``related`` (costly per item)."""

    id: int
    url: str
    canonical_url: str
    title: str
    outlet: str
    byline: str
    published_at: datetime | None = Field(description="UTC; null when the outlet gave none.")
    language: str
    text: str = Field(description="Plain text, one paragraph per line.")
    copyright: str
    image: str
    hashtags: list[Tag]
    story_id: int | None
    duplicates: list[DuplicateRef] = Field(description="The rest of the copy group.")
    duplicate_of: int | None = Field(description="The original when this is a copy.")


class Article(ArticleSummary):
    """One article with its related coverage (other outlets first)."""

    related: list[RelatedArticle]


class SearchHit(ArticleSummary):
    score: float = Field(description="Relevance; higher is better, comparable within a query.")


class Page(_Strict):
    total: int = Field(description="Items in the whole list.")
    limit: int
    offset: int


class ArticleList(Page):
    items: list[ArticleSummary]


class SearchResults(_Strict):
    query: str
    items: list[SearchHit]
    limit: int
    offset: int


class Outlet(_Strict):
    name: str
    articles: int


class OutletList(_Strict):
    items: list[Outlet]


class StorySummary(_Strict):
    id: int
    title: str
    first_seen_at: datetime | None
    updated_at: datetime | None
    article_count: int
    outlet_count: int
    first_outlet: str
    lead_article_id: int | None
    topic_id: int | None = Field(description=(
        "The topic (stories on one subject, e.g. successive events of one crisis) the "
        "story belongs to; null for stories clustered before topics were stored."))


class StoryArticle(_Strict):
    id: int
    title: str
    outlet: str
    published_at: datetime | None
    url: str
    duplicate_of: int | None


class StoryOutlet(_Strict):
    outlet: str
    articles: int
    first_published_at: datetime | None


class TimelineEntry(_Strict):
    at: datetime | None = Field(description="Publication time, else when it was ingested.")
    id: int
    outlet: str
    title: str


class Story(StorySummary):
    articles: list[StoryArticle] = Field(description="Oldest first.")
    outlets: list[StoryOutlet] = Field(description="In the order they first reported.")
    timeline: list[TimelineEntry]
    more_on_topic: list[StorySummary] = Field(
        description="Other stories of the same topic with more than one article, latest first.")


class StoryList(Page):
    items: list[StorySummary]


class TagArticles(Page):
    tag: Tag
    items: list[ArticleSummary]


MODELS: tuple[type[BaseModel], ...] = (
    Error, Article, ArticleList, SearchResults, OutletList, Story, StoryList, TagArticles)

# (path, method) -> (success model, documented error statuses, tag)
OPERATIONS: dict[tuple[str, str], tuple[type[BaseModel], tuple[int, ...], str]] = {
    ("/api/articles", "get"): (ArticleList, (400, 422), "articles"),
    ("/api/articles/{article_id}", "get"): (Article, (404, 422), "articles"),
    ("/api/search", "get"): (SearchResults, (400, 422), "search"),
    ("/api/outlets", "get"): (OutletList, (), "outlets"),
    ("/api/stories", "get"): (StoryList, (400, 422), "stories"),
    ("/api/stories/{story_id}", "get"): (Story, (404, 422), "stories"),
    ("/api/tags/{tag}", "get"): (TagArticles, (400, 404, 422), "tags"),
}

ERROR_TEXT = {
    400: ("Contradictory parameters (for instance both `offset` and `page`), or a body "
          "that is not JSON."),
    401: "Sign-in or an API token is required.",
    403: "Refused: a cross-site request or a missing CSRF token.",
    404: "No such item.",
    413: "The request body is too large.",
    422: "A parameter is missing or invalid; `details` says which.",
    503: "The feature is unavailable on this server.",
}

TAGS = [
    {"name": "articles", "description": "Stored articles, newest first."},
    {"name": "search", "description": "Full-text search (BM25 on SQLite, ts_rank on PostgreSQL)."},
    {"name": "outlets", "description": "Publishers and their article counts."},
    {"name": "stories", "description": "Events covered by several articles (full coverage)."},
    {"name": "tags", "description": "Hashtags: people, organisations, places and topics."},
    {"name": "ai", "description": "Offline AI features: summaries, key points, Q&A, briefs."},
]

DESCRIPTION = """The JSON API of a newsdesk server.

**Paging.** Lists take `limit` (1-100, default 20) and either `offset` or a
1-based `page`; both at once is a 400. Envelopes echo `limit` and the
resolved `offset`, and carry `total` where it is known.

**Errors.** Every error is `{"error": {"code", "message", "details"}}` with a
stable `code` (`bad_request`, `not_found`, `invalid_parameters`, ...).

**Authentication** is optional for reading: see the `bearerAuth` scheme
where the server has accounts.

**Dates** are RFC 3339 in UTC (`2025-06-22T11:36:00Z`), or null when unknown.
"""


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_TEXT.get(status, "Error."),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}


def _document_operation(op: dict[str, Any], model: type[BaseModel] | None,
                        errors: tuple[int, ...], tag: str | None) -> None:
    """Success shape, error envelopes and tag of one operation."""
    responses: dict[str, Any] = op.setdefault("responses", {})
    if model is not None:
        ok = responses.setdefault("200", {"description": "Successful Response"})
        ok["content"] = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}
    for status in errors:
        responses[str(status)] = _error_response(status)
    if "422" in responses:  # FastAPI's default body is not what we send
        responses["422"] = _error_response(422)
    if tag is not None:
        op["tags"] = [tag]


def _known(path: str, method: str) -> tuple[type[BaseModel] | None, tuple[int, ...], str | None]:
    """What OPERATIONS says about an operation; AI routes may also answer 404 and 503.

    ``POST /api/ask`` is 404 for an article or story id that does not exist and
    400 for a body that is not JSON at all (422 is for JSON of the wrong shape).
    """
    if (path, method) in OPERATIONS:
        return OPERATIONS[(path, method)]
    if path.startswith("/api/") and method == "get":
        return None, (404, 422, 503), None
    if path.startswith("/api/") and method == "post":
        return None, (400, 404, 422, 503), None
    return None, (), None


BEARER = {
    "type": "http", "scheme": "bearer",
    "description": ("An API token issued on the /account page. Optional: the read endpoints "
                    "answer anonymous callers alike; a token identifies the caller and lets "
                    "a client POST without the session's CSRF token."),
}
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]


def document(schema: dict[str, Any], *, tokens: bool = False) -> dict[str, Any]:
    """Attach models, error responses and tags to FastAPI's generated schema.

    ``tokens``: accounts are installed, so the optional bearer scheme is real
    and documented; without them it would describe behaviour the server lacks.
    """
    # The document describes the JSON API only: the reader's HTML pages and form posts are
    # for browsers (they answer HTML and redirects), and the Reader/Fever APIs follow their
    # own specifications.
    schema["paths"] = {path: item for path, item in schema.get("paths", {}).items()
                       if path.startswith("/api/")}
    _, defs = models_json_schema([(m, "serialization") for m in MODELS], ref_template=REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.get("$defs", {}))
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict):
                _document_operation(op, *_known(path, method))
                if tokens:
                    op["security"] = OPTIONAL_BEARER
    if tokens:
        schema["components"].setdefault("securitySchemes", {})["bearerAuth"] = BEARER
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"{REF.format(model=unused)}"' not in _refs(schema):
            components.pop(unused, None)
    return schema


def _refs(schema: dict[str, Any]) -> str:
    """The schema's text outside FastAPI's validation models, to see what is still used."""
    return json.dumps(schema.get("paths", {})) + json.dumps(
        {k: v for k, v in schema.get("components", {}).get("schemas", {}).items()
         if k not in ("HTTPValidationError", "ValidationError")})


def install(app: FastAPI) -> None:
    """Serve the documented schema, built once on first request (routes are all added by then)."""
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION,
                                 routes=app.routes, tags=TAGS)
            app.openapi_schema = document(schema, tokens=hasattr(app.state, "auth"))
        return app.openapi_schema

    builder: Callable[[], dict[str, Any]] = build
    app.openapi = builder  # type: ignore[method-assign]
