"""Reader routes: comments, follow/mute, save, "For you" and "Saved".

Every state change is a POST that passes ``csrf_protect`` and answers with a
303 back to the page it came from, so it all works as plain HTML forms with
no JavaScript. Ownership is checked in :mod:`newsdesk.accounts` (a reader
can only touch their own comments and state); the routes only translate the
refusals into HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from newsdesk.accounts import comments, follows, state
from newsdesk.store.tables import MAX_ID, CommentRow, UserRow
from newsdesk.web import coverage, views
from newsdesk.web.auth import csrf_protect, require_user, safe_next
from newsdesk.web.pages import Pager
from newsdesk.web.reader import card_states
from newsdesk.web.render import db_of, now_of, render, settings_of

router = APIRouter(default_response_class=HTMLResponse)

Reader = Annotated[UserRow, Depends(require_user)]
CSRF = [Depends(csrf_protect)]
Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=2048)]


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _check_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise HTTPException(404, "We couldn't find that.")
    return value


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn the service layer's refusals into HTTP errors with their reader-facing text."""
    try:
        yield
    except comments.CommentError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except follows.FollowError as exc:
        raise HTTPException(404, str(exc)) from None
    except state.StateError as exc:
        raise HTTPException(404, str(exc)) from None


# -- comments ----------------------------------------------------------------------------


def _post(request: Request, user: UserRow, target: comments.Target, body: str,
          parent_id: str) -> Response:
    parent = int(parent_id) if parent_id.isdigit() and len(parent_id) < 19 else None
    with _refusals(), db_of(request).write() as session:
        row = comments.add_comment(session, user, target, body, parent_id=parent,
                                   now=now_of(request))
        path = comments.comment_path(row)
    return _see_other(path)


@router.post("/articles/{article_id:int}/comments", dependencies=CSRF)
def post_article_comment(request: Request, article_id: int, user: Reader, body: Text = "",
                         parent_id: Short = "") -> Response:
    """A new comment (or a reply, with ``parent_id``) on an article."""
    target = comments.Target(article_id=_check_id(article_id))
    return _post(request, user, target, body, parent_id)


@router.post("/stories/{story_id:int}/comments", dependencies=CSRF)
def post_story_comment(request: Request, story_id: int, user: Reader, body: Text = "",
                       parent_id: Short = "") -> Response:
    target = comments.Target(story_id=_check_id(story_id))
    return _post(request, user, target, body, parent_id)


@router.get("/comments/{comment_id:int}/edit")
def edit_form(request: Request, comment_id: int, user: Reader) -> Response:
    """The edit form, pre-filled with what the reader wrote; only for the author."""
    with _refusals(), db_of(request).read() as session:
        row = comments.own_comment(session, user, _check_id(comment_id))
        context = {"comment_id": row.id, "body": row.body, "back": comments.comment_path(row)}
    return render(request, "comment_edit.html", context)


@router.post("/comments/{comment_id:int}/edit", dependencies=CSRF)
def edit_comment(request: Request, comment_id: int, user: Reader, body: Text = "") -> Response:
    with _refusals(), db_of(request).write() as session:
        row = comments.edit_comment(session, user, _check_id(comment_id), body,
                                    now=now_of(request))
        path = comments.comment_path(row)
    return _see_other(path)


@router.post("/comments/{comment_id:int}/delete", dependencies=CSRF)
def delete_comment(request: Request, comment_id: int, user: Reader) -> Response:
    with _refusals(), db_of(request).write() as session:
        row = comments.delete_comment(session, user, _check_id(comment_id))
        path = comments.comment_path(row)
    return _see_other(path)


@router.post("/comments/{comment_id:int}/report", dependencies=CSRF)
def report_comment(request: Request, comment_id: int, user: Reader,
                   reason: Short = "") -> Response:
    """Flag a comment; a second report by the same reader is accepted but not counted."""
    with _refusals(), db_of(request).write() as session:
        new = comments.report_comment(session, user, _check_id(comment_id), reason,
                                      now=now_of(request))
        row = session.get(CommentRow, comment_id)
        back = comments.comment_path(row) if row is not None else "/"
    message = ("Thank you. A moderator will look at this comment." if new
               else "You have already reported this comment; a moderator will look at it.")
    return render(request, "notice.html", {"title": "Comment reported", "message": message,
                                           "back": back})


# -- follow / mute / save ---------------------------------------------------------------


def _target_path(kind: str, target: str) -> str:
    if kind == "tag":
        return coverage.tag_path(target)
    if kind == "outlet":
        return views.outlet_path(target)
    return coverage.story_path(int(target)) if kind == "story" else "/"


@router.post("/follow", dependencies=CSRF)
def follow(request: Request, user: Reader, kind: Short = "", target: Short = "",
           mode: Short = "", next: Short = "") -> Response:
    """Follow (``mode=follow``), mute (``mode=mute``) or forget (``mode=``) one target."""
    with _refusals(), db_of(request).write() as session:
        canonical = follows.set_follow(session, user.id, kind, target, mode, now_of(request))
    return _see_other(safe_next(next, _target_path(kind, canonical)))


@router.post("/articles/{article_id:int}/save", dependencies=CSRF)
def save(request: Request, article_id: int, user: Reader, saved: Short = "1",
         next: Short = "") -> Response:
    """Save (``saved=1``) or unsave (``saved=0``) an article for later."""
    with _refusals(), db_of(request).write() as session:
        state.set_saved(session, user.id, _check_id(article_id), saved == "1", now_of(request))
    return _see_other(safe_next(next, f"/articles/{article_id}"))


# -- "For you" and "Saved" --------------------------------------------------------------


@dataclass(frozen=True)
class PickView:
    card: views.Card
    reasons: list[str]
    read: bool
    saved: bool


def _pick_views(session: Any, user: UserRow, picks: list[follows.Pick]) -> list[PickView]:
    cards = [views.card(p.article) for p in picks]
    flags = card_states(session, user, cards)
    return [PickView(c, [r.text for r in p.reasons[:2]],
                     flags.get(c.id, state.State()).read, flags.get(c.id, state.State()).saved)
            for c, p in zip(cards, picks, strict=True)]


@router.get("/for-you")
def for_you(request: Request, user: Reader, page: int = 1) -> Response:
    """Articles matching what the reader follows, ranked, each saying why it is there."""
    size = settings_of(request).page_size
    page = min(max(page, 1), 10_000)
    with db_of(request).read() as session:
        picks = follows.for_you(session, user.id, now_of(request))
        shown = picks[(page - 1) * size: page * size]
        items = _pick_views(session, user, shown)
        all_flags = state.states(session, user.id, [p.article.id for p in picks])
        unread = sum(1 for p in picks if not all_flags.get(p.article.id, state.State()).read)
        followed = follows.followed_list(session, user.id)
    pager = Pager(page=page, size=size, total=len(picks), has_next=page * size < len(picks))
    return render(request, "for_you.html", {"items": items, "unread": unread,
                                            "total": len(picks), "followed": followed,
                                            "pager": pager, "base_path": "/for-you"})


@router.get("/saved")
def saved_page(request: Request, user: Reader) -> Response:
    """The reader's own saved articles; nobody else's are reachable from here."""
    with db_of(request).read() as session:
        rows = state.saved_articles(session, user.id, limit=200)
        cards = [views.card(r) for r in rows]
        flags = card_states(session, user, cards)
    items = [PickView(c, [], flags.get(c.id, state.State()).read, True) for c in cards]
    return render(request, "saved.html", {"items": items})
