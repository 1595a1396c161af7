"""Per-reader additions to the shared pages: comments, follow state, read marks, mutes.

``pages.py`` renders the same article, story, tag and front pages for
everyone; the hooks here add what depends on who is reading, so the
anonymous path stays exactly as it was. Follow state is read once per
request and cached on ``request.state``, which is why templates may ask
``follow_mode(kind, target)`` without costing a query per button.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.requests import Request

from newsdesk.accounts import comments, follows, state
from newsdesk.store.tables import ArticleRow, UserRow
from newsdesk.web import coverage, queries, views
from newsdesk.web.auth import current_user
from newsdesk.web.render import db_of, now_of


def prefs_of(request: Request) -> follows.Prefs | None:
    """The logged-in reader's follows and mutes (None when anonymous), once per request."""
    if hasattr(request.state, "reader_prefs"):
        cached: follows.Prefs | None = request.state.reader_prefs
        return cached
    user = current_user(request)
    prefs = None
    if user is not None:
        with db_of(request).read() as session:
            prefs = follows.preferences(session, user.id)
    request.state.reader_prefs = prefs
    return prefs


@dataclasses.dataclass(frozen=True)
class CommentBlock:
    """What the Comments section needs: the thread, its count and where forms post."""

    thread: list[comments.CommentView]
    count: int
    action: str  # POST target for a new comment
    here: str  # the page path, for "Log in to comment"


def comment_block(session: Session, target: comments.Target, here: str) -> CommentBlock:
    found = comments.thread(session, target)
    for view in found.comments:
        _mark_safe(view)
    return CommentBlock(thread=found.comments, count=found.count, action=f"{here}/comments",
                        here=here)


def _mark_safe(view: comments.CommentView) -> None:
    """Bodies come out of nh3 (allow-list sanitiser), so Jinja may emit them unescaped."""
    view.body_html = Markup(view.body_html)  # noqa: S704 - sanitised by markup.render
    for reply in view.replies:
        _mark_safe(reply)


def mark_queue_safe(items: list[comments.QueueItem]) -> list[comments.QueueItem]:
    """Queue bodies are sanitised the same way as thread bodies."""
    return [dataclasses.replace(i, body_html=Markup(i.body_html))  # noqa: S704 - sanitised
            for i in items]


def article_extras(request: Request, session: Session, row: ArticleRow) -> dict[str, Any]:
    """Comments and saved state for the article page."""
    user = current_user(request)
    saved = state.state_of(session, user.id, row.id).saved if user is not None else False
    return {"comments": comment_block(session, comments.Target(article_id=row.id),
                                      f"/articles/{row.id}"),
            "saved": saved}


def story_extras(request: Request, story_id: int) -> dict[str, Any]:
    with db_of(request).read() as session:
        block = comment_block(session, comments.Target(story_id=story_id),
                              f"/stories/{story_id}")
    return {"comments": block}


def mark_read(request: Request, article_id: int) -> None:
    """Opening an article marks it read for a logged-in reader (first visit only writes)."""
    user = current_user(request)
    if user is None:
        return
    db = db_of(request)
    with db.read() as session:  # a repeat visit must not queue for the single writer
        if state.state_of(session, user.id, article_id).read:
            return
    with db.write() as session:
        state.mark_read(session, user.id, article_id, now_of(request))


# -- the front page, minus what the reader muted -----------------------------------------


def latest_for(request: Request, session: Session, *, limit: int,
               offset: int) -> tuple[list[ArticleRow], int]:
    """The "Latest" list and its total; for a reader with mutes, muted items are left out."""
    prefs = prefs_of(request)
    if prefs is None or not prefs.mutes_anything:
        rows = queries.latest_originals(session, limit=limit, offset=offset)
        return rows, queries.count_originals(session)
    return follows.latest_unmuted(session, prefs, limit=limit, offset=offset)


def _story_ids_of(card: coverage.StoryCard) -> list[int]:
    return [card.lead.id, *(o.id for o in card.others)]


def filter_top(request: Request, session: Session,
               cards: list[coverage.StoryCard]) -> list[coverage.StoryCard]:
    """Drop muted stories, and muted articles inside the remaining story cards."""
    prefs = prefs_of(request)
    if prefs is None or not prefs.mutes_anything:
        return cards
    muted_stories = prefs.story_ids("mute")
    ids = [i for c in cards for i in _story_ids_of(c)]
    muted = follows.muted_ids(session, prefs, ids)
    kept = []
    for card in cards:
        shown = [c for c in (card.lead, *card.others) if c.id not in muted]
        if card.id in muted_stories or not shown:
            continue
        kept.append(dataclasses.replace(card, lead=shown[0], others=shown[1:]))
    return kept


def filter_trending(request: Request, items: list[queries.TagCount]) -> list[queries.TagCount]:
    prefs = prefs_of(request)
    if prefs is None or not prefs.mute["tag"]:
        return items
    return [t for t in items if t.slug not in prefs.mute["tag"]]


# -- template globals --------------------------------------------------------------------


def install_globals(templates: Jinja2Templates) -> None:
    """``follow_mode(kind, target)`` for the follow/mute buttons on any page."""

    @jinja2.pass_context
    def follow_mode(context: Any, kind: str, target: object) -> str:
        request = context.get("request")
        if not isinstance(request, Request):
            return ""
        prefs = prefs_of(request)
        return prefs.mode_of(kind, str(target)) if prefs is not None else ""

    templates.env.globals["follow_mode"] = follow_mode


def card_states(session: Session, user: UserRow,
                cards: list[views.Card]) -> dict[int, state.State]:
    return state.states(session, user.id, [c.id for c in cards])
