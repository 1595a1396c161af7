"""Administrator pages: sources, users and the comment moderation queue.

Every route depends on ``require_admin`` (403 for a reader, a login redirect
for a visitor) and every change is a CSRF-checked POST answered with a 303,
so the pages work without JavaScript and a forged form cannot act for an
admin. New source URLs pass ``check_url``, the same SSRF guard the fetcher
applies, so an intranet address is refused when it is typed, not later.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response

from newsdesk.accounts import comments
from newsdesk.ingest.fetch import FetchError, check_url
from newsdesk.store import sources
from newsdesk.store.tables import MAX_ID, CommentRow, UserRow
from newsdesk.web.auth import csrf_protect, require_admin
from newsdesk.web.reader import mark_queue_safe
from newsdesk.web.render import db_of, render, settings_of

router = APIRouter(prefix="/admin", default_response_class=HTMLResponse)

Admin = Annotated[UserRow, Depends(require_admin)]
CSRF = [Depends(csrf_protect)]
SOURCE_KINDS = ("feed", "sitemap", "page")


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _check_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise HTTPException(404, "We couldn't find that.")
    return value


# -- moderation ----------------------------------------------------------------------------


@router.get("/moderation")
def moderation(request: Request, _admin: Admin) -> Response:
    """Reported comments first, then hidden ones, with hide/restore/ban actions."""
    with db_of(request).read() as session:
        items = comments.moderation_queue(session)
    return render(request, "admin_moderation.html", {"items": mark_queue_safe(items)})


def _moderate(request: Request, comment_id: int, status: str) -> Response:
    try:
        with db_of(request).write() as session:
            comments.set_status(session, _check_id(comment_id), status)
    except comments.CommentError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return _see_other("/admin/moderation")


@router.post("/comments/{comment_id:int}/hide", dependencies=CSRF)
def hide(request: Request, comment_id: int, _admin: Admin) -> Response:
    return _moderate(request, comment_id, comments.HIDDEN)


@router.post("/comments/{comment_id:int}/restore", dependencies=CSRF)
def restore(request: Request, comment_id: int, _admin: Admin) -> Response:
    """Make a comment visible again; also dismisses its open reports."""
    return _moderate(request, comment_id, comments.VISIBLE)


def _ban(request: Request, user_id: int, banned: bool, back: str) -> Response:
    try:
        with db_of(request).write() as session:
            comments.ban_user(session, _check_id(user_id), banned)
    except comments.CommentError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return _see_other(back if back in ("/admin/users", "/admin/moderation") else "/admin/users")


@router.post("/users/{user_id:int}/ban", dependencies=CSRF)
def ban(request: Request, user_id: int, _admin: Admin,
        back: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Ban an account: its sessions stop working and its comments are hidden."""
    return _ban(request, user_id, True, back)


@router.post("/users/{user_id:int}/unban", dependencies=CSRF)
def unban(request: Request, user_id: int, _admin: Admin,
          back: Annotated[str, Form(max_length=64)] = "") -> Response:
    return _ban(request, user_id, False, back)


# -- users --------------------------------------------------------------------------------


@router.get("/users")
def users(request: Request, admin: Admin) -> Response:
    with db_of(request).read() as session:
        counts = dict(session.execute(select(CommentRow.user_id, func.count(CommentRow.id))
                                      .group_by(CommentRow.user_id)).all())
        rows = [{"id": u.id, "username": u.username, "is_admin": u.is_admin,
                 "is_banned": u.is_banned, "created_at": u.created_at,
                 "comments": int(counts.get(u.id, 0)), "is_me": u.id == admin.id}
                for u in session.scalars(select(UserRow).order_by(UserRow.username))]
    return render(request, "admin_users.html", {"users": rows})


# -- sources ------------------------------------------------------------------------------


def _source_row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "title": row.title or row.url, "url": row.url, "kind": row.kind,
            "paused": row.paused, "error_count": row.error_count, "last_error": row.last_error,
            "next_check": row.next_check_at, "last_checked": row.last_checked_at}


def _sources_page(request: Request, error: str = "", value: str = "",
                  status: int = 200) -> Response:
    with db_of(request).read() as session:
        rows = [_source_row(r) for r in sources.list_sources(session)]
    return render(request, "admin_sources.html",
                  {"sources": rows, "error": error, "value": value, "kinds": SOURCE_KINDS},
                  status=status)


@router.get("/sources")
def sources_admin(request: Request, _admin: Admin) -> Response:
    """Every source with its last error and next fetch, plus add/pause/resume."""
    return _sources_page(request)


@router.post("/sources", dependencies=CSRF)
def add_source(request: Request, _admin: Admin,
               url: Annotated[str, Form(max_length=2048)] = "",
               kind: Annotated[str, Form(max_length=16)] = "feed") -> Response:
    """Subscribe to a URL after the SSRF check; a refused URL re-shows the form with why."""
    if kind not in SOURCE_KINDS:
        return _sources_page(request, "Choose feed, sitemap or page.", url, 400)
    try:
        checked = check_url(url.strip(), settings_of(request))
    except FetchError as exc:
        return _sources_page(request, f"That URL cannot be added: {exc}", url, 400)
    with db_of(request).write() as session:
        sources.add_source(session, checked, kind=kind)
    return _see_other("/admin/sources")


def _pause(request: Request, source_id: int, paused: bool) -> Response:
    with db_of(request).write() as session:
        row = sources.get_source(session, _check_id(source_id))
        if row is None:
            raise HTTPException(404, "We couldn't find that source.")
        row.paused = paused
    return _see_other("/admin/sources")


@router.post("/sources/{source_id:int}/pause", dependencies=CSRF)
def pause(request: Request, source_id: int, _admin: Admin) -> Response:
    return _pause(request, source_id, True)


@router.post("/sources/{source_id:int}/resume", dependencies=CSRF)
def resume(request: Request, source_id: int, _admin: Admin) -> Response:
    return _pause(request, source_id, False)
