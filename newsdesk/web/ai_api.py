"""JSON API of the AI features: the same results the pages show, as ``.as_dict()``.

Model trouble degrades inside :class:`~newsdesk.ai.service.AIService` (the
extractive result with a note), so the only errors here are the caller's:
404 for unknown ids, 422 for bad bodies. Should the embedder itself be
unusable, the answer is a 503 saying so, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field, field_validator, model_validator

from newsdesk.ai import factory
from newsdesk.ai.service import AIService
from newsdesk.web.ai import service_of
from newsdesk.web.render import db_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["ai"])
T = TypeVar("T")
Id = Annotated[int, Path(ge=1, le=factory.MAX_ID)]


class AskBody(BaseModel):
    """``POST /api/ask``: ``id`` names the article or story for those scopes."""

    question: str = Field(min_length=1, max_length=500)
    scope: Literal["article", "story", "all"] = "all"
    id: int | None = Field(default=None, ge=1, le=factory.MAX_ID)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if not cleaned:
            raise ValueError("the question is blank")
        return cleaned

    @model_validator(mode="after")
    def _id_for_scope(self) -> AskBody:
        if self.scope != "all" and self.id is None:
            raise ValueError(f"an id is required for scope {self.scope!r}")
        return self


def _call(request: Request, work: Callable[[AIService], T]) -> T:
    """Run ``work`` with the app's service; unknown ids are 404, a dead model 503."""
    try:
        service = service_of(request)
    except Exception as exc:
        log.exception("the AI service could not start")
        raise HTTPException(503, "The AI features are unavailable on this server.") from exc
    try:
        return work(service)
    except factory.UnknownId as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/articles/{article_id}/summary")
def article_summary(request: Request, article_id: Id) -> dict[str, Any]:
    """Three cited sentences (or an LLM text written from them)."""
    db = db_of(request)
    return _call(request, lambda s: s.summary(factory.article_doc(db, article_id)).as_dict())


@router.get("/articles/{article_id}/keypoints")
def article_keypoints(request: Request, article_id: Id) -> dict[str, Any]:
    """3-5 non-redundant cited bullets."""
    db = db_of(request)
    return _call(request, lambda s: s.key_points(factory.article_doc(db, article_id)).as_dict())


@router.post("/ask")
def ask(request: Request, body: AskBody) -> dict[str, Any]:
    """A quoted answer from one article, one story or everything, or "not found"."""
    db = db_of(request)
    result = _call(request, lambda s: factory.answer(s, db, body.question, body.scope, body.id))
    return dict(result.as_dict(), question=body.question, scope=body.scope, id=body.id)


@router.get("/explain/{tag}")
def explain(request: Request, tag: Annotated[str, Path(max_length=128)]) -> dict[str, Any]:
    """What the coverage says a hashtag is, from its latest 30 articles."""
    db = db_of(request)
    return _call(request, lambda s: factory.explain_tag(s, db, tag).as_dict())


@router.get("/stories/{story_id}/brief")
def story_brief(request: Request, story_id: Id) -> dict[str, Any]:
    """What happened, what each outlet adds, and the timeline."""
    db = db_of(request)
    return _call(request, lambda s: factory.brief_for(s, db, story_id).as_dict())
